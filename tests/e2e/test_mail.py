"""Notices by e-mail, against a real SMTP server (aiosmtpd, on a local port): a new task is mailed
to its people, a sealed request to its requester, each with its link, after the commit; nothing
when the transaction rolls back; a server that is down fails nothing, and the scheduler's sweep
sends the mail once it is back."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import runner
from config import Config, ConfigurationError
from processes import notice_mail, notices
from processes.db import unit_of_work
from processes.models import utcnow
from processes.notice_models import Notice
from processes.people import directory
from tests.conftest import approve, only_task, submit

MAIL_FROM = "sealflow@example.com"


class Inbox:
    """What the SMTP server received: each message, parsed, with its envelope."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app) -> Iterator[Inbox]:
    """A real SMTP server on a free local port, and the app set to mail through it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(SMTP_URL=f"smtp://127.0.0.1:{controller.port}", MAIL_FROM=MAIL_FROM)
    try:
        yield inbox
    finally:
        controller.stop()


def _email(app, name: str, address: str) -> None:
    result = app.test_cli_runner().invoke(args=["user", "add", name, "--email", address])
    assert result.exit_code == 0, result.output


def _user_id(app, name: str) -> int:
    with app.app_context(), unit_of_work(db.session, write=False):
        return directory.get_user(db.session, name).id


def _notices(app, **where: Any) -> list[Notice]:
    with app.app_context(), unit_of_work(db.session, write=False):
        return list(db.session.execute(select(Notice).filter_by(**where)
                                       .order_by(Notice.id)).scalars())


def test_a_new_task_is_mailed_to_its_people_with_its_link(app, org, smtp, pdf):
    _email(app, "bob", "bob@example.com")
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(org.bob)
    (mail,) = smtp.to("bob@example.com")
    assert mail["To"].addresses[0].addr_spec == "bob@example.com"
    assert mail["From"] == MAIL_FROM
    # Bob never logged in: his mail is in Chinese, the default.
    assert f"申请 #{req['id']}「部门负责人审批」等待您处理" in mail["Subject"]
    assert f"打开：http://localhost/tasks/{task['id']}" in mail.get_content()
    (notice,) = _notices(app, kind="task.assigned")
    assert notice.mailed_at is not None and notice.mail_to == "bob@example.com"
    assert [rcpt for rcpt, _ in smtp.messages] == [["bob@example.com"]]  # alice has no address


def test_a_sealed_request_is_mailed_to_its_requester(app, org, smtp, pdf, login):
    _email(app, "alice", "alice@example.com")
    login("alice")  # in English: her mail is written in English from then on
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
    (mail,) = smtp.to("alice@example.com")
    assert f"Request #{req['id']} is sealed" in mail["Subject"]
    assert f"Open: http://localhost/requests/{req['id']}" in mail.get_content()


def test_nothing_is_mailed_when_the_transaction_rolls_back(app, org, smtp):
    _email(app, "bob", "bob@example.com")
    bob_id = _user_id(app, "bob")
    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work(db.session):
            notices.notify(db.session, [bob_id], "test", "never told")
            raise RuntimeError("rolled back")
        db.session.remove()
    assert smtp.messages == [] and _notices(app, kind="test") == []
    with app.app_context(), unit_of_work(db.session):  # the same, committed: mailed
        notices.notify(db.session, [bob_id], "test", "told")
    assert [m["Subject"] for m in smtp.to("bob@example.com")] == ["told"]


def test_a_down_smtp_server_fails_nothing_and_the_sweep_sends_later(app, org, smtp, pdf):
    _email(app, "bob", "bob@example.com")
    working = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"  # nobody listens
    resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    assert only_task(org.bob)  # the task, and its in-app notice, are there
    (notice,) = _notices(app, kind="task.assigned")
    assert notice.mailed_at is None and notice.mail_tries == 1
    assert notice.mail_error and notice.mail_next_at > utcnow()
    assert org.bob.get("/api/v1/notices").get_json()["unread"] == 1

    app.config["SMTP_URL"] = working
    runner(app).sweep()
    assert smtp.messages == []  # not due yet
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(Notice).values(mail_next_at=utcnow() - timedelta(seconds=1)))
    runner(app).sweep()
    assert len(smtp.to("bob@example.com")) == 1
    (notice,) = _notices(app, kind="task.assigned")
    assert notice.mailed_at is not None and notice.mail_next_at is None
    runner(app).sweep()
    assert len(smtp.messages) == 1  # sent once


def test_a_send_that_keeps_failing_is_given_up_after_its_tries(app, org):
    _email(app, "bob", "bob@example.com")
    bob_id = _user_id(app, "bob")
    with app.app_context(), unit_of_work(db.session):
        notices.notify(db.session, [bob_id], "test", "hello")  # no SMTP URL: not sent
    (notice,) = _notices(app, kind="test")
    assert notice.mail_next_at is not None  # the sweep would send it, if mail were set up
    with app.app_context():
        for attempt in range(notice_mail.MAIL_TRIES):
            with unit_of_work(db.session):
                again = notice_mail.record_failure(db.session, notice.id, "refused")
            assert again is (attempt < notice_mail.MAIL_TRIES - 1)
        db.session.remove()
    (notice,) = _notices(app, kind="test")
    assert notice.mail_next_at is None and notice.mail_tries == notice_mail.MAIL_TRIES


@pytest.mark.parametrize(("url", "mail_from", "problem"), [
    ("http://mail.example.com", MAIL_FROM, "SEALFLOW_SMTP_URL must look like"),
    ("smtp://:25", MAIL_FROM, "SEALFLOW_SMTP_URL must look like"),
    ("smtp://mail.example.com:notaport", MAIL_FROM, "SEALFLOW_SMTP_URL must look like"),
    ("smtp://mail.example.com", "", "SEALFLOW_MAIL_FROM must be"),
])
def test_bad_mail_settings_are_refused_at_start(monkeypatch, tmp_path, url, mail_from, problem):
    for name, value in {"SMTP_URL": url, "MAIL_FROM": mail_from, "SECRET_KEY": "s",
                        "KEY_PASSPHRASE": "p", "AUDIT_KEY": "a" * 16,
                        "DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(f"SEALFLOW_{name}", value)
    with pytest.raises(ConfigurationError, match=problem):
        Config().validate()


def test_user_add_keeps_or_refuses_an_email_address(app, make_user):
    make_user("bob")
    _email(app, "bob", "bob@example.com")
    bad = app.test_cli_runner().invoke(args=["user", "add", "bob", "--email", "not an address"])
    assert bad.exit_code != 0 and "invalid e-mail address" in bad.output
    with app.app_context():
        assert directory.get_user(db.session, "bob").email == "bob@example.com"
