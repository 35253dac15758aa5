"""The seal-usage log (用印台账) over the API: each use names its certificate, seal, business type
and purpose, requester, every approver with time and decision, the document's hash and pages, the
sealed file's hash, the sealing and timestamp times; filtered, paged, and read only by those the
log is for (a custodian across seals: their own seals only)."""

from __future__ import annotations

import hashlib

from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.flows import definitions
from processes.models import Seal
from processes.seals import registry
from tests.conftest import approve, only_task, seal_one, submit


def _large_contract_sealed(app, org, pdf) -> int:
    """Alice's 2,500,000 contract (合同用印): Bob, then Lily (legal), then Carol approve; it is
    sealed."""
    with app.app_context(), unit_of_work(db.session):
        definitions.add_business_type(db.session, "contract", "contract_seal", name="合同用印")
    req = submit(org.alice, org.seal_id, pdf, business_type="contract",
                 data={"amount": 2_500_000, "purpose": "框架协议", "counterparty": "甲公司"}
                 ).get_json()
    assert approve(org.bob, "部门同意").status_code == 200
    assert only_task(org.lily)["element_id"] == "legal_review"
    assert approve(org.lily, "条款无误", legal_opinion="条款无误").status_code == 200
    assert approve(org.carol, "准予用印").status_code == 200
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
    return req["id"]


def test_a_use_after_three_approvals_names_all_three_and_the_hashes(app, org, pdf, live_tsa):
    rid = _large_contract_sealed(app, org, pdf)
    log = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()
    assert log["total"] == 1
    use = log["uses"][0]
    assert use["request_id"] == rid
    assert [(a["user"], a["decision"], a["comment"]) for a in use["approvers"]] == [
        ("bob", "approve", "部门同意"), ("lily", "approve", "条款无误"),
        ("carol", "approve", "准予用印")]
    assert all(a["at"] for a in use["approvers"])
    assert use["document_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert use["pages"] == 1
    sealed = org.alice.get(f"/api/v1/requests/{rid}/sealed")
    assert use["sealed_sha256"] == hashlib.sha256(sealed.data).hexdigest()
    sealed.close()
    assert use["seal"] == "测试科技有限公司合同专用章" and use["certificate_serial"]
    assert (use["business_type"], use["purpose"], use["requester"]) == (
        "contract", "框架协议", "alice")
    assert use["business_type_name"] == "合同用印"
    # The seal's B-T timestamp: the TSA's time, a moment at or before the sealing's commit.
    assert use["timestamped_at"] and use["timestamped_at"] <= use["sealed_at"]
    # The same use across seals, for the seal's custodian and an auditor.
    across = org.carol.get("/api/v1/seal-usage").get_json()
    assert [u["request_id"] for u in across["uses"]] == [rid]
    assert across["uses"][0]["approvers"] == use["approvers"]


def test_filters_and_pages(org, pdf, api):
    first = seal_one(org, pdf)["id"]
    second = seal_one(org, pdf + b"\n% another\n")["id"]
    auditor = api("audrey", roles=["auditor"])
    both = auditor.get("/api/v1/seal-usage").get_json()
    assert [u["request_id"] for u in both["uses"]] == [second, first]  # newest first
    page = auditor.get("/api/v1/seal-usage?limit=1&offset=1").get_json()
    assert ([u["request_id"] for u in page["uses"]], page["total"]) == ([first], 2)
    assert auditor.get("/api/v1/seal-usage?requester=bob").get_json()["total"] == 0
    assert auditor.get("/api/v1/seal-usage?requester=alice").get_json()["total"] == 2
    assert auditor.get("/api/v1/seal-usage?business_type=other").get_json()["total"] == 0
    assert auditor.get("/api/v1/seal-usage?since=2000-01-01&until=2999-12-31"
                       ).get_json()["total"] == 2
    assert auditor.get("/api/v1/seal-usage?until=2000-01-01").get_json()["total"] == 0
    bad = auditor.get("/api/v1/seal-usage?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.get_json()["error"]["message"]


def test_who_reads_the_log(org, pdf, api, make_seal):
    rid = seal_one(org, pdf)["id"]
    nobody = api("olga")  # neither a custodian nor an auditor
    assert nobody.get("/api/v1/seal-usage").status_code == 403
    assert org.alice.get(f"/api/v1/seals/{org.seal_id}/usage").status_code == 403
    assert org.seal_admin.get("/api/v1/seal-usage").get_json()["total"] == 1
    # A custodian of another seal sees neither this seal's log nor its uses across seals.
    keeper = api("kate")
    other_seal = make_seal(["kate"], name="财务专用章")
    assert keeper.get(f"/api/v1/seals/{org.seal_id}/usage").status_code == 403
    assert keeper.get("/api/v1/seal-usage").get_json()["uses"] == []
    assert keeper.get(f"/api/v1/seal-usage?seal={org.seal_id}").status_code == 403
    assert org.carol.get(f"/api/v1/seal-usage?seal={other_seal}").status_code == 403
    assert [u["request_id"] for u in org.carol.get(
        f"/api/v1/seal-usage?seal={org.seal_id}").get_json()["uses"]] == [rid]


def test_a_page_costs_the_same_statements_however_many_uses_it_lists(app, org, pdf, api):
    """Two queries a page (the uses, then every approver of them), never one per row."""
    from tests.e2e.test_query_budget import statements

    auditor = api("audrey", roles=["auditor"])
    seal_one(org, pdf)

    def cost() -> list[str]:
        with statements(app) as seen:
            assert auditor.get("/api/v1/seal-usage").status_code == 200
        return [s for s in seen if s.startswith("SELECT")]

    one = cost()
    for n in range(3):
        seal_one(org, pdf + f"\n% {n}\n".encode())
    assert auditor.get("/api/v1/seal-usage").get_json()["total"] == 4
    assert len(cost()) == len(one)


def test_a_use_names_the_certificate_that_signed_not_the_renewed_one(app, org, pdf):
    req = seal_one(org, pdf)
    before = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()["uses"][0]
    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, org.seal_id)
        signed_with = seal.certificate_serial
        registry.renew_certificate(db.session, env(), seal)
        renewed = seal.certificate_serial
    assert renewed != signed_with
    [use] = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()["uses"]
    assert use["request_id"] == req["id"]
    assert use["certificate_serial"] == before["certificate_serial"] == signed_with
