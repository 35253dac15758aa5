"""/audit: auditors and admins read the log in Chinese or English, filtered in the address
(no JavaScript needed), a page at a time, and download what they filtered as CSV or JSON; the
download is itself recorded. Everyone else is refused and sees no link to it."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from processes import audit
from processes.db import unit_of_work
from processes.models import AuditEvent, User

ZH = "zh-CN,zh;q=0.9"


@pytest.fixture
def log(app, make_user):
    """A few events by alice, one with a Chinese detail and one a spreadsheet would run."""
    alice, odd = make_user("alice"), make_user("=1+1")
    with app.app_context(), unit_of_work(db.session):
        a = db.session.get(User, alice.id)
        audit.record(db.session, "task.completed", actor=a, request_id=3, task="t1",
                     decision="approve", comment="同意盖章")
        audit.record(db.session, "document.downloaded", actor=a, request_id=3, seal_id=5,
                     kind="sealed", sha256="ab" * 32, filename="=cmd|' /C calc'!A0.pdf",
                     token=None)
        audit.record(db.session, "seal.policy_changed", actor=a, seal_id=5,
                     allowed=["contract_seal", "hr_seal"])
        audit.record(db.session, "tsa.timestamp_granted", serial="01")
        audit.record(db.session, "user.login", actor=db.session.get(User, odd.id), request_id=3)


def test_an_auditor_reads_each_event_in_words_with_its_code(log, login):
    page = login("audrey")
    with_role(page, "audrey", "auditor")
    resp = page.get("/audit")
    assert resp.status_code == 200
    text = resp.text
    assert "Audit log" in text and 'href="/audit"' in text  # the page and its link
    for words in ("Task completed", "File downloaded", "Usage policy changed",
                  "Timestamp authority", "The system"):
        assert words in text, words
    for code in ("task.completed", "document.downloaded", "seal.policy_changed",
                 "tsa.timestamp_granted"):
        assert f'<code class="audit-code">{code}</code>' in text
    assert 'href="/requests/3"' in text and 'href="/seals/5"' in text
    assert "同意盖章" in text and "contract_seal, hr_seal" in text
    # Newest first.
    assert text.index("tsa.timestamp_granted") < text.index("task.completed</code>")

    chinese = login("audrey", language=ZH).get("/audit").text
    assert "审计日志" in chinese and "文件已下载" in chinese and "document.downloaded" in chinese


def with_role(client, name: str, role: str) -> None:
    from processes.models import Role, UserRole
    app = client.application
    with app.app_context(), unit_of_work(db.session):
        user = db.session.execute(select(User).where(User.name == name)).scalar_one()
        if role not in user.role_names:
            user.roles.append(UserRole(role=Role(role)))


@pytest.fixture
def auditor(log, login):
    client = login("audrey")
    with_role(client, "audrey", "auditor")
    return client


def listed(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return re.findall(r'<code class="audit-code">([^<]+)</code>', resp.text)


def test_the_filters_live_in_the_address_and_the_form_keeps_them(auditor):
    assert listed(auditor.get("/audit?action=seal.")) == ["seal.policy_changed"]
    assert listed(auditor.get("/audit?request=3")) == [
        "user.login", "document.downloaded", "task.completed"]
    assert listed(auditor.get("/audit?seal=5&actor=alice")) == [
        "seal.policy_changed", "document.downloaded"]
    resp = auditor.get("/audit?actor=alice&action=task.&from=2020-01-01")
    assert listed(resp) == ["task.completed"]
    assert 'name="actor" type="text" value="alice"' in resp.text
    assert '<option value="task." selected>' in resp.text
    assert 'name="from" type="date" value="2020-01-01"' in resp.text
    # The downloads carry the same filter.
    assert 'href="/audit/export?format=csv&amp;from=2020-01-01&amp;actor=alice&amp;action=task."' \
        in resp.text
    assert listed(auditor.get("/audit?actor=nobody")) == []


def test_a_bad_filter_is_shown_next_to_its_field(auditor):
    resp = auditor.get("/audit?to=31/12/2026&request=x")
    assert resp.status_code == 400
    assert 'id="aerr-to"' in resp.text and 'id="aerr-request"' in resp.text
    assert 'value="31/12/2026"' in resp.text  # the value typed, shown again


def test_pages_go_older_and_newer_by_sequence_number(app, auditor):
    with app.app_context(), unit_of_work(db.session):
        for number in range(60):
            audit.record(db.session, "timer.fired", request_id=100 + number)
    first = auditor.get("/audit?action=timer.")
    assert len(listed(first)) == 50
    older = re.search(r'href="(/audit\?before=\d+[^"]*)"', first.text).group(1)
    second = auditor.get(older.replace("&amp;", "&"))
    assert len(listed(second)) == 10
    assert 'href="/requests/100"' in second.text and 'href="/requests/159"' in first.text
    newer = re.search(r'href="(/audit\?after=\d+[^"]*)"', second.text).group(1)
    assert listed(auditor.get(newer.replace("&amp;", "&"))) == listed(first)


def test_everyone_else_is_refused_and_sees_no_link(log, login, make_user):
    for role in ([], ["manager"], ["seal_admin"], ["designer"]):
        name = "u" + "".join(role)
        make_user(name, roles=role)
        client = login(name)
        assert client.get("/audit").status_code == 403
        assert client.get("/audit/export?format=csv").status_code == 403
        assert 'href="/audit"' not in client.get("/inbox").text
    admin = login("root")
    with_role(admin, "root", "admin")
    assert admin.get("/audit").status_code == 200


def exports(app) -> list[AuditEvent]:
    with app.app_context(), unit_of_work(db.session, write=False):
        found = list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "audit.exported")).scalars())
        db.session.expunge_all()
        return found


def test_the_csv_download_opens_in_excel_and_is_recorded(app, auditor):
    resp = auditor.get("/audit/export?format=csv&request=3")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="audit-' in resp.headers["Content-Disposition"]
    raw = resp.data
    assert raw.startswith("\ufeff".encode())  # the BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["seq", "at", "actor", "action", "request_id", "seal_id", "details",
                       "hash", "prev_hash"]
    assert [r[3] for r in rows[1:]] == ["task.completed", "document.downloaded",
                                        "user.login"]  # oldest first
    assert json.loads(rows[1][6])["comment"] == "同意盖章"
    # A cell a spreadsheet would run as a formula starts with a quote.
    assert rows[3][2] == "'=1+1"
    [event] = exports(app)
    assert event.actor == "audrey"
    assert event.details == {"format": "csv", "after_seq": None, "filter": {"request": "3"}}


def test_the_json_download_is_one_json_document(app, auditor):
    resp = auditor.get("/audit/export?format=json&seal=5")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith(
        "application/json")
    events = json.loads(resp.data)
    assert [e["action"] for e in events] == ["document.downloaded", "seal.policy_changed"]
    assert events[1]["details"] == {"allowed": ["contract_seal", "hr_seal"]}
    empty = auditor.get("/audit/export?format=json&actor=nobody")
    assert json.loads(empty.data) == []
    assert [e.details["format"] for e in exports(app)] == ["json", "json"]
    assert auditor.get("/audit/export?format=xml").status_code == 400
