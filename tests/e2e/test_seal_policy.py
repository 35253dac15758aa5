"""A seal's usage policy: rules that name themselves when they refuse, a quota that holds under
a race, demanded approvals proved over the flow, and checked again at sealing time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import delete

from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.models import Seal
from processes.people import directory
from processes.seal_models import SealPolicy
from processes.seals import policy
from tests.conftest import deploy, make_pdf, only_task, submit
from tests.holding import held_open, waiting

DATA = Path(__file__).parent / "data" / "policy"


def _set(app, seal_id: int, **changes) -> dict:
    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, seal_id)
        return policy.set_policy(db.session, seal, actor=None, **changes)


@pytest.fixture
def guarded(org):
    assert deploy(org.designer, DATA / "guarded.bpmn").status_code == 201
    return org


def _refused(resp, rule: str) -> str:
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "policy_refused"
    assert err["problems"][0]["rule"] == rule, err
    return err["message"]


def test_a_quota_of_three_seals_exactly_three_of_ten_racing(app, guarded, pdf):
    requests = [submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={})
                .get_json() for _ in range(10)]
    _set(app, guarded.seal_id, max_uses=3)
    tasks = guarded.carol.get("/api/v1/tasks?limit=100").get_json()
    assert len(tasks) == 10

    def approve(task):
        return guarded.carol.post(f"/api/v1/tasks/{task['id']}/complete",
                                  json={"decision": "approve"}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(approve, tasks)) == [200] * 10
    statuses = [guarded.alice.get(f"/api/v1/requests/{r['id']}").get_json()
                for r in requests]
    assert sorted(s["status"] for s in statuses).count("sealed") == 3
    failed = [s for s in statuses if s["status"] == "failed"]
    assert len(failed) == 7
    assert all("no uses left" in s["failure"] for s in failed)
    # Once used up, a new request is refused at once, naming the rule.
    message = _refused(submit(guarded.alice, guarded.seal_id, pdf, process="guarded",
                              data={}), "max_uses")
    assert "used 3 times" in message


def test_each_rule_names_itself(app, guarded, pdf, api):
    _set(app, guarded.seal_id, max_pages=1)
    _refused(submit(guarded.alice, guarded.seal_id, make_pdf(pages=2), process="guarded",
                    data={}), "max_pages")
    _set(app, guarded.seal_id, max_pages=None, max_bytes=100)
    _refused(submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={}),
             "max_bytes")
    _set(app, guarded.seal_id, max_bytes=None, groups=["legal"])
    _refused(submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={}), "groups")
    assert submit(guarded.lily, guarded.seal_id, pdf, process="guarded",
                  data={}).status_code == 201
    _set(app, guarded.seal_id, groups=[], users=[], business_types=["contract"])
    _refused(submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={}),
             "business_types")
    from datetime import UTC, datetime, timedelta
    _set(app, guarded.seal_id, business_types=[],
         valid_to=datetime.now(UTC) - timedelta(days=1))
    _refused(submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={}),
             "valid_to")


def test_a_flow_that_skips_the_custodian_is_refused_for_a_seal_that_demands_one(app, guarded,
                                                                              pdf):
    _set(app, guarded.seal_id, demands=[{"kind": "custodian"}])
    deployed = deploy(guarded.designer, DATA / "slippery.bpmn")
    assert deployed.status_code == 201  # other seals may use it
    warning = deployed.get_json()["warnings"][0]["message"]
    assert f"seal {guarded.seal_id}" in warning
    assert "Submit → Head approves → Small amount? → Authorized" in warning
    message = _refused(submit(guarded.alice, guarded.seal_id, pdf, process="slippery",
                              data={"amount": 50000}), "demands")
    assert "without an approval by a custodian of the seal" in message
    assert "Small amount?" in message
    # The guarded flow passes the proof and runs.
    assert submit(guarded.alice, guarded.seal_id, pdf, process="guarded",
                  data={}).status_code == 201
    verdicts = _set(app, guarded.seal_id, demands=[{"kind": "custodian"}])["flows"]
    assert {(v["process"], v["ok"]) for v in verdicts} >= {("guarded", True),
                                                          ("slippery", False)}


def test_the_demands_are_checked_again_against_the_actual_approvers(app, guarded, pdf,
                                                                     make_user):
    _set(app, guarded.seal_id, demands=[{"kind": "custodian"}])
    runner(app).mode = "external"
    rid = submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={}).get_json()["id"]
    task = only_task(guarded.carol)
    guarded.carol.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    # Between the approval and the sealing, carol is no longer the seal's custodian.
    make_user("dave")
    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, guarded.seal_id)
        seal.custodians = [directory.get_user(db.session, "dave")]
    assert runner(app).sweep() == 1
    body = guarded.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "failed"
    assert "no approval by a custodian of the seal" in body["failure"]


def test_the_usage_log_shows_uses_counters_and_policy(app, guarded, pdf, api):
    _set(app, guarded.seal_id, max_per_month=5)
    submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={})
    task = only_task(guarded.carol)
    guarded.carol.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    log = guarded.carol.get(f"/api/v1/seals/{guarded.seal_id}/usage").get_json()
    assert [u["requester"] for u in log["uses"]] == ["alice"]
    assert log["counters"]["total"] == 1 and log["policy"]["max_per_month"] == 5
    assert guarded.alice.get(f"/api/v1/seals/{guarded.seal_id}/usage").status_code == 403
    assert api("audrey", roles=["auditor"]).get(
        f"/api/v1/seals/{guarded.seal_id}/usage").status_code == 200


def test_bad_policies_are_refused(app, guarded):
    from processes.errors import BadInput
    for bad in ({"demands": [{"kind": "anyone"}]}, {"max_uses": -1}, {"colour": "red"}):
        with pytest.raises(BadInput):
            _set(app, guarded.seal_id, **bad)


def test_two_policy_changes_at_once_take_turns_and_both_stand(app, org):
    """A seal with no policy yet; one change is still in its transaction when a second comes:
    the second waits and changes the policy the first made (it neither fails on the policy's
    row nor overwrites the first's field)."""
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(delete(SealPolicy).where(SealPolicy.seal_id == org.seal_id))
    with held_open(app, lambda s: policy.set_policy(s, s.get(Seal, org.seal_id), actor=None,
                                                    max_uses=5)):
        second = waiting(lambda: _set(app, org.seal_id, max_per_month=3))
    second()
    with app.app_context():
        found = db.session.get(SealPolicy, org.seal_id)
        assert (found.max_uses, found.max_per_month) == (5, 3)
        db.session.rollback()
