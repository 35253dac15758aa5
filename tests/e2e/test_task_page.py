"""The task page's forms (app/web/tasks.py, app/web/task_actions.py) as an approver uses them:
approve, reject (a reason and a confirmation), return for revision, claim, delegate (转办), add an
approver (加签), copy to (抄送); refusals shown with what was entered kept; the next task opens
after a decision; the history shows every decision's form data with people's display names."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.extensions import db
from processes.db import unit_of_work
from processes.people import directory
from tests.conftest import approve, make_pdf, only_task, submit

BIG = {"amount": 2_000_000, "purpose": "框架协议"}  # over the line: the legal department reviews


@pytest.fixture
def named(app, org):
    """The cast with display names, as the pages show them: 王丽 (alice) and so on."""
    with app.app_context(), unit_of_work(db.session):
        for name, display in (("alice", "王丽"), ("bob", "李强"), ("lily", "林莉"),
                              ("carol", "陈静")):
            directory.add_user(db.session, name, display_name=display)
    return org


def _text(resp) -> str:
    """The page's visible text, tags dropped, spaces squeezed."""
    body = re.sub(r"<script.*?</script>", " ", resp.text, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def _decide(client, task_id: str, **form):
    return client.post(f"/tasks/{task_id}", data=form)


def test_the_history_shows_each_decisions_form_data_with_display_names(named, login, pdf):
    rid = submit(named.alice, named.seal_id, pdf, data=BIG).get_json()["id"]
    bob, lily = login("bob"), login("lily")
    assert _decide(bob, only_task(named.bob)["id"], decision="approve",
                   comment="同意").status_code == 302
    task = only_task(named.lily)
    page = lily.get(f"/tasks/{task['id']}")
    assert page.status_code == 200
    assert 'for="f-legal_opinion"' in page.text and "法务意见" in page.text
    # The required field is required here too; what was entered stays.
    refused = _decide(lily, task["id"], decision="approve", comment="看过了")
    assert refused.status_code == 422
    assert "看过了" in refused.text and "法务意见" in _text(refused)
    assert _decide(lily, task["id"], decision="approve", comment="可以盖章",
                   **{"data.legal_opinion": "条款无误"}).status_code == 302

    body = named.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert [(h["by"], h["by_display_name"], h["data"]) for h in body["history"]] == [
        ("bob", "李强", {}), ("lily", "林莉", {"legal_opinion": "条款无误"})]
    text = _text(login("alice").get(f"/requests/{rid}"))
    assert "法务意见 条款无误" in text
    assert "林莉 (lily)" in text and "李强 (bob)" in text and "王丽 (alice)" in text
    assert "Comment: 可以盖章" in text


def test_reject_needs_a_reason_and_a_confirmation(named, login, pdf):
    rid = submit(named.alice, named.seal_id, pdf).get_json()["id"]
    bob = login("bob")
    task_id = only_task(named.bob)["id"]
    no_reason = _decide(bob, task_id, decision="reject", confirm_reject="yes")
    assert no_reason.status_code == 422
    assert "say why you reject the request" in no_reason.text
    unconfirmed = _decide(bob, task_id, decision="reject", comment="金额不对")
    assert unconfirmed.status_code == 422
    assert "tick the box to confirm the rejection" in unconfirmed.text
    assert "金额不对" in unconfirmed.text  # the reason entered stays
    assert named.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "running"
    done = _decide(bob, task_id, decision="reject", comment="金额不对", confirm_reject="yes")
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"
    assert named.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "rejected"
    text = _text(bob.get("/inbox", follow_redirects=True))
    assert f"Rejected: request #{rid}." in text
    history = _text(login("alice").get(f"/requests/{rid}"))
    assert "Rejected" in history and "Reason: 金额不对" in history


def test_return_for_revision_goes_back_to_the_requester_with_the_reason(named, login, pdf):
    rid = submit(named.alice, named.seal_id, pdf).get_json()["id"]
    bob = login("bob")
    task_id = only_task(named.bob)["id"]
    page = _text(bob.get(f"/tasks/{task_id}"))
    assert "Return for revision" in page and "Back to: 申请人修改后重新提交" in page
    refused = _decide(bob, task_id, decision="return", return_to="revise")
    assert refused.status_code == 422
    assert 'id="err-comment"' in refused.text
    assert _decide(bob, task_id, decision="return", return_to="revise",
                   comment="请补充附件").status_code == 302
    assert only_task(named.alice)["element_id"] == "revise"
    text = _text(login("alice").get(f"/requests/{rid}"))
    assert "Returned to 申请人修改后重新提交" in text and "Reason: 请补充附件" in text


def test_after_a_decision_the_next_task_opens_then_the_inbox(named, login, pdf):
    first = submit(named.alice, named.seal_id, pdf).get_json()["id"]
    second = submit(named.alice, named.seal_id, make_pdf(text="second")).get_json()["id"]
    tasks = {t["request_id"]: t["id"] for t in named.bob.get("/api/v1/tasks").get_json()}
    bob = login("bob")
    resp = _decide(bob, tasks[first], decision="approve")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/tasks/{tasks[second]}"
    page = bob.get(resp.headers["Location"])
    assert f"Approved: request #{first}. The next task is open." in _text(page)
    resp = _decide(bob, tasks[second], decision="approve")
    assert resp.headers["Location"] == "/inbox"
    assert "No task is left in your inbox." in _text(bob.get("/inbox"))


def test_claim_and_release(named, login, pdf):
    submit(named.alice, named.seal_id, pdf)
    bob = login("bob")
    task_id = only_task(named.bob)["id"]
    resp = bob.post(f"/tasks/{task_id}/claim", follow_redirects=True)
    assert "You claimed the task" in _text(resp) and "Claimed by 李强 (bob)" in _text(resp)
    assert named.bob.get(f"/api/v1/tasks/{task_id}").get_json()["claimed_by"] == "bob"
    resp = bob.post(f"/tasks/{task_id}/unclaim", follow_redirects=True)
    assert "You released the task" in _text(resp)
    assert named.bob.get(f"/api/v1/tasks/{task_id}").get_json()["claimed_by"] is None
    history = _text(bob.get(f"/tasks/{task_id}"))
    assert re.search(r"部门负责人审批 · Claimed [-0-9: ]+ 李强 \(bob\)", history)
    assert re.search(r"部门负责人审批 · Released [-0-9: ]+ 李强 \(bob\)", history)


def test_delegate_to_a_person_with_a_reason_and_the_refusals_shown(named, login, api, pdf):
    api("dave")
    rid = submit(named.alice, named.seal_id, pdf).get_json()["id"]
    bob = login("bob")
    task_id = only_task(named.bob)["id"]
    page = bob.get(f"/tasks/{task_id}")
    assert '<option value="dave">dave</option>' in page.text
    assert '<option value="alice">王丽 (alice)</option>' in page.text
    # Separation of duties: never the requester; the reason entered stays.
    refused = bob.post(f"/tasks/{task_id}/delegate", data={"to": "alice", "reason": "出差"})
    assert refused.status_code == 422
    assert "the requester cannot approve their own request" in refused.text
    assert 'id="act-delegate" open' in refused.text and ">出差</textarea>" in refused.text
    assert bob.post(f"/tasks/{task_id}/delegate",
                    data={"to": "dave", "reason": ""}).status_code == 422
    done = bob.post(f"/tasks/{task_id}/delegate", data={"to": "dave", "reason": "出差一周"})
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"
    assert only_task(api("dave"))["id"] == task_id
    text = _text(login("alice").get(f"/requests/{rid}"))
    assert "Delegated to dave" in text and "李强 (bob)" in text and "Reason: 出差一周" in text


def test_add_an_approver_before_me_then_i_decide(named, login, api, pdf):
    frank = api("frank")
    rid = submit(named.alice, named.seal_id, pdf).get_json()["id"]
    bob = login("bob")
    task_id = only_task(named.bob)["id"]
    assert bob.post(f"/tasks/{task_id}/add-approver",
                    data={"user": "frank", "position": "before"}).status_code == 422  # no reason
    resp = bob.post(f"/tasks/{task_id}/add-approver",
                    data={"user": "frank", "position": "before", "reason": "请财务看看"})
    assert resp.status_code == 302
    assert "frank approves before you" in _text(bob.get(resp.headers["Location"]))
    waiting = _decide(bob, task_id, decision="approve")
    assert waiting.status_code == 409 and "waits for the approvers added before it" in waiting.text
    assert approve(frank).status_code == 200
    assert _decide(bob, task_id, decision="approve").status_code == 302
    text = _text(login("alice").get(f"/requests/{rid}"))
    assert "Added frank as an approver before them" in text and "Reason: 请财务看看" in text


def test_copied_people_read_the_request_and_decide_nothing(named, login, api, pdf):
    api("frank")
    api("grace")
    rid = submit(named.alice, named.seal_id, pdf).get_json()["id"]
    bob = login("bob")
    task_id = only_task(named.bob)["id"]
    frank = login("frank")
    assert frank.get(f"/requests/{rid}").status_code == 404
    assert bob.post(f"/tasks/{task_id}/cc", data={}).status_code == 422
    resp = bob.post(f"/tasks/{task_id}/cc", data={"users": ["frank", "grace"], "note": "知悉"})
    assert resp.status_code == 302
    assert "Copied to frank, grace." in _text(bob.get(resp.headers["Location"]))
    page = frank.get(f"/requests/{rid}")
    assert page.status_code == 200 and "Copied to frank, grace" in _text(page)
    assert 'name="decision"' not in page.text
    assert frank.get(f"/tasks/{task_id}").status_code == 403


def test_the_task_page_in_chinese(named, login, pdf):
    submit(named.alice, named.seal_id, pdf)
    bob = login("bob", language="zh-CN,zh;q=0.9")
    text = _text(bob.get(f"/tasks/{only_task(named.bob)['id']}"))
    for words in ("同意", "驳回", "退回修改", "转办", "加签", "抄送", "认领"):
        assert words in text, words
    # The domain's refusals too: separation of duties, in the reader's language.
    task_id = only_task(named.bob)["id"]
    refused = bob.post(f"/tasks/{task_id}/delegate", data={"to": "alice", "reason": "出差"})
    assert refused.status_code == 422 and "申请人不能审批自己的申请" in _text(refused)
