"""Notices are stored as message keys and arguments, not finished text, and put into words in
the reader's language: the inbox page and GET /api/v1/notices in the caller's, the mail in the
recipient's (tests/e2e/test_mail.py); migration 0022 turns the old bilingual texts into keys."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from app.extensions import db
from processes.db import unit_of_work
from processes.notice_models import Notice
from tests.conftest import submit

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
MIGRATION = Path(__file__).resolve().parents[2] / "app/migrations/versions/0022_notice_keys.py"


def _stored(app) -> list[tuple[str, str, dict | None]]:
    with app.app_context(), unit_of_work(db.session, write=False):
        return [tuple(row) for row in db.session.execute(
            select(Notice.kind, Notice.key, Notice.args).order_by(Notice.id)).all()]


def test_a_new_tasks_notice_is_a_key_with_arguments_read_in_either_language(app, org, pdf,
                                                                            login):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    ((kind, key, args),) = _stored(app)
    assert kind == "task.assigned"
    assert key == "Request #%(id)s waits for you at “%(task)s”."
    assert args == {"id": req["id"], "task": "部门负责人审批"}

    zh = org.bob.get("/api/v1/notices", headers=ZH).get_json()["notices"][0]
    en = org.bob.get("/api/v1/notices", headers=EN).get_json()["notices"][0]
    assert zh["text"] == f"申请 #{req['id']}「部门负责人审批」等待您处理。"
    assert en["text"] == f"Request #{req['id']} waits for you at “部门负责人审批”."
    assert zh["key"] == en["key"] == key and zh["args"] == en["args"] == args
    assert zh["message"] == en["message"] == en["text"]  # the English text, as before

    bob = login("bob")
    assert f"Request #{req['id']} waits for you at" in bob.get("/inbox?lang=en").text
    page = bob.get("/inbox?lang=zh_CN").text
    assert f"申请 #{req['id']}「部门负责人审批」等待您处理。" in page
    assert "waits for you" not in page


def test_a_rejected_requests_notice_reads_in_the_requesters_language(app, org, pdf, login):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = org.bob.get("/api/v1/tasks").get_json()[0]
    resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                        json={"decision": "reject", "comment": "金额不对"})
    assert resp.status_code == 200, resp.get_json()
    (told,) = [n for n in org.alice.get("/api/v1/notices", headers=ZH).get_json()["notices"]
               if n["kind"] == "request.rejected"]
    assert told["text"] == f"申请 #{req['id']} 未获批准。" and told["args"] == {"id": req["id"]}
    page = login("alice").get("/inbox?lang=en").text
    assert f"Request #{req['id']} was rejected." in page


def test_a_plain_text_notice_stays_as_written(app, org):
    from processes import notices
    with app.app_context(), unit_of_work(db.session):
        from processes.people import directory
        notices.notify(db.session, [directory.get_user(db.session, "bob").id], "test",
                       "50% 完成 %(x)s")
    (notice,) = org.bob.get("/api/v1/notices", headers=EN).get_json()["notices"]
    assert notice["text"] == notice["key"] == "50% 完成 %(x)s" and notice["args"] is None


def test_the_migration_turns_the_old_texts_into_keys():
    spec = importlib.util.spec_from_file_location("m0022", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    old = {
        "task.assigned": "申请 #5「部门负责人审批」等待您处理。 Request #5 waits for you at "
                         "'部门负责人审批'.",
        "request.failed": "申请 #7 盖章失败：no key: x Request #7 failed: no key: x",
        "request.copied": "bob 抄送给您：申请 #3「审批」。 "
                          "bob copied you on request #3 (审批). 供参考",
        "seal.expiring": "印章「合同章」的证书将于 2027-01-01 到期，请申请证书续期（印章变更）。 "
                         "The certificate of seal '合同章' expires on 2027-01-01: ask for its "
                         "renewal (seal_change).",
        "task.delegated": "申请 #1「A's」已转办给您。 "
                          "Request #1's task \"A's\" was delegated to you.",
    }
    converted = {kind: migration.convert(kind, text) for kind, text in old.items()}
    assert converted["task.assigned"] == ("Request #%(id)s waits for you at “%(task)s”.",
                                          {"id": 5, "task": "部门负责人审批"})
    assert converted["request.failed"][1] == {"id": 7, "reason": "no key: x"}
    assert converted["request.copied"][1] == {"by": "bob", "id": 3, "task": "审批",
                                              "note": "供参考"}
    assert converted["seal.expiring"][1] == {"seal": "合同章", "date": "2027-01-01"}
    assert converted["task.delegated"][1] == {"id": 1, "task": "A's"}
    # Each key is one the code writes today, which the catalogues translate.
    with (MIGRATION.parents[2] / "translations/messages.pot").open("rb") as f:
        catalogue = read_po(f)
    for key, _ in converted.values():
        assert key in catalogue, key
    assert migration.convert("test", "anything") == ("anything", None)


def test_a_failed_requests_reason_is_read_in_the_readers_language_too(app, org):
    from processes import notices
    from processes.errors import msg
    from processes.people import directory
    with app.app_context(), unit_of_work(db.session):
        alice = directory.get_user(db.session, "alice").id
        notices.request_finished(db.session, alice, 99, "failed",
                                 msg("seal %(seal)s is %(status)s", seal=3, status="revoked"))
    ((kind, key, args),) = _stored(app)
    assert args == {"id": 99, "reason": {"key": "seal %(seal)s is %(status)s",
                                         "args": {"seal": 3, "status": "revoked"}}}
    zh = org.alice.get("/api/v1/notices", headers=ZH).get_json()["notices"][0]["text"]
    en = org.alice.get("/api/v1/notices", headers=EN).get_json()["notices"][0]["text"]
    assert en == "Request #99 failed: seal 3 is revoked"
    assert zh.startswith("申请 #99 盖章失败：印章 3 的状态为 ") and "revoked" not in zh
