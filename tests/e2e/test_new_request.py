"""The new-request page's choices and its route preview (POST /api/v1/requests/route-preview):
the seals a seal's usage policy allows this requester, lifecycle flows only for the people who
manage seals, a lifecycle request with no PDF, the route a request would take (who, in what
order), nothing written; the page's submit answering JSON to its script."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from processes.db import unit_of_work
from processes.flows import definitions
from processes.models import Base, Seal
from processes.seals import policy
from tests.conftest import deploy_bytes

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def _counts(app) -> dict[str, int]:
    with app.app_context():
        found = {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                 for t in Base.metadata.sorted_tables}
        db.session.rollback()
    return found


def _types(app, **types: str) -> None:
    with app.app_context(), unit_of_work(db.session):
        for key, process in types.items():
            definitions.add_business_type(db.session, key, process)


def _deploy_void(org) -> None:
    void = (BPMN / "seal_void" / "seal_void.bpmn").read_bytes()
    assert deploy_bytes(org.seal_admin, {"seal_void.bpmn": void}).status_code == 201


def _preview(client, **body):
    return client.post("/api/v1/requests/route-preview", json=body)


def test_the_route_preview_names_the_approvers_in_order(app, org):
    _types(app, contract="contract_seal")
    before = _counts(app)
    small = _preview(org.alice, business_type="contract", seal=org.seal_id,
                     data={"amount": 50000, "purpose": "采购合同"})
    assert small.status_code == 200, small.get_json()
    body = small.get_json()
    assert [[p["name"] for p in s["people"]] for s in body["steps"]] == [["bob"], ["carol"]]
    assert body["end"]["authorized"] is True and body["problems"] == []
    assert body["assumed"] == [] and "deputy" in body["note"]
    large = _preview(org.alice, business_type="contract", seal=org.seal_id,
                     data={"amount": 2_000_000, "purpose": "采购合同"}).get_json()
    assert [[p["name"] for p in s["people"]] for s in large["steps"]] == [
        ["bob"], ["lily"], ["carol"]]
    # A form still being filled in: the required fields left empty are assumed.
    partial = _preview(org.alice, process="contract_seal", seal=org.seal_id).get_json()
    assert set(partial["assumed"]) >= {"amount", "purpose"} and partial["steps"]
    assert _counts(app) == before  # nothing written: no request, task, audit event


def test_the_route_preview_says_when_the_seals_policy_refuses(app, org):
    _types(app, contract="contract_seal")
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          groups=["legal"])
    ask = {"business_type": "contract", "seal": org.seal_id,
           "data": {"amount": 1, "purpose": "x"}}
    english = org.alice.post("/api/v1/requests/route-preview", json=ask,
                             headers={"Accept-Language": "en"}).get_json()
    assert any("policy refuses" in p for p in english["problems"]), english["problems"]
    chinese = org.alice.post("/api/v1/requests/route-preview", json=ask,
                             headers={"Accept-Language": "zh-CN"}).get_json()
    assert len(chinese["problems"]) == len(english["problems"])
    assert chinese["problems"] != english["problems"] and "policy" not in chinese["problems"][0]


def test_the_route_preview_says_when_no_one_may_work_a_step(app, org):
    ask = {"process": "contract_seal", "seal": org.seal_id,
           "data": {"amount": 1, "purpose": "x"}}
    body = org.carol.post("/api/v1/requests/route-preview", json=ask,  # the only custodian
                          headers={"Accept-Language": "en"}).get_json()
    assert [p for p in body["problems"] if "no one may work the step" in p], body["problems"]
    assert not [p for p in body["problems"] if "no one may work task" in p]


def test_the_route_preview_refuses_a_flow_the_user_may_not_start(app, org):
    _deploy_void(org)
    refused = _preview(org.alice, process="seal_void", seal=org.seal_id,
                       data={"reason": "更换新章"})
    assert refused.status_code == 403
    mine = _preview(org.carol, process="seal_void", seal=org.seal_id,
                    data={"reason": "更换新章"})
    assert mine.status_code == 200, mine.get_json()
    assert mine.get_json()["steps"]
    unknown = _preview(org.alice, process="no_such_flow", seal=org.seal_id)
    assert unknown.status_code in (404, 422)
    assert _preview(org.alice, process="contract_seal", seal="x").status_code == 400


def test_the_seal_list_holds_only_the_seals_whose_policy_allows_this_user(
        app, org, make_seal, login):
    other = make_seal(["carol"], name="测试科技有限公司财务专用章")
    _types(app, contract="contract_seal")
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, other), actor=None,
                          groups=["legal"])
    alice = login("alice").get("/requests/new?business_type=contract").text
    assert f'<option value="{org.seal_id}"' in alice and f'<option value="{other}"' not in alice
    lily = login("lily").get("/requests/new?business_type=contract").text
    assert f'<option value="{other}"' in lily
    # A seal only for another business type is not offered either.
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          business_types=["finance"])
    alice = login("alice").get("/requests/new?business_type=contract").text
    assert f'<option value="{org.seal_id}"' not in alice
    assert "No seal may be used by you for this kind of request" in alice


def test_lifecycle_flows_are_offered_only_to_the_people_who_manage_seals(app, org, login):
    _deploy_void(org)
    _types(app, contract="contract_seal", seal_void="seal_void")
    alice = login("alice").get("/requests/new").text
    assert 'value="contract"' in alice and 'value="seal_void"' not in alice
    # Asking for it by name shows the first kind she may file instead.
    assert "carries no document" not in login("alice").get(
        "/requests/new?business_type=seal_void").text
    carol = login("carol").get("/requests/new?business_type=seal_void").text
    assert 'value="seal_void"' in carol and "carries no document" in carol
    assert 'name="document"' not in carol and f'<option value="{org.seal_id}"' in carol
    # The page refuses alice's lifecycle request too.
    resp = login("alice").post("/requests/new", data={
        "business_type": "seal_void", "seal": str(org.seal_id), "data.reason": "更换新章"},
        headers={"Accept": "application/json"})
    assert resp.status_code == 403


def test_a_lifecycle_request_from_the_page_carries_no_pdf(app, org, login):
    _deploy_void(org)
    carol = login("carol")
    resp = carol.post("/requests/new", data={
        "process": "seal_void", "seal": str(org.seal_id), "data.reason": "更换新章"},
        headers={"Accept": "application/json"})
    assert resp.status_code == 201, resp.get_json()
    body = org.carol.get(f"/api/v1/requests/{resp.get_json()['id']}").get_json()
    assert body["document"] is None and len(body["subject_sha256"]) == 64


def test_the_pages_submit_answers_its_script_with_json(app, org, pdf, login):
    alice = login("alice")
    bad = alice.post("/requests/new", data={
        "process": "contract_seal", "seal": str(org.seal_id), "data.amount": "12",
        "document": (io.BytesIO(b"not a pdf"), "a.pdf")},
        headers={"Accept": "application/json"}, content_type="multipart/form-data")
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.get_json()["error"]["problems"]}
    assert "document" in fields
    good = alice.post("/requests/new", data={
        "process": "contract_seal", "seal": str(org.seal_id), "data.amount": "12",
        "data.purpose": "采购合同", "placement_page": "1", "placement_x": "100",
        "placement_y": "200", "placement_size": "119",
        "document": (io.BytesIO(pdf), "a.pdf")},
        headers={"Accept": "application/json"}, content_type="multipart/form-data")
    assert good.status_code == 201, good.get_json()
    req = org.alice.get(f"/api/v1/requests/{good.get_json()['id']}").get_json()
    assert good.get_json()["location"] == f"/requests/{req['id']}"
    assert {k: req["placement"][k] for k in ("page", "x", "y", "size")} == {
        "page": 1, "x": 100.0, "y": 200.0, "size": 119.0}


def test_the_route_preview_assumes_a_value_still_being_typed(app, org):
    body = _preview(org.alice, process="contract_seal", seal=org.seal_id,
                    data={"amount": "12ab", "purpose": "采购合同"}).get_json()
    assert body["assumed"] == ["amount"] and body["steps"]


def test_the_seal_list_costs_the_same_statements_for_one_seal_or_many(app, org, make_seal,
                                                                      login):
    from tests.e2e.test_query_budget import statements
    _types(app, contract="contract_seal")
    alice = login("alice")

    def page_statements() -> int:
        with statements(app) as seen:
            assert alice.get("/requests/new?business_type=contract").status_code == 200
        return len(seen)

    def with_policy(seal_id: int) -> None:
        with app.app_context(), unit_of_work(db.session):
            policy.set_policy(db.session, db.session.get(Seal, seal_id), actor=None,
                              groups=["sales", "legal"], business_types=["contract"])

    with_policy(org.seal_id)
    one = page_statements()
    for i in range(5):
        with_policy(make_seal(["carol"], name=f"测试科技有限公司合同专用章{i}"))
    assert page_statements() == one


def test_the_route_preview_is_rate_limited(app, org):
    app.config["ROUTE_PREVIEW_RATE"] = "2/minute"
    app.extensions.pop("sealflow_rate_limits", None)
    answers = [_preview(org.alice, process="contract_seal", seal=org.seal_id).status_code
               for _ in range(3)]
    assert answers == [200, 200, 429]


def test_the_route_preview_of_a_seal_to_make_waits_for_its_fields(app, org):
    make = (BPMN / "seal_make" / "seal_make.bpmn").read_bytes()
    assert deploy_bytes(org.seal_admin, {"seal_make.bpmn": make}).status_code == 201
    empty = _preview(org.seal_admin, process="seal_make")
    assert empty.status_code == 200, empty.get_json()
    assert empty.get_json()["steps"] == [] and "custodians" in empty.get_json()["assumed"]
    filled = _preview(org.seal_admin, process="seal_make", data={
        "seal_name": "财务专用章", "new_seal_type": "财务专用章", "custodians": "carol",
        "reason": "新设财务部"}).get_json()
    assert filled["steps"] and filled["assumed"] == []
    assert _preview(org.alice, process="seal_make").status_code == 403
