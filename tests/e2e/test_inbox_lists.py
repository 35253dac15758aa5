"""The inbox's lists through the API (issue 12): tabs and their counts, filters, search, sort,
pages, the next task after a decision, and bulk approval with a result per task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from processes.db import unit_of_work
from processes.models import User, utcnow
from processes.task_models import Task
from tests.conftest import CONTRACT_BPMN, deploy_bytes, make_pdf, submit


def _ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.get_json()
    return [t["request_id"] for t in resp.get_json()]


def _tasks(client, **args) -> list[dict]:
    resp = client.get("/api/v1/tasks", query_string=args)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _submit(org, pdf, amount=50000, client=None, **kw) -> int:
    resp = submit(client or org.alice, kw.pop("seal", org.seal_id), pdf,
                  data={"amount": amount, "purpose": "采购合同"}, **kw)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _set(app, request_id: int, **values) -> None:
    """Set a column of the request's open task (a due date the flow would compute)."""
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(Task).where(Task.request_id == request_id,
                                              Task.status == "open").values(**values))


def test_each_tab_holds_its_tasks_and_the_counts_say_how_many(app, org, pdf, api):
    first, second, third = (_submit(org, pdf) for _ in range(3))
    # bob is named among the department head step's candidate users: his "groups" tab.
    assert _ids(org.bob.get("/api/v1/tasks?tab=groups")) == [first, second, third]
    claim = _tasks(org.bob)[1]["id"]
    assert org.bob.post(f"/api/v1/tasks/{claim}/claim").status_code == 200
    decided = _tasks(org.bob)[2]
    assert org.bob.post(f"/api/v1/tasks/{decided['id']}/complete",
                        json={"decision": "approve", "comment": "同意"}).status_code == 200

    assert _ids(org.bob.get("/api/v1/tasks?tab=groups")) == [first]
    assert _ids(org.bob.get("/api/v1/tasks?tab=claimed")) == [second]
    done = _tasks(org.bob, tab="done")
    assert [(t["id"], t["status"], t["decision"]) for t in done] == \
        [(decided["id"], "completed", "approve")]
    assert done[0]["completed_at"] and done[0]["request"]["requester"] == "alice"
    assert _tasks(org.bob, tab="mine") == [] and _tasks(org.bob, tab="cc") == []
    # Without a tab: every task bob may work now, as the list always answered.
    resp = org.bob.get("/api/v1/tasks")
    assert _ids(resp) == [first, second] and resp.headers["X-Total-Count"] == "2"
    assert org.bob.get("/api/v1/tasks/counts").get_json() == \
        {"mine": 0, "groups": 1, "claimed": 1, "done": 1, "cc": 0, "all": 2}
    # The requester and a bystander have nothing to work; the custodian has the decided one.
    assert org.alice.get("/api/v1/tasks/counts").get_json()["all"] == 0
    assert api("pat").get("/api/v1/tasks/counts").get_json() == \
        {"mine": 0, "groups": 0, "claimed": 0, "done": 0, "cc": 0, "all": 0}
    # A task assigned to bob by name is "mine".
    text = CONTRACT_BPMN.read_bytes().replace(b'camunda:candidateUsers="${requester_heads}"',
                                              b'camunda:assignee="bob"')
    dmn = CONTRACT_BPMN.with_name("contract_routing.dmn")
    assert deploy_bytes(org.designer, {"contract_seal.bpmn": text,
                                       dmn.name: dmn.read_bytes()}).status_code == 201
    assigned = _submit(org, pdf)
    assert _ids(org.bob.get("/api/v1/tasks?tab=mine")) == [assigned]
    assert org.bob.get("/api/v1/tasks/counts").get_json()["mine"] == 1


def test_filters_search_sort_and_pages(app, org, pdf, api, make_seal):
    api("amy", groups=["sales"])
    amy = api("amy")
    other_seal = make_seal(["carol"], name="测试科技有限公司财务专用章")
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(User).where(User.name == "amy").values(display_name="张敏"))
    a = _submit(org, pdf)
    b = _submit(org, pdf, client=amy)
    c = _submit(org, make_pdf(text="Lease"), seal=other_seal)
    d = _submit(org, pdf, client=amy)
    now = utcnow()
    _set(app, a, due_at=now + timedelta(days=3))
    _set(app, b, due_at=now - timedelta(hours=1))
    _set(app, d, due_at=now + timedelta(days=30))

    assert _ids(org.bob.get(f"/api/v1/tasks?seal={other_seal}")) == [c]
    assert _ids(org.bob.get("/api/v1/tasks?requester=amy")) == [b, d]
    assert _ids(org.bob.get("/api/v1/tasks?business_type=none")) == []
    assert _ids(org.bob.get("/api/v1/tasks?due=overdue")) == [b]
    assert _ids(org.bob.get("/api/v1/tasks?due=today")) == [b]
    assert _ids(org.bob.get("/api/v1/tasks?due=week")) == [a, b]
    overdue = {t["request_id"]: t["overdue"] for t in _tasks(org.bob)}
    assert overdue == {a: False, b: True, c: False, d: False}
    # Search: the requester's display name or name, the request's number, the task's name.
    assert _ids(org.bob.get("/api/v1/tasks", query_string={"q": "张敏"})) == [b, d]
    assert _ids(org.bob.get("/api/v1/tasks", query_string={"q": "AMY"})) == [b, d]
    assert _ids(org.bob.get("/api/v1/tasks", query_string={"q": f"#{c}"})) == [c]
    assert _ids(org.bob.get("/api/v1/tasks", query_string={"q": "部门负责"})) == [a, b, c, d]
    assert _ids(org.bob.get("/api/v1/tasks", query_string={"q": "100%_"})) == []
    # Sort: by due date (none last), either way; by creation, newest first.
    assert _ids(org.bob.get("/api/v1/tasks?sort=due")) == [b, a, d, c]
    assert _ids(org.bob.get("/api/v1/tasks?sort=-due")) == [c, d, a, b]
    assert _ids(org.bob.get("/api/v1/tasks?sort=-created")) == [d, c, b, a]
    # Pages, with the tab's total under the filters.
    resp = org.bob.get("/api/v1/tasks?limit=2&offset=1")
    assert _ids(resp) == [b, c] and resp.headers["X-Total-Count"] == "4"
    resp = org.bob.get("/api/v1/tasks?limit=1&requester=amy")
    assert _ids(resp) == [b] and resp.headers["X-Total-Count"] == "2"
    for bad in ("tab=later", "due=soon", "sort=amount", "seal=x", "limit=0",
                "q=" + "x" * 101):
        resp = org.bob.get(f"/api/v1/tasks?{bad}")
        assert resp.status_code == 400 and resp.get_json()["error"]["message"], bad


def test_the_next_task_follows_the_decided_one_in_the_tab_order(org, pdf):
    first, second, third = (_submit(org, pdf) for _ in range(3))
    tasks = {t["request_id"]: t["id"] for t in _tasks(org.bob)}
    assert org.bob.post(f"/api/v1/tasks/{tasks[second]}/complete",
                        json={"decision": "approve"}).status_code == 200
    # The decided task left the tab; the one after its place comes next, in either order.
    after = org.bob.get(f"/api/v1/tasks/next?after={tasks[second]}").get_json()["task"]
    assert after["request_id"] == third
    back = org.bob.get(f"/api/v1/tasks/next?after={tasks[second]}&sort=-created").get_json()
    assert back["task"]["request_id"] == first
    # Past the end: back to the tab's first task; without `after`: the first.
    assert org.bob.get(f"/api/v1/tasks/next?after={tasks[third]}").get_json()["task"][
        "request_id"] == first
    assert org.bob.get("/api/v1/tasks/next").get_json()["task"]["request_id"] == first
    assert org.alice.get("/api/v1/tasks/next").get_json() == {"task": None}


def test_bulk_approval_reports_each_task_and_one_failure_undoes_no_other(app, org, pdf):
    first, second = _submit(org, pdf), _submit(org, pdf)
    big = _submit(org, pdf, amount=5_000_000)
    ids = {t["request_id"]: t["id"] for t in _tasks(org.bob)}
    resp = org.bob.post("/api/v1/tasks/bulk-complete", json={
        "tasks": [ids[first], "no-such-task", ids[second], ids[big]], "decision": "approve",
        "comment": "同意"})
    assert resp.status_code == 200, resp.get_json()
    results = resp.get_json()["results"]
    assert [(r["id"], r["ok"]) for r in results] == [
        (ids[first], True), ("no-such-task", False), (ids[second], True), (ids[big], True)]
    assert results[1]["error"]["status"] == 404 and results[1]["error"]["message"]
    assert _tasks(org.bob) == [] and len(_tasks(org.bob, tab="done")) == 3
    history = org.alice.get(f"/api/v1/requests/{first}").get_json()["history"]
    assert any(h.get("comment") == "同意" for h in history), history

    legal = [t for t in _tasks(org.lily) if t["element_id"] == "legal_review"]
    assert len(legal) == 1, _tasks(org.lily)
    custodian = {t["request_id"]: t["id"] for t in _tasks(org.carol)}
    resp = org.lily.post("/api/v1/tasks/bulk-complete",
                         json={"tasks": [legal[0]["id"], custodian[first]]})
    failed = resp.get_json()["results"]
    assert [r["ok"] for r in failed] == [False, False]
    assert failed[0]["error"]["status"] == 422 and "legal_opinion" in str(failed[0]["error"])
    assert failed[1]["error"]["status"] in (403, 404)  # not lily's to work
    assert len(_tasks(org.lily)) == 1  # nothing changed
    # The requester approves nothing of her own, in bulk or not.
    resp = org.alice.post("/api/v1/tasks/bulk-complete", json={"tasks": [custodian[first]]})
    assert resp.get_json()["results"][0]["ok"] is False


@pytest.mark.parametrize("body", [{}, {"tasks": []}, {"tasks": "abc"}, {"tasks": [1]},
                                  {"tasks": ["a"], "decision": "reject"},
                                  {"tasks": ["a"], "comment": 5},
                                  {"tasks": [f"t{i}" for i in range(101)]}])
def test_a_bulk_approval_it_cannot_read_is_refused_whole(org, body):
    resp = org.bob.post("/api/v1/tasks/bulk-complete", json=body)
    assert resp.status_code == 400 and resp.get_json()["error"]["message"]


def test_requests_alice_cannot_see_stay_out_of_her_lists(org, pdf):
    _submit(org, pdf)
    for tab in ("all", "mine", "groups", "claimed", "done", "cc"):
        assert _tasks(org.alice, tab=tab) == [] and _tasks(org.lily, tab=tab) == []


def test_an_inbox_costs_the_same_statements_however_many_tasks_it_holds(app, org, pdf):
    from tests.e2e.test_query_budget import statements

    def cost() -> list[int]:
        counted = []
        for url in ("/api/v1/tasks?limit=2", "/api/v1/tasks/counts",
                    "/api/v1/tasks?limit=2&q=alice", "/api/v1/tasks/next?after=x"):
            with statements(app) as seen:
                assert org.bob.get(url).status_code == 200
            counted.append(len([s for s in seen if not s.startswith("BEGIN")]))
        return counted

    _submit(org, pdf), _submit(org, pdf)
    few = cost()
    for _ in range(3):
        _submit(org, pdf)
    claimed = _tasks(org.bob)[1]["id"]
    assert org.bob.post(f"/api/v1/tasks/{claimed}/claim").status_code == 200
    # The token, then: the page, its flow definitions, its total; the counts; the same
    # filtered; `after`'s place, the first task (`after` unknown), its flow definitions.
    assert cost() == few == [4, 2, 4, 4], few


def test_done_and_cancelled_tasks_leave_the_candidates_index_and_keep_their_visibility(
        app, org, pdf, api):
    from sqlalchemy import select

    from processes.task_models import TaskCandidate

    api("leo", groups=["legal"])
    leo = api("leo")
    kept, withdrawn = _submit(org, pdf, amount=5_000_000), _submit(org, pdf)
    first = _tasks(org.bob)[0]["id"]
    assert org.bob.post(f"/api/v1/tasks/{first}/complete",
                        json={"decision": "approve"}).status_code == 200
    legal = _tasks(leo)[0]
    assert org.lily.post(f"/api/v1/tasks/{legal['id']}/complete", json={
        "decision": "approve", "data": {"legal_opinion": "可以"}}).status_code == 200
    assert org.alice.post(f"/api/v1/requests/{withdrawn}/withdraw",
                          json={"reason": "不要了"}).status_code == 200

    with app.app_context():
        rows = db.session.execute(select(TaskCandidate.task_id, TaskCandidate.task_open)).all()
    open_ids = {t["id"] for t in _tasks(org.carol)}
    assert {task_id for task_id, is_open in rows if is_open} == open_ids
    # leo was offered the legal review lily did: he still sees the request, not the task.
    assert _tasks(leo) == [] and leo.get(f"/api/v1/requests/{kept}").status_code == 200
