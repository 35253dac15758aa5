"""The inbox page (/inbox) driven like a browser without JavaScript, in English and Chinese:
tabs with counts, filters, search, order and pages in the address; claiming and releasing a
task; approving the selected tasks with a result per task; the requester's empty inbox; the
unread notices and their count in the top bar."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from processes import notices as notices_
from processes.db import unit_of_work
from processes.models import User, utcnow
from processes.notice_models import Notice
from processes.task_models import Task
from tests.conftest import submit

ZH = "zh-CN,zh;q=0.9"


def _submit(org, pdf, amount: int = 50000, purpose: str = "采购合同") -> int:
    resp = submit(org.alice, org.seal_id, pdf, data={"amount": amount, "purpose": purpose})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _rows(page) -> list[int]:
    """The requests of the list's rows, in order."""
    assert page.status_code in (200, 400), page.text[:500]
    return [int(n) for n in re.findall(r'<td class="nowrap num-cell" data-label="[^"]*">#(\d+)<',
                                       page.text)]


def _count(page, label: str) -> int:
    """The count on a tab, by its label."""
    found = re.search(re.escape(label) + r' <span class="count">(\d+)</span>', page.text)
    assert found, (label, page.text[:3000])
    return int(found.group(1))


def _task_ids(org_client) -> dict[int, str]:
    return {t["request_id"]: t["id"] for t in org_client.get("/api/v1/tasks").get_json()}


def _flash(page) -> list[str]:
    return re.findall(r'<p class="flash [a-z]+"[^>]*>([^<]*)</p>', page.text)


def test_tabs_count_their_tasks_and_a_task_is_claimed_and_released(org, login, pdf):
    first, second, third = (_submit(org, pdf) for _ in range(3))
    bob = login("bob")
    page = bob.get("/inbox")
    assert _rows(page) == [first, second, third]
    assert _count(page, "All to do") == 3 and _count(page, "My groups") == 3
    assert _count(page, "Assigned to me") == 0 and _count(page, "Claimed") == 0
    assert "采购合同 · ¥50,000" in page.text and "部门负责人审批" in page.text
    assert f'href="/tasks/{_task_ids(org.bob)[first]}"' in page.text

    task = _task_ids(org.bob)[second]
    claimed = bob.post(f"/inbox/tasks/{task}/claim", data={"tab": "groups", "q": "alice"})
    assert claimed.status_code == 302
    assert claimed.headers["Location"].startswith("/inbox?") and "tab=groups" in \
        claimed.headers["Location"]
    page = bob.get(claimed.headers["Location"])
    assert "Claimed: only you can work it now." in _flash(page)
    assert _rows(page) == [first, third] and _count(page, "Claimed") == 1
    mine = bob.get("/inbox?tab=claimed")
    assert _rows(mine) == [second] and "Claimed by you" in mine.text and ">Release<" in mine.text

    # Someone who is not among the task's people gets the error page, and nothing changes.
    carol = login("carol")
    assert carol.post(f"/inbox/tasks/{task}/unclaim").status_code == 403
    released = bob.post(f"/inbox/tasks/{task}/unclaim", data={"tab": "claimed"},
                        follow_redirects=True)
    assert "Released: others can work it again." in _flash(released)
    assert _rows(released) == [] and _count(released, "Claimed") == 0
    # Released twice: said on the inbox, not an error page.
    again = bob.post(f"/inbox/tasks/{task}/unclaim", follow_redirects=True)
    assert again.status_code == 200 and "the task is not claimed" in _flash(again)


def test_the_tabs_in_chinese_done_and_copied_to_me(org, login, pdf, api):
    decided, copied = _submit(org, pdf), _submit(org, pdf)
    ids = _task_ids(org.bob)
    assert org.bob.post(f"/api/v1/tasks/{ids[decided]}/complete",
                        json={"decision": "approve"}).status_code == 200
    assert org.bob.post(f"/api/v1/tasks/{ids[copied]}/cc",
                        json={"users": ["lily"], "note": "请知悉"}).status_code == 200
    bob = login("bob", language=ZH)
    page = bob.get("/inbox")
    for label in ("全部待办", "指派给我", "我的部门", "已认领", "已办", "抄送我的", "批量同意"):
        assert label in page.text, label
    assert _count(page, "已办") == 1 and _count(page, "全部待办") == 1
    done = bob.get("/inbox?tab=done")
    assert _rows(done) == [decided] and "decision-approve" in done.text
    assert "处理时间" in done.text and "批量同意" not in done.text  # nothing to select there
    lily = login("lily", language=ZH)
    cc = lily.get("/inbox?tab=cc")
    assert _rows(cc) == [copied] and _count(cc, "抄送我的") == 1
    # Copied people read the request; the task is not theirs to work.
    assert f'href="/requests/{copied}"' in cc.text and "/tasks/" not in cc.text
    assert "还没有抄送给您的申请。" in login("carol", language=ZH).get("/inbox?tab=cc").text
    english = lily.get("/inbox?tab=cc&lang=en")
    assert "Copied to me" in english.text and "抄送我的" not in english.text


def _due(app, request_id: int, due) -> None:
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(Task).where(Task.request_id == request_id,
                                              Task.status == "open").values(due_at=due))


def test_filters_search_order_and_pages(app, org, login, pdf, monkeypatch):
    from app.web import inbox as inbox_page
    monkeypatch.setattr(inbox_page, "PER_PAGE", 2)
    a, b, c = _submit(org, pdf), _submit(org, pdf, purpose="租赁合同"), _submit(org, pdf)
    _due(app, a, utcnow() + timedelta(days=3))
    _due(app, b, utcnow() - timedelta(hours=2))
    bob = login("bob")

    first = bob.get("/inbox")
    assert _rows(first) == [a, b] and "Page 1 of 2 · 3 tasks" in first.text
    assert 'rel="next" href="/inbox?page=2"' in first.text
    second = bob.get("/inbox?page=2")
    assert _rows(second) == [c] and 'rel="prev" href="/inbox"' in second.text
    # Overdue: marked on its row, and a filter.
    assert first.text.count('<span class="badge overdue">Overdue</span>') == 1
    overdue = bob.get("/inbox?due=overdue")
    assert _rows(overdue) == [b] and "<details class=\"more-filters\" open>" in overdue.text
    assert '<option value="overdue" selected>' in overdue.text
    assert _rows(bob.get("/inbox?due=week")) == [a, b]
    # Search keeps its words in the box; the order and the seal and type filters.
    found = bob.get("/inbox", query_string={"q": f"#{c}"})
    assert _rows(found) == [c] and f'value="#{c}"' in found.text
    # A task's link carries the view (for the task page's next task), not its page.
    task = _task_ids(org.bob)[b]
    assert f'href="/tasks/{task}?due=overdue"' in bob.get("/inbox?due=overdue&page=1").text
    assert _rows(bob.get("/inbox?sort=-created")) == [c, b]
    assert _rows(bob.get("/inbox?sort=due")) == [b, a]
    assert _rows(bob.get(f"/inbox?seal={org.seal_id}")) == [a, b]
    assert _rows(bob.get("/inbox?business_type=hr")) == []
    assert _rows(bob.get("/inbox?requester=alice&page=2")) == [c]
    nothing = bob.get("/inbox?requester=nobody")
    assert "No task matches these filters." in nothing.text and "Your latest requests" not in \
        nothing.text
    assert '<a href="/inbox">Clear the filters</a>' in nothing.text
    assert '<a href="/inbox?tab=done">Clear the filters</a>' in \
        bob.get("/inbox?tab=done&q=nothing-like-it").text
    # A hand-made address: said, and the inbox shown as it is.
    for bad in ("tab=later", "due=soon", "sort=amount", "seal=x", "page=0"):
        page = bob.get(f"/inbox?{bad}")
        assert page.status_code == 200 and _rows(page) == [a, b], bad
        assert re.search(r'class="flash error"', page.text), bad


def test_bulk_approval_lists_each_tasks_result(app, org, login, pdf):
    first, second = _submit(org, pdf), _submit(org, pdf)
    big = _submit(org, pdf, amount=5_000_000)
    bob = login("bob")
    ids = _task_ids(org.bob)
    # Nothing selected: refused, the comment kept.
    refused = bob.post("/inbox/approve", data={"comment": "同意盖章"})
    assert refused.status_code == 400
    assert "Select the tasks to approve first." in _flash(refused)
    assert 'value="同意盖章"' in refused.text and _rows(refused) == [first, second, big]

    done = bob.post("/inbox/approve", data={
        "task": [ids[first], "no-such-task", ids[big]], "comment": "同意盖章", "tab": "groups"})
    assert done.status_code == 200
    assert "2 of 3 approved." in _flash(done)
    results = re.search(r'<section class="card bulk-results".*?</section>', done.text, re.S)
    assert results, done.text
    items = re.findall(r'<li class="(ok|failed)">(.*?)</li>', results.group(0), re.S)
    assert [state for state, _ in items] == ["ok", "failed", "ok"]
    assert f"#{first} contract.pdf · 采购合同 · ¥50,000 · 部门负责人审批" in items[0][1]
    assert "Running" in items[0][1]
    assert "no-such-task" in items[1][1] and "Not approved" in items[1][1]
    assert _rows(done) == [second]  # the list as it stands after
    history = org.alice.get(f"/api/v1/requests/{first}").get_json()["history"]
    assert [h["comment"] for h in history] == ["同意盖章"]

    # The legal review asks for its opinion: a bulk approval says so, in the page's language.
    legal = next(t["id"] for t in org.lily.get("/api/v1/tasks").get_json()
                 if t["request_id"] == big)
    lily = login("lily", language=ZH)
    failed = lily.post("/inbox/approve", data={"task": [legal]})
    assert "已批准 0 项，共 1 项。" in _flash(failed)
    item = re.search(r'<li class="failed">(.*?)</li>', failed.text, re.S)
    assert item and "未批准" in item.group(1) and "legal_opinion" in item.group(1)
    assert f"#{big}" in item.group(1) and _rows(failed) == [big]


def test_a_requester_without_tasks_sees_a_way_on(org, login, pdf, make_user):
    mine = _submit(org, pdf)
    alice = login("alice")
    page = alice.get("/inbox")
    assert _rows(page) == [] and "Nothing waits for you." in page.text
    assert 'class="btn primary large" href="/requests/new"' in page.text
    assert "Your latest requests" in page.text and f'href="/requests/{mine}"' in page.text
    assert 'class="badge status-running">Running<' in page.text
    done = alice.get("/inbox?tab=done")
    assert "You have decided no task yet." in done.text and f'href="/requests/{mine}"' in done.text
    zh = login("alice", language=ZH).get("/inbox")
    assert "暂无待办" in zh.text and "您最近的申请" in zh.text and "发起用印" in zh.text
    # Someone with no request either: the button, no empty list.
    newcomer = login("nina").get("/inbox")
    assert 'href="/requests/new"' in newcomer.text and "Your latest requests" not in \
        newcomer.text


def _unread(app, name: str) -> list[int]:
    with app.app_context():
        return list(db.session.execute(select(Notice.id).join(User, User.id == Notice.user_id)
                                       .where(User.name == name, Notice.read_at.is_(None))
                                       .order_by(Notice.id)).scalars())


def test_unread_notices_are_counted_in_the_top_bar_and_read_on_the_inbox(app, org, login, pdf):
    _submit(org, pdf), _submit(org, pdf)  # bob is told of each new task
    bob = login("bob")
    notices = _unread(app, "bob")
    assert len(notices) == 2
    seals = bob.get("/seals")
    assert re.search(r'class="notice-count" href="/inbox#notices" title="Unread notices: 2">'
                     r'Notices <span class="count">2</span>', seals.text), seals.text[:3000]
    page = bob.get("/inbox")
    assert 'id="notices"' in page.text and page.text.count(">Mark read</button>") == 2
    assert "unread notices." not in page.text  # all of them are listed
    zh = login("bob", language=ZH).get("/seals").text
    assert 'title="未读通知：2 条">通知 <span class="count">2</span>' in zh
    back = bob.post(f"/notices/{notices[0]}/read", data={"tab": "groups"})
    assert back.status_code == 302 and back.headers["Location"] == "/inbox?tab=groups"
    assert _unread(app, "bob") == notices[1:]
    assert '<span class="count">1</span></a>' in bob.get("/seals").text
    # Someone else's notice is not found; all at once.
    assert login("alice").post(f"/notices/{notices[1]}/read").status_code == 404
    assert bob.post("/notices/read").status_code == 302 and _unread(app, "bob") == []
    page = bob.get("/inbox")
    assert 'class="notice-count"' not in page.text and 'id="notices"' not in page.text
    # Many: the latest twenty listed, and so said; the badge counts them all.
    with app.app_context(), unit_of_work(db.session):
        uid = db.session.execute(select(User.id).where(User.name == "bob")).scalar_one()
        for n in range(21):
            notices_.notify(db.session, [uid], "test", f"notice {n}")
    page = bob.get("/inbox")
    assert page.text.count(">Mark read</button>") == 20 and "notice 20" in page.text
    assert "The latest 20 of 21 unread notices." in page.text
    assert '<span class="count">21</span>' in page.text


def test_the_inbox_page_costs_the_same_statements_however_many_tasks(app, org, login, pdf):
    from tests.e2e.test_query_budget import statements

    bob = login("bob")

    def cost() -> int:
        with statements(app) as seen:
            assert bob.get("/inbox").status_code == 200
        return len([s for s in seen if not s.startswith("BEGIN")])

    _submit(org, pdf), _submit(org, pdf)
    few = cost()
    for _ in range(5):
        _submit(org, pdf)
    # The session's user and their roles (the top bar's menu); the page of tasks, their
    # flows, the counts; the unread notices and their count; the business types and the
    # seals the filters offer.
    assert cost() == few <= 9, few
