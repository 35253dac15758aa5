"""BPMN coverage, through the API only: gateways (parallel, inclusive), an embedded subprocess
with an error boundary, a call activity across two files deployed together, multi-instance user
tasks (all must approve, any one suffices, sequential), an uncaught error end event, and the
refusal of event-based gateways. Each flow is under tests/e2e/data/<scenario>/, written as Camunda
Modeler 5 writes Camunda 7 flows (without diagram interchange).

The cast (conftest ``org``): alice requests (sales, head bob), lily is in legal, carol holds the
seal; fred (finance) is added here. Instance variables are not visible through the API, so what
``decision`` and ``decisions`` hold after a countersign is checked by gateways routing on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ApiClient, deploy_bytes, only_task, submit

DATA = Path(__file__).parent / "data"


def _files(scenario: str, *more: str) -> dict[str, bytes]:
    """The scenario's flow first (the first `file` part is the flow), then called files."""
    names = [f"{scenario}.bpmn", *more]
    return {name: (DATA / scenario / name).read_bytes() for name in names}


def _deploy(designer: ApiClient, scenario: str, *more: str) -> dict:
    resp = deploy_bytes(designer, _files(scenario, *more))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["key"] == scenario and body["version"] == 1
    return body


def _start(org, process: str, data: dict | None = None, *, pdf: bytes) -> dict:
    resp = submit(org.alice, org.seal_id, pdf, process=process, data=data or {})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "running", (body["status"], body["failure"])
    return body


def _tasks(user: ApiClient) -> list[dict]:
    resp = user.get("/api/v1/tasks")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _elements(user: ApiClient) -> list[str]:
    return sorted(t["element_id"] for t in _tasks(user))


def _complete(user: ApiClient, task: dict, decision: str | None = "approve",
              comment: str | None = None, **data: Any):
    body: dict[str, Any] = {"data": data}
    if decision is not None:
        body["decision"] = decision
    if comment is not None:
        body["comment"] = comment
    return user.post(f"/api/v1/tasks/{task['id']}/complete", json=body)


def _work(user: ApiClient, decision: str = "approve", **data: Any) -> dict:
    """``user`` completes their only open task; returns the request as the response gives it."""
    resp = _complete(user, only_task(user), decision, **data)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["request"]
    assert body["status"] != "incident", body["failure"]
    return body


def _request(org, rid: int) -> dict:
    resp = org.alice.get(f"/api/v1/requests/{rid}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _history(body: dict) -> list[tuple[str, str, str]]:
    return [(h["element"], h["by"], h["decision"]) for h in body["history"]]


def _assert_ended(body: dict, status: str) -> None:
    assert body["status"] == status, (body["status"], body["failure"], body["tasks"])
    assert body["tasks"] == [], body
    assert body["failure"] is None, body


@pytest.fixture
def cast(org, api):
    org.fred = api("fred", groups=["finance"])
    return org


# -- parallel gateway ---------------------------------------------------------------------------

@pytest.fixture
def parallel(cast):
    _deploy(cast.designer, "parallel_gateway")
    return cast


def test_parallel_reviews_are_open_at_once_and_both_approvals_authorize(parallel, pdf):
    req = _start(parallel, "parallel_gateway", pdf=pdf)
    assert sorted(t["element_id"] for t in req["tasks"]) == ["custodian_review", "legal_review"]
    legal = only_task(parallel.lily)
    custodian = only_task(parallel.carol)
    assert (legal["element_id"], legal["candidate_groups"]) == ("legal_review", ["legal"])
    assert (custodian["element_id"], custodian["candidate_users"]) == (
        "custodian_review", ["carol"])
    assert [f["id"] for f in legal["form"]] == ["legal_verdict"]
    assert legal["form"][0]["required"] and legal["form"][0]["type"] == "enum"
    assert _tasks(parallel.bob) == []

    missing = _complete(parallel.lily, legal, "approve")
    assert missing.status_code == 422
    assert missing.get_json()["error"]["problems"][0]["field"] == "legal_verdict"

    after_legal = _work(parallel.lily, "approve", legal_verdict="approve")
    assert after_legal["status"] == "running"  # the join waits for the custodian
    assert [t["element_id"] for t in after_legal["tasks"]] == ["custodian_review"]
    assert _tasks(parallel.lily) == []
    assert only_task(parallel.carol)["id"] == custodian["id"]

    _work(parallel.carol, "approve", custodian_verdict="approve")
    body = _request(parallel, req["id"])
    _assert_ended(body, "sealed")
    assert sorted(_history(body)) == [("custodian_review", "carol", "approve"),
                                      ("legal_review", "lily", "approve")]


def test_parallel_a_rejection_on_one_branch_rejects_whoever_finishes_last(parallel, pdf):
    """The last branch to reach the join wins a shared `decision`; the per-branch verdicts do
    not collide, so legal's rejection holds although the custodian approved after it."""
    req = _start(parallel, "parallel_gateway", pdf=pdf)
    assert _work(parallel.lily, "reject", legal_verdict="reject")["status"] == "running"
    _work(parallel.carol, "approve", custodian_verdict="approve")
    body = _request(parallel, req["id"])
    _assert_ended(body, "rejected")
    assert sorted(_history(body)) == [("custodian_review", "carol", "approve"),
                                      ("legal_review", "lily", "reject")]


def test_parallel_custodian_rejects_first_legal_approves_last(parallel, pdf):
    req = _start(parallel, "parallel_gateway", pdf=pdf)
    _work(parallel.carol, "reject", custodian_verdict="reject")
    assert _elements(parallel.lily) == ["legal_review"]
    _work(parallel.lily, "approve", legal_verdict="approve")
    _assert_ended(_request(parallel, req["id"]), "rejected")


# -- inclusive gateway --------------------------------------------------------------------------

@pytest.fixture
def inclusive(cast):
    _deploy(cast.designer, "inclusive_gateway")
    return cast


def _inboxes(org) -> dict[str, list[str]]:
    return {u.user: _elements(u) for u in (org.bob, org.lily, org.fred, org.carol)}


def test_inclusive_no_condition_holds_takes_the_default_flow(inclusive, pdf):
    req = _start(inclusive, "inclusive_gateway", {"amount": 50000}, pdf=pdf)
    assert _inboxes(inclusive) == {"bob": ["head_review"], "lily": [], "fred": [], "carol": []}
    _work(inclusive.bob)
    body = _request(inclusive, req["id"])
    _assert_ended(body, "sealed")
    assert _history(body) == [("head_review", "bob", "approve")]


def test_inclusive_one_condition_activates_one_branch(inclusive, pdf):
    req = _start(inclusive, "inclusive_gateway", {"amount": 2000000}, pdf=pdf)
    assert _inboxes(inclusive) == {"bob": [], "lily": ["legal_review"], "fred": [], "carol": []}
    _work(inclusive.lily)
    _assert_ended(_request(inclusive, req["id"]), "sealed")


def test_inclusive_both_conditions_activate_both_branches_and_join(inclusive, pdf):
    req = _start(inclusive, "inclusive_gateway",
                 {"amount": 2000000, "foreign_currency": True}, pdf=pdf)
    assert _inboxes(inclusive) == {"bob": [], "lily": ["legal_review"],
                                   "fred": ["finance_review"], "carol": []}
    after_one = _work(inclusive.fred)
    assert after_one["status"] == "running"  # the join waits for legal
    assert [t["element_id"] for t in after_one["tasks"]] == ["legal_review"]
    _work(inclusive.lily)
    body = _request(inclusive, req["id"])
    _assert_ended(body, "sealed")
    assert sorted(_history(body)) == [("finance_review", "fred", "approve"),
                                      ("legal_review", "lily", "approve")]


def test_inclusive_the_flag_alone_sends_it_to_finance(inclusive, pdf):
    _start(inclusive, "inclusive_gateway", {"amount": 1000, "foreign_currency": "true"}, pdf=pdf)
    assert _inboxes(inclusive) == {"bob": [], "lily": [], "fred": ["finance_review"],
                                   "carol": []}


def test_inclusive_a_rejection_terminates_the_other_branch(inclusive, pdf):
    req = _start(inclusive, "inclusive_gateway",
                 {"amount": 2000000, "foreign_currency": True}, pdf=pdf)
    resp = _work(inclusive.lily, "reject")
    _assert_ended(resp, "rejected")
    assert _tasks(inclusive.fred) == []  # the terminate end event cancelled finance's task
    body = _request(inclusive, req["id"])
    assert _history(body) == [("legal_review", "lily", "reject")]


# -- embedded subprocess with an error boundary ------------------------------------------------

@pytest.fixture
def embedded(cast):
    _deploy(cast.designer, "embedded_subprocess")
    return cast


def test_subprocess_task_is_in_the_inbox_and_the_flow_continues_after_it(embedded, pdf):
    req = _start(embedded, "embedded_subprocess", pdf=pdf)
    assert req["status"] == "running", req
    task = only_task(embedded.lily)
    assert task["element_id"] == "legal_review"
    assert task["name"] == "法务审核 Legal review"
    assert task["candidate_groups"] == ["legal"]
    assert [(f["id"], f["required"]) for f in task["form"]] == [("legal_opinion", True)]
    assert _tasks(embedded.carol) == []

    missing = _complete(embedded.lily, task, "approve")
    assert missing.status_code == 422  # the subprocess task's own form is enforced
    _work(embedded.lily, "approve", legal_opinion="条款无异议")
    assert _elements(embedded.carol) == ["custodian_approve"]
    _work(embedded.carol)
    body = _request(embedded, req["id"])
    _assert_ended(body, "sealed")
    assert _history(body) == [("legal_review", "lily", "approve"),
                              ("custodian_approve", "carol", "approve")]


def test_subprocess_error_end_is_caught_by_the_boundary_and_rejects(embedded, pdf):
    req = _start(embedded, "embedded_subprocess", pdf=pdf)
    resp = _work(embedded.lily, "reject", legal_opinion="违约条款不可接受")
    _assert_ended(resp, "rejected")
    assert _tasks(embedded.carol) == []  # the error left the subprocess for the rejected end
    assert _history(_request(embedded, req["id"])) == [("legal_review", "lily", "reject")]


# -- call activity across two files --------------------------------------------------------------

@pytest.fixture
def called(cast):
    _deploy(cast.designer, "call_activity", "sub_review.bpmn")
    return cast


def test_a_call_activity_needs_its_called_file_in_the_deploy(cast):
    resp = deploy_bytes(cast.designer, _files("call_activity"))
    assert resp.status_code == 422, resp.get_json()
    problems = resp.get_json()["error"]["problems"]
    assert any("sub_review" in p["message"] for p in problems), problems
    listed = [p["key"] for p in cast.designer.get("/api/v1/processes").get_json()]
    assert "call_activity" not in listed


def test_call_activity_runs_the_called_task_and_its_result_routes(called, pdf):
    listed = {p["key"]: p for p in called.designer.get("/api/v1/processes").get_json()}
    assert listed["call_activity"]["version"] == 1
    req = _start(called, "call_activity", pdf=pdf)  # review_group defaults to legal
    task = only_task(called.lily)
    assert task["element_id"] == "group_review"
    assert task["candidate_groups"] == ["legal"]
    assert [f["id"] for f in task["form"]] == ["review_outcome"]
    assert _tasks(called.fred) == []

    _work(called.lily, "approve", review_outcome="pass")  # data out: routes the main flow
    assert _elements(called.carol) == ["custodian_approve"]
    _work(called.carol)
    body = _request(called, req["id"])
    _assert_ended(body, "sealed")
    assert _history(body) == [("group_review", "lily", "approve"),
                              ("custodian_approve", "carol", "approve")]


def test_call_activity_gets_the_callers_variables_and_returns_its_result(called, pdf):
    req = _start(called, "call_activity", {"review_group": "finance"}, pdf=pdf)
    assert _tasks(called.lily) == []  # data in: the called task went to finance
    assert _elements(called.fred) == ["group_review"]
    resp = _work(called.fred, "approve", review_outcome="fail")
    _assert_ended(resp, "rejected")  # data out: review_outcome took the default flow
    assert _tasks(called.carol) == []
    assert _history(_request(called, req["id"])) == [("group_review", "fred", "approve")]


# -- multi-instance user tasks --------------------------------------------------------------------

APPROVERS = ["bob", "lily", "carol"]


def _countersign(org) -> dict[str, ApiClient]:
    return {"bob": org.bob, "lily": org.lily, "carol": org.carol}


@pytest.fixture
def mi_all(cast):
    _deploy(cast.designer, "mi_all")
    return cast


def test_mi_all_every_approver_gets_an_instance_and_all_approvals_authorize(mi_all, pdf):
    req = _start(mi_all, "mi_all", {"approvers": APPROVERS}, pdf=pdf)
    assert req["status"] == "running", req
    people = _countersign(mi_all)
    tasks = {name: only_task(user) for name, user in people.items()}
    for name, task in tasks.items():
        assert (task["element_id"], task["assignee"]) == ("countersign", name)
        assert task["name"] == "会签 Countersign"
    assert len({t["id"] for t in tasks.values()}) == 3
    assert sorted(t["assignee"] for t in req["tasks"]) == sorted(APPROVERS)
    # an instance is its assignee's alone
    assert _complete(mi_all.lily, tasks["bob"]).status_code in (403, 404)

    assert _work(mi_all.bob)["status"] == "running"
    assert _work(mi_all.carol)["status"] == "running"
    assert _tasks(mi_all.bob) == [] and _tasks(mi_all.carol) == []
    _work(mi_all.lily)
    body = _request(mi_all, req["id"])
    _assert_ended(body, "sealed")  # the gateway saw decision approve and three approving votes
    assert sorted(_history(body)) == [("countersign", n, "approve") for n in sorted(APPROVERS)]


def test_mi_all_one_rejection_ends_it_and_cancels_the_open_instances(mi_all, pdf):
    req = _start(mi_all, "mi_all", {"approvers": APPROVERS}, pdf=pdf)
    _work(mi_all.bob)
    resp = _work(mi_all.lily, "reject")  # decision is reject although bob approved
    _assert_ended(resp, "rejected")
    assert _tasks(mi_all.carol) == []  # carol's instance disappeared from her inbox
    body = _request(mi_all, req["id"])
    # instances created together have no order between them in the history
    assert sorted(_history(body)) == [("countersign", "bob", "approve"),
                                      ("countersign", "lily", "reject")]


def test_mi_all_a_first_rejection_is_enough(mi_all, pdf):
    req = _start(mi_all, "mi_all", {"approvers": APPROVERS}, pdf=pdf)
    _work(mi_all.carol, "reject")
    _assert_ended(_request(mi_all, req["id"]), "rejected")
    assert _tasks(mi_all.bob) == [] and _tasks(mi_all.lily) == []


@pytest.fixture
def mi_any(cast):
    _deploy(cast.designer, "mi_any")
    return cast


def test_mi_any_the_first_approval_suffices_and_the_rest_are_cancelled(mi_any, pdf):
    req = _start(mi_any, "mi_any", {"approvers": APPROVERS}, pdf=pdf)
    assert sorted(t["assignee"] for t in req["tasks"]) == sorted(APPROVERS)
    resp = _work(mi_any.lily)
    assert resp["status"] in ("authorized", "sealed"), resp
    assert _tasks(mi_any.bob) == [] and _tasks(mi_any.carol) == []
    body = _request(mi_any, req["id"])
    _assert_ended(body, "sealed")
    assert _history(body) == [("countersign", "lily", "approve")]


def test_mi_any_a_rejection_waits_for_the_others_and_a_later_approval_wins(mi_any, pdf):
    """``decision`` is reject once anyone rejected; the flow reads ``decisions`` instead."""
    req = _start(mi_any, "mi_any", {"approvers": APPROVERS}, pdf=pdf)
    after = _work(mi_any.bob, "reject")
    assert after["status"] == "running"
    assert sorted(t["assignee"] for t in after["tasks"]) == ["carol", "lily"]
    _work(mi_any.carol)
    assert _tasks(mi_any.lily) == []
    body = _request(mi_any, req["id"])
    _assert_ended(body, "sealed")
    assert sorted(_history(body)) == [("countersign", "bob", "reject"),
                                      ("countersign", "carol", "approve")]


def test_mi_any_everyone_rejecting_rejects(mi_any, pdf):
    req = _start(mi_any, "mi_any", {"approvers": APPROVERS}, pdf=pdf)
    for user in (mi_any.carol, mi_any.bob):
        assert _work(user, "reject")["status"] == "running"
    _assert_ended(_work(mi_any.lily, "reject"), "rejected")
    assert len(_request(mi_any, req["id"])["history"]) == 3


@pytest.fixture
def mi_seq(cast):
    _deploy(cast.designer, "mi_sequential")
    return cast


def test_mi_sequential_approvers_work_one_after_the_other(mi_seq, pdf):
    req = _start(mi_seq, "mi_sequential", {"approvers": ["lily", "bob", "carol"]}, pdf=pdf)
    assert [t["assignee"] for t in req["tasks"]] == ["lily"]
    assert _tasks(mi_seq.bob) == [] and _tasks(mi_seq.carol) == []
    after_lily = _work(mi_seq.lily)
    assert [t["assignee"] for t in after_lily["tasks"]] == ["bob"]
    assert _tasks(mi_seq.lily) == [] and _tasks(mi_seq.carol) == []
    after_bob = _work(mi_seq.bob)
    assert [t["assignee"] for t in after_bob["tasks"]] == ["carol"]
    _work(mi_seq.carol)
    body = _request(mi_seq, req["id"])
    _assert_ended(body, "sealed")
    assert _history(body) == [("countersign", "lily", "approve"), ("countersign", "bob", "approve"),
                              ("countersign", "carol", "approve")]


def test_mi_sequential_a_rejection_ends_it_before_the_next_approver(mi_seq, pdf):
    req = _start(mi_seq, "mi_sequential", {"approvers": ["lily", "bob", "carol"]}, pdf=pdf)
    _work(mi_seq.lily)
    _assert_ended(_work(mi_seq.bob, "reject"), "rejected")
    assert _tasks(mi_seq.carol) == []  # carol never got the task
    assert _history(_request(mi_seq, req["id"])) == [("countersign", "lily", "approve"),
                                                     ("countersign", "bob", "reject")]


# -- an uncaught error end event -------------------------------------------------------------------

@pytest.fixture
def error_end(cast):
    _deploy(cast.designer, "error_end")
    return cast


def test_an_uncaught_error_end_event_ends_the_request_rejected_not_in_an_incident(error_end, pdf):
    req = _start(error_end, "error_end", pdf=pdf)
    resp = _work(error_end.bob, "reject")
    _assert_ended(resp, "rejected")
    assert _tasks(error_end.carol) == []
    body = _request(error_end, req["id"])
    _assert_ended(body, "rejected")
    assert _history(body) == [("head_approve", "bob", "reject")]


def test_the_error_end_flow_still_authorizes_on_its_main_path(error_end, pdf):
    req = _start(error_end, "error_end", pdf=pdf)
    _work(error_end.bob)
    _work(error_end.carol)
    _assert_ended(_request(error_end, req["id"]), "sealed")


# -- event-based gateway: refused at deploy --------------------------------------------------------

def test_an_event_based_gateway_is_refused_at_deploy_with_a_clear_message(cast):
    resp = deploy_bytes(cast.designer, _files("event_based_gateway"))
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_process"
    problems = [p for p in err["problems"] if p["severity"] == "error"]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem["element"] == "wait_for_counterparty"
    assert problem["line"] is not None
    assert "event-based gateway" in problem["message"]
    assert "not supported" in problem["message"]
    listed = [p["key"] for p in cast.designer.get("/api/v1/processes").get_json()]
    assert "event_based_gateway" not in listed
