"""Return for revision, resubmit: a revised PDF replaces the approved one and resets the
approvals; the loop runs 500 rounds without stalling or slowing down."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from processes.models import Request, SigningGrant
from tests.conftest import deploy, make_pdf, only_task, submit
from tests.pdfcheck import assert_sealed

FLOW = Path(__file__).parent / "data" / "revision_loop" / "revision_loop.bpmn"


@pytest.fixture
def loop(org):
    assert deploy(org.designer, FLOW).status_code == 201
    return org


def _decide(client, decision: str, **extra):
    task = only_task(client)
    return client.post(f"/api/v1/tasks/{task['id']}/complete",
                       json={"decision": decision, **extra})


def test_a_revised_document_is_the_one_sealed_and_resets_the_approvals(loop, app, pdf,
                                                                        trust_roots):
    rid = submit(loop.alice, loop.seal_id, pdf, process="revision_loop", data={}).get_json()["id"]
    assert _decide(loop.carol, "return", comment="第3条金额有误").status_code == 200
    revise = only_task(loop.alice)
    assert revise["element_id"] == "revise" and revise["assignee"] == "alice"
    # The custodian may not slip a document in: only the requester's own task revises.
    assert loop.carol.get("/api/v1/tasks").get_json() == []
    revised = make_pdf(text="Contract 2026-001 (revised: clause 3 amount)")
    resp = loop.alice.post(f"/api/v1/tasks/{revise['id']}/complete", data={
        "decision": "approve", "data": '{"change_note": "改了第3条"}',
        "document": (io.BytesIO(revised), "contract-v2.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["request"]
    assert body["document"]["filename"] == "contract-v2.pdf"
    document = loop.alice.get(f"/api/v1/requests/{rid}/document")
    assert document.data == revised
    document.close()
    assert _decide(loop.carol, "approve").status_code == 200
    sealed = loop.alice.get(f"/api/v1/requests/{rid}/sealed")
    assert sealed.data.startswith(revised)
    assert_sealed(sealed.data, trust_roots)
    sealed.close()
    with app.app_context():
        grant = db.session.execute(select(SigningGrant)).scalar_one()
        # The custodian's "return" on the first version is not an approval of the second.
        assert [(a["element"], a["by"]) for a in grant.approvals] == [("review", "carol")]
        assert grant.document_sha256 == db.session.get(Request, rid).document.sha256


def test_a_task_not_of_the_requester_refuses_a_document(loop, pdf):
    submit(loop.alice, loop.seal_id, pdf, process="revision_loop", data={})
    task = only_task(loop.carol)
    resp = loop.carol.post(f"/api/v1/tasks/{task['id']}/complete", data={
        "decision": "approve", "document": (io.BytesIO(make_pdf(text="swapped")), "x.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["problems"][0]["field"] == "document"
    assert only_task(loop.carol)["id"] == task["id"]  # nothing was half-done


def test_five_hundred_rounds_of_revision_neither_stall_nor_lose_history(loop, pdf):
    created = submit(loop.alice, loop.seal_id, pdf, process="revision_loop", data={}).get_json()
    rid, (task,) = created["id"], created["tasks"]
    for _ in range(500):
        for who, decision in ((loop.carol, "return"), (loop.alice, "approve")):
            resp = who.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": decision})
            assert resp.status_code == 200, resp.get_json()
            (task,) = resp.get_json()["request"]["tasks"]  # the next round's task is open
    assert task["element_id"] == "review"
    final = loop.carol.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"}).get_json()["request"]
    assert final["status"] in ("authorized", "sealed")
    body = loop.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "sealed"
    assert len(body["history"]) == 1001
    assert [h["decision"] for h in body["history"][-3:]] == ["return", "approve", "approve"]


def test_a_completion_answers_with_the_latest_history_and_get_with_all_of_it(loop, pdf):
    created = submit(loop.alice, loop.seal_id, pdf, process="revision_loop", data={}).get_json()
    rid, (task,) = created["id"], created["tasks"]
    for _ in range(15):
        for who, decision in ((loop.carol, "return"), (loop.alice, "approve")):
            body = who.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": decision}).get_json()["request"]
            (task,) = body["tasks"]
    assert body["history_total"] == 30 and body["history_truncated"] is True
    assert len(body["history"]) == 20
    assert [h["decision"] for h in body["history"][-2:]] == ["return", "approve"]
    full = loop.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert len(full["history"]) == 30 and "history_truncated" not in full
    assert full["history"][-20:] == body["history"]
