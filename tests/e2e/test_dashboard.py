"""The dashboard (/dashboard, GET /api/v1/dashboard) over requests filed, approved, refused and
sealed through the real flow: seal uses per seal and month (in the organisation's zone),
lead times by nearest rank, open and overdue tasks per group, refusals per policy rule (at
filing and at the authorized end), incidents open and resolved; the filters, and who may look.

The flow's own times are milliseconds apart: each test sets the moments that matter (when a
task was created and completed, when a request was sealed) on the rows the flow wrote, then
reads what the dashboard makes of them."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.isotime import timezone_name
from processes.models import Request, Seal, utcnow
from processes.people import directory
from processes.seals import policy
from processes.task_models import Task
from tests.conftest import approve, deploy, deploy_bytes, submit
from tests.e2e.test_incidents import BAD_CONDITION

HOUR = 3600
GUARDED = Path(__file__).parent / "data" / "policy" / "guarded.bpmn"


def _months_back(count: int) -> datetime:
    """The first moment of the month ``count`` months before this one (organisation's zone)."""
    now = utcnow().astimezone(ZoneInfo(timezone_name()))
    index = now.year * 12 + now.month - 1 - count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=ZoneInfo(timezone_name()))


def _set_times(app, request_id: int, filed: datetime, steps: list[timedelta],
               sealed: datetime | None = None) -> None:
    """The request filed at ``filed``, its tasks (in the order they came) each taking its step
    after the one before, and sealed at ``sealed``."""
    with app.app_context(), unit_of_work(db.session):
        tasks = db.session.execute(select(Task.id).where(Task.request_id == request_id)
                                   .order_by(Task.created_at, Task.id)).scalars().all()
        assert len(tasks) == len(steps)
        at = filed
        for task_id, step in zip(tasks, steps, strict=True):
            db.session.execute(update(Task).where(Task.id == task_id).values(
                created_at=at, completed_at=at + step))
            at += step
        db.session.execute(update(Request).where(Request.id == request_id).values(
            created_at=filed, sealed_at=sealed))


def _set_policy(app, seal_id: int, **changes) -> None:
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, seal_id), actor=None, **changes)


def _sealed(org, pdf: bytes) -> int:
    req = submit(org.alice, org.seal_id, pdf).get_json()
    assert approve(org.bob).status_code == 200
    assert approve(org.carol).status_code == 200
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
    return req["id"]


def _approve_on(approver, request_id: int) -> None:
    [task] = [t for t in approver.get("/api/v1/tasks").get_json()
              if t["request_id"] == request_id]
    resp = approver.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert resp.status_code == 200, resp.get_json()


@pytest.fixture
def watched(org, api, app, pdf):
    """Four contract requests sealed, at times set two and one months ago; one refused at
    filing (pages), one at its authorized end (approvals); two waiting (one on the head,
    one overdue on legal); two incidents of another flow, one retried after a correction."""
    first, second = _months_back(2), _months_back(1)
    steps = [(timedelta(hours=h), timedelta(minutes=10 * h)) for h in (1, 2, 3, 4)]
    sealed_at = [first + timedelta(days=19),
                 second - timedelta(minutes=30) + timedelta(hours=1),  # 00:30 on the 1st
                 second + timedelta(days=10), second + timedelta(days=11)]
    ids = [_sealed(org, pdf) for _ in steps]
    for request_id, (head, custodian), at in zip(ids, steps, sealed_at, strict=True):
        _set_times(app, request_id, second + timedelta(days=2), [head, custodian], at)

    _set_policy(app, org.seal_id, max_pages=0)
    refused = submit(org.alice, org.seal_id, pdf)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "policy_refused"
    _set_policy(app, org.seal_id, max_pages=None, min_approvals=3)
    failed = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{failed['id']}").get_json()["status"] == "failed"
    _set_policy(app, org.seal_id, min_approvals=None)

    submit(org.alice, org.seal_id, pdf)  # waits on bob, the head (named, in no group)
    legal = submit(org.alice, org.seal_id, pdf,
                   data={"amount": 2_500_000, "purpose": "框架协议"}).get_json()
    _approve_on(org.bob, legal["id"])  # now waits on legal (the lane's group)
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(Task).where(Task.request_id == legal["id"],
                                              Task.completed_at.is_(None))
                           .values(due_at=utcnow() - timedelta(hours=1)))

    admin = api("root", roles=["admin"])
    assert deploy_bytes(org.designer, {"fragile.bpmn": BAD_CONDITION}).status_code == 201
    stuck = [submit(org.alice, org.seal_id, pdf, process="fragile", data={}).get_json()
             for _ in range(2)]
    for req in stuck:
        _approve_on(org.carol, req["id"])
    retried = admin.post(f"/api/v1/requests/{stuck[1]['id']}/retry",
                         json={"variables": {"risk_score": 1}})
    assert retried.status_code == 200, retried.get_json()
    assert org.alice.get(f"/api/v1/requests/{stuck[1]['id']}").get_json()["status"] == "sealed"
    return org


def test_the_figures_follow_what_the_flow_did(watched, api):
    audrey = api("audrey", roles=["auditor"])
    first, today = _months_back(2).date(), utcnow().astimezone(ZoneInfo(timezone_name())).date()
    resp = audrey.get(f"/api/v1/dashboard?from={first}&flow=contract_seal")
    assert resp.status_code == 200, resp.get_json()
    found = resp.get_json()
    assert found["filters"] == {"from": str(first), "to": str(today), "flow": "contract_seal"}

    uses = found["seal_uses"]
    assert len(uses["months"]) == 3 and uses["months"][0] == first.strftime("%Y-%m")
    # The one sealed at 00:30 on the first of the month counts in that month, not the last.
    assert [(s["id"], s["uses"], s["total"]) for s in uses["seals"]] == \
        [(watched.seal_id, [1, 3, 0], 4)]

    # The head took 1, 2, 3, 4 hours, the custodian 10 to 40 minutes; the request refused at
    # its end was decided by both at once today, and the head passed the legal one on at once:
    # nearest rank of six and of five.
    steps = {s["step"]: s for s in found["lead_times"]["steps"]}
    head, custodian = steps["dept_head_approve"], steps["custodian_approve"]
    assert (head["tasks"], head["median_seconds"], head["p90_seconds"]) == (6, HOUR, 4 * HOUR)
    assert (custodian["tasks"], custodian["median_seconds"], custodian["p90_seconds"]) == \
        (5, 20 * 60, 40 * 60)
    assert head["name"] == "部门负责人审批" and head["flow_name"]
    # From filing to the last decision: 70, 140, 210, 280 minutes, and the refused one's
    # moment; the two still waiting are not decided.
    [flow] = found["lead_times"]["flows"]
    assert (flow["flow"], flow["requests"], flow["median_seconds"], flow["p90_seconds"]) == \
        ("contract_seal", 5, 140 * 60, 280 * 60)

    groups = {g["group"]: g for g in found["tasks"]["groups"]}
    assert (groups["legal"]["open"], groups["legal"]["overdue"]) == (1, 1)
    assert (groups[None]["open"], groups[None]["overdue"]) == (1, 0)

    rules = {r["rule"]: r for r in found["refusals"]["rules"]}
    assert rules["max_pages"]["stages"] == {"filing": 1, "authorized": 0, "sealing": 0}
    assert rules["min_approvals"]["stages"] == {"filing": 0, "authorized": 1, "sealing": 0}
    assert found["refusals"]["total"] == 2
    assert found["incidents"]["flows"] == []  # the contract flow had none


def test_incidents_open_and_resolved_per_flow(watched, api):
    manager = api("max", roles=["manager"])
    found = manager.get("/api/v1/dashboard").get_json()
    assert [(f["flow"], f["open"], f["resolved"]) for f in found["incidents"]["flows"]] == \
        [("fragile", 1, 1)]
    assert (found["incidents"]["open"], found["incidents"]["resolved"]) == (1, 1)


def test_each_filter_narrows_every_figure(watched, api, make_seal):
    audrey = api("audrey", roles=["auditor"])
    first = _months_back(2).date()
    other_seal = make_seal(["carol"], name="财务专用章")
    for args in (f"seal={other_seal}", "group=legal", "flow=seal_lending",
                 "business_type=nothing"):
        found = audrey.get(f"/api/v1/dashboard?from={first}&{args}").get_json()
        assert found["seal_uses"]["seals"] == [], args
        assert found["lead_times"] == {"flows": [], "steps": []}, args
        assert found["tasks"]["groups"] == [], args
        assert found["refusals"]["rules"] == [], args
        assert found["incidents"]["flows"] == [], args
    mine = audrey.get(f"/api/v1/dashboard?from={first}&group=sales&seal={watched.seal_id}")
    assert mine.get_json()["seal_uses"]["total"] == 5  # the four, and the retried incident
    # Only this month: the four sealed before it are out of range.
    this_month = audrey.get(f"/api/v1/dashboard?from={_months_back(0).date()}").get_json()
    assert this_month["seal_uses"]["total"] == 1


@pytest.mark.parametrize("query, says", [
    ("from=2026-13-01", "from must be a day written YYYY-MM-DD"),
    ("from=2026-05-02&to=2026-05-01", "from must not be after to"),
    ("from=1990-01-01&to=2026-01-01", "the range may span at most 120 months"),
    ("seal=x", "seal must be a seal's id"),
])
def test_bad_filters_are_refused_saying_which(app, api, query, says):
    audrey = api("audrey", roles=["auditor"])
    resp = audrey.get(f"/api/v1/dashboard?{query}")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"].startswith(says)


def test_only_managers_auditors_and_admins_see_it(app, api, login):
    for name, roles, status in (("alice", [], 403), ("dana", ["designer"], 403),
                                ("max", ["manager"], 200), ("audrey", ["auditor"], 200),
                                ("root", ["admin"], 200)):
        assert api(name, roles=roles).get("/api/v1/dashboard?from=bad").status_code == \
            (403 if status == 403 else 400)
        page = login(name)
        assert page.get("/dashboard").status_code == status
        assert ('href="/dashboard"' in page.get("/me").text) == (status == 200)


def test_the_page_draws_each_chart_with_its_table(watched, login, make_user):
    first = _months_back(2).date()
    make_user("audrey", roles=["auditor"])
    page = login("audrey")
    html = page.get(f"/dashboard?from={first}&flow=contract_seal").text
    assert html.count("<svg class=\"chart\"") == 5  # uses, flows, steps, tasks, refusals
    assert "<title id=\"chart-uses-t\">Seal uses per month</title>" in html
    assert 'value="contract_seal" selected' in html
    assert "Demanded approvals" not in html and "Number of approvals" in html
    zh = login("audrey", language="zh-CN,zh;q=0.9").get(f"/dashboard?from={first}").text
    assert "印章使用" in zh and "中位数" in zh
    bad = page.get("/dashboard?from=2026-13-01")
    assert bad.status_code == 200 and "from must be a day written YYYY-MM-DD" in bad.text


def test_a_refusal_at_sealing_is_counted_with_its_rule(app, org, pdf, api, make_user):
    assert deploy(org.designer, GUARDED).status_code == 201
    _set_policy(app, org.seal_id, demands=[{"kind": "custodian"}])
    runner(app).mode = "external"  # sealed by the sweep below, once the custodian changed
    rid = submit(org.alice, org.seal_id, pdf, process="guarded", data={}).get_json()["id"]
    _approve_on(org.carol, rid)
    make_user("dave")
    with app.app_context(), unit_of_work(db.session):
        db.session.get(Seal, org.seal_id).custodians = [directory.get_user(db.session, "dave")]
    assert runner(app).sweep() == 1
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "failed"
    audrey = api("audrey", roles=["auditor"])
    found = audrey.get("/api/v1/dashboard?group=sales&flow=guarded").get_json()
    assert found["refusals"] == {"rules": [{"rule": "demands", "count": 1, "stages": {
        "filing": 0, "authorized": 0, "sealing": 1}}], "total": 1}


def test_a_refusal_at_filing_from_the_page_is_counted_and_nothing_else_is_written(
        app, org, pdf, api, login):
    _set_policy(app, org.seal_id, business_types=["hr"])
    resp = login("alice").post("/requests/new", data={
        "process": "contract_seal", "seal": str(org.seal_id), "data.amount": "12",
        "data.purpose": "采购合同", "document": (io.BytesIO(pdf), "a.pdf")},
        headers={"Accept": "application/json"}, content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "policy_refused"
    assert org.alice.get("/api/v1/requests").get_json() == []
    found = api("audrey", roles=["auditor"]).get(
        f"/api/v1/dashboard?seal={org.seal_id}&flow=contract_seal").get_json()
    assert found["refusals"]["rules"] == [{"rule": "business_types", "count": 1, "stages": {
        "filing": 1, "authorized": 0, "sealing": 0}}]


def test_the_figures_cost_the_same_statements_however_many_rows(watched, api, app):
    from tests.e2e.test_query_budget import statements
    audrey = api("audrey", roles=["auditor"])
    audrey.get("/api/v1/dashboard")  # the token's last use written: not counted below
    counts = []
    for query in (f"from={_months_back(2).date()}", "from=2000-01-01&to=2000-01-31"):
        with statements(app) as seen:
            assert audrey.get(f"/api/v1/dashboard?{query}").status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 12, counts
