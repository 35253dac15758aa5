"""A request's failure reason (an incident, a failure) is kept as a message key and values, and
a PDF the signer refuses is answered by its reason: both come out in the caller's language on
the pages and in the API (requests.failure_key, documents.pdf_problem, app.errors.translate).
A reason stored before keys were kept shows as it was."""

from __future__ import annotations

import io

from app.extensions import db
from processes.db import unit_of_work
from processes.models import Request, RequestStatus, Seal, SealStatus
from processes.people.directory import Identity, get_user
from processes.seals import lifecycle
from tests.conftest import submit
from tests.e2e.test_bad_documents import _encrypted

ZH = "zh-CN,zh;q=0.9"
EN = "en-US,en;q=0.9"


def _failure(api_client, request_id: int, language: str) -> str:
    body = api_client.get(f"/api/v1/requests/{request_id}",
                          headers={"Accept-Language": language}).get_json()
    return body["failure"]


def test_an_incident_reason_is_in_the_callers_language(org, pdf, make_user, login):
    # Bob heads his own department: his head's approval can go to nobody, an incident.
    stopped = submit(org.bob, org.seal_id, pdf).get_json()
    assert stopped["status"] == "incident", stopped
    rid = stopped["id"]
    en, zh = _failure(org.bob, rid, EN), _failure(org.bob, rid, ZH)
    assert en.startswith("dept_head_approve: no one may work task"), en
    assert zh.startswith("dept_head_approve：任务「") and "无人可以办理" in zh, zh
    assert "no one may work" not in zh

    bob = login("bob", language=ZH)
    assert "无人可以办理" in bob.get(f"/requests/{rid}").text
    assert "no one may work task" in bob.get(f"/requests/{rid}?lang=en").text

    make_user("root", roles=["admin"])
    root = login("root", language=ZH)
    listed = root.get("/admin/incidents").text
    assert f"#{rid}" in listed and "无人可以办理" in listed and "no one may work" not in listed
    assert "no one may work task" in root.get("/admin/incidents?lang=en").text
    # ?lang= is kept for the session: Chinese again from here.
    flow = root.get("/processes/contract_seal?lang=zh_CN").text  # the flow's incidents
    assert "无人可以办理" in flow and "no one may work" not in flow

    # A retry that stops again says why, in the page's language.
    assert root.post(f"/admin/incidents/{rid}/retry").status_code == 302
    again = root.get("/admin/incidents").text
    assert f"申请 #{rid} 重试后仍有故障" in again and "无人可以办理" in again


def test_a_failure_reason_is_in_the_callers_language(app, org, pdf, make_user, login):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    make_user("root", roles=["admin"])
    with app.app_context(), unit_of_work(db.session):
        lifecycle.transition(db.session, db.session.get(Seal, org.seal_id), SealStatus.voided,
                             reason="印章遗失",
                             identity=Identity(get_user(db.session, "root")))
    en, zh = _failure(org.alice, req["id"], EN), _failure(org.alice, req["id"], ZH)
    assert en == f"seal {org.seal_id} was voided: 印章遗失"
    assert zh == f"印章 {org.seal_id} 已作废：印章遗失"
    alice = login("alice", language=ZH)
    assert f"印章 {org.seal_id} 已作废：印章遗失" in alice.get(f"/requests/{req['id']}").text
    assert f"seal {org.seal_id} was voided" in alice.get(f"/requests/{req['id']}?lang=en").text


def test_a_reason_stored_as_text_shows_as_it_was(app, org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    with app.app_context(), unit_of_work(db.session):
        row = db.session.get(Request, req["id"])
        row.status, row.failure = RequestStatus.failed, "the seal was revoked"
    assert _failure(org.alice, req["id"], ZH) == _failure(org.alice, req["id"], EN) \
        == "the seal was revoked"


def test_a_refused_pdf_says_why_in_the_callers_language(org, pdf, login):
    cases = [(b"hello", "该文件不是 PDF", "the file is not a PDF"),
             (_encrypted(pdf), "该 PDF 已加密：请去掉密码后重新上传",
              "the PDF is encrypted: remove its password, then upload it again")]
    alice = login("alice", language=ZH)
    for document, zh, en in cases:
        for language, expected in ((ZH, zh), (EN, en)):
            error = submit(org.alice, org.seal_id, document,
                           headers={"Accept-Language": language}).get_json()["error"]
            assert error["code"] == "invalid" and error["message"] == expected
            assert error["problems"] == [{"field": "document", "message": expected}]
        for lang, expected in (("zh_CN", zh), ("en", en)):
            form = {"process": "contract_seal", "seal": str(org.seal_id),
                    "document": (io.BytesIO(document), "contract.pdf"), "data.amount": "5",
                    "data.purpose": "采购合同", "data.counterparty": "某某公司"}
            page = alice.post(f"/requests/new?lang={lang}", data=form,
                              content_type="multipart/form-data")
            assert page.status_code == 422 and expected in page.text, (lang, page.text)


def test_verifying_an_encrypted_pdf_says_why_in_the_pages_language(client, pdf):
    for lang, expected in (("zh_CN", "该 PDF 已加密"), ("en", "the PDF is encrypted")):
        page = client.post(f"/verify?lang={lang}",
                           data={"file": (io.BytesIO(_encrypted(pdf)), "e.pdf")},
                           content_type="multipart/form-data")
        assert page.status_code == 422 and expected in page.text, page.text
