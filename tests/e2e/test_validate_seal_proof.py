"""Validate proves the flow being edited against the seals' policies, as the deploy does, and
stores nothing: a path to the authorized end that slips past an approval a seal demands is a
warning naming the seal and the demand, with the path (the modeler draws it); the deploy's own
warning carries the path too. Policies apply as they do to deployed flows: one naming no
business types to every flow, one naming some to the flows those types map to."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.design import deploy
from processes.flows import definitions
from processes.models import AuditEvent, ProcessDefinition, Seal
from processes.seal_models import SealFlowProof
from processes.seals import policy
from tests.conftest import CONTRACT_BPMN, deploy_bytes

TABLE = CONTRACT_BPMN.parent / "contract_routing.dmn"
SEAL_NAME = "测试科技有限公司合同专用章"
# Legal's approval leads straight to the authorized end: the department head still approves,
# so the flow deploys, but the seal's custodian is skipped whenever legal reviews.
SKIPPING = CONTRACT_BPMN.read_bytes().replace(
    b'<bpmn:sequenceFlow id="flow_legal_rejected"',
    b'<bpmn:sequenceFlow id="flow_legal_skips" sourceRef="gw_legal" targetRef="end_authorized">'
    b'<bpmn:conditionExpression>${legal_verdict == "fast"}</bpmn:conditionExpression>'
    b'</bpmn:sequenceFlow><bpmn:sequenceFlow id="flow_legal_rejected"', 1)
SKIPPED_PATH = ["submit", "dept_head_approve", "gw_dept", "route_contract", "gw_amount",
                "legal_review", "gw_legal", "end_authorized"]


def _files(bpmn: bytes) -> dict[str, bytes]:
    return {"contract_seal.bpmn": bpmn, "contract_routing.dmn": TABLE.read_bytes()}


def _validate(client, bpmn: bytes) -> dict:
    resp = client.post("/api/v1/processes/validate",
                       data={"file": [(io.BytesIO(b), n) for n, b in _files(bpmn).items()]},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _demand(app, seal_id: int, **changes) -> None:
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get_one(Seal, seal_id), actor=None, **changes)


def _seal_warnings(body: dict) -> list[dict]:
    return [w for w in body["warnings"] if "seal" in w]


def _stored(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (ProcessDefinition, SealFlowProof, AuditEvent))


def test_validate_draws_the_path_past_the_custodian_a_seal_demands(app, org):
    _demand(app, org.seal_id, demands=[{"kind": "custodian"}])
    before = _stored(app)

    body = _validate(org.designer, SKIPPING)
    assert body["problems"] == []
    (warning,) = _seal_warnings(body)
    assert warning["element"] == "end_authorized"
    assert warning["seal"] == org.seal_id
    assert warning["severity"] == "warning"
    assert warning["message"].startswith(f"cannot be used with seal {org.seal_id} ({SEAL_NAME}): "
                                         "a path reaches the authorized end without an approval "
                                         "by a custodian of the seal: ")
    assert "法务审核 → 法务同意? → 已授权用印" in warning["message"]
    assert warning["path"] == SKIPPED_PATH

    # The shipped flow passes the custodian on every path: no seal warning.
    assert _seal_warnings(_validate(org.designer, CONTRACT_BPMN.read_bytes())) == []
    # Nothing stored: no version, no kept proof, no audit event.
    assert _stored(app) == before
    assert [p["version"] for p in org.designer.get("/api/v1/processes").get_json()] == [1]


def test_the_deploy_warning_carries_the_path_too(app, org):
    _demand(app, org.seal_id, demands=[{"kind": "custodian"}])
    resp = deploy_bytes(org.designer, _files(SKIPPING), comment="legal may skip the custodian")
    assert resp.status_code == 201, resp.get_json()
    (warning,) = _seal_warnings(resp.get_json())
    assert warning["element"] == "end_authorized"
    assert warning["path"] == SKIPPED_PATH
    assert f"cannot be used with seal {org.seal_id} ({SEAL_NAME})" in warning["message"]


def test_a_policy_for_business_types_applies_to_the_flows_they_map_to(app, org):
    _demand(app, org.seal_id, demands=[{"kind": "custodian"}], business_types=["purchase"])
    with app.app_context():
        def validated() -> dict:
            return deploy.validate(db.session, env(), _files(SKIPPING))

        assert _seal_warnings(validated()) == []  # no type of the policy maps to this flow
        with unit_of_work(db.session):
            definitions.add_business_type(db.session, "purchase", "contract_seal")
        (warning,) = _seal_warnings(validated())
        assert warning["path"] == SKIPPED_PATH
        # A policy demanding nothing, or a flow that meets the demand: no warning.
        assert _seal_warnings(deploy.validate(db.session, env(),
                                              _files(CONTRACT_BPMN.read_bytes()))) == []
    _demand(app, org.seal_id, demands=[])
    with app.app_context():
        assert _seal_warnings(deploy.validate(db.session, env(), _files(SKIPPING))) == []
