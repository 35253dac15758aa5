"""The pages, driven like a browser without JavaScript: log in through /login, fill the forms."""

from __future__ import annotations

import io
import re

import pytest

from tests.conftest import PASSWORD

CONTRACT = {"data.amount": "50000", "data.purpose": "采购合同", "data.counterparty": "某某公司"}


@pytest.fixture
def login(login, org):
    """The shared ``login``, with the contract-flow cast of ``org`` in place."""
    return login


def new_request(client, seal_id: int, document: bytes, filename: str = "contract.pdf",
                **fields: str):
    form = {"process": "contract_seal", "seal": str(seal_id),
            "document": (io.BytesIO(document), filename), **CONTRACT, **fields}
    return client.post("/requests/new", data=form, content_type="multipart/form-data")


def submitted_id(resp) -> int:
    assert resp.status_code == 302, resp.text
    found = re.fullmatch(r"/requests/(\d+)", resp.headers["Location"])
    assert found, resp.headers["Location"]
    return int(found.group(1))


def task_link(client) -> str:
    """The one task link on the user's inbox page."""
    page = client.get("/inbox")
    assert page.status_code == 200
    links = sorted(set(re.findall(r'href="(/tasks/[0-9a-f-]+)"', page.text)))
    assert len(links) == 1, page.text
    return links[0]


def decide(client, decision: str, comment: str = "", **data: str):
    link = task_link(client)
    form = {"decision": decision, "comment": comment,
            **{f"data.{k}": v for k, v in data.items()}}
    if decision == "reject":
        form["confirm_reject"] = "yes"  # a rejection is confirmed (tests/e2e/test_task_page.py)
    return client.post(link, data=form)


def test_login_and_wrong_password(app, org, make_user):
    make_user("alice", password=PASSWORD)
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    wrong = client.post("/login", data={"name": "alice", "password": "not-it-at-all"})
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.text
    ok = client.post("/login?next=/seals", data={"name": "alice", "password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"] == "/seals"
    inbox = client.get("/", follow_redirects=True)
    assert inbox.status_code == 200 and "待办" in inbox.text
    assert 'action="/logout"' in inbox.text
    assert client.post("/logout").status_code == 302
    assert client.get("/inbox").status_code == 302


@pytest.mark.parametrize("path", ["/inbox", "/requests", "/requests/new", "/requests/1",
                                  "/requests/1/document", "/requests/1/sealed", "/seals",
                                  "/seals/1/image.png", "/tasks/abc"])
def test_pages_need_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


def test_contract_sealed_through_the_pages(org, login, pdf):
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    form = alice.get("/requests/new")
    assert form.status_code == 200
    for label in ("合同金额", "用印事由", "合同相对方", 'accept="application/pdf'):
        assert label in form.text
    request_id = submitted_id(new_request(alice, org.seal_id, pdf))

    page = alice.get(f"/requests/{request_id}")
    assert page.status_code == 200
    assert "Running" in page.text and "部门负责人审批" in page.text and "50,000" in page.text
    doc = alice.get(f"/requests/{request_id}/document")
    assert doc.status_code == 200 and doc.data == pdf
    doc.close()
    missing = alice.get(f"/requests/{request_id}/sealed")
    assert missing.status_code == 404

    inbox = bob.get("/inbox").text
    assert "contract.pdf" in inbox and "采购合同" in inbox and f"#{request_id}" in inbox
    task_page = bob.get(task_link(bob))
    assert task_page.status_code == 200
    assert "Comment (the reason" in task_page.text and "合同金额" in task_page.text
    assert 'value="approve"' in task_page.text and 'value="reject"' in task_page.text
    done = decide(bob, "approve", "同意，请盖章")
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"  # no next task
    assert "Nothing waits for you" in bob.get("/inbox").text

    assert decide(carol, "approve", "准予用印").status_code == 302

    page = alice.get(f"/requests/{request_id}")
    assert "Sealed" in page.text and "准予用印" in page.text and "同意，请盖章" in page.text
    assert f'href="/requests/{request_id}/sealed"' in page.text
    sealed = alice.get(f"/requests/{request_id}/sealed")
    assert sealed.status_code == 200 and sealed.mimetype == "application/pdf"
    assert sealed.data[:5] == b"%PDF-" and sealed.data != pdf
    sealed.close()
    mine = alice.get("/requests?status=sealed")
    assert f'href="/requests/{request_id}"' in mine.text
    assert f'href="/requests/{request_id}"' not in alice.get("/requests?status=running").text


def test_rejected_request(org, login, pdf):
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    request_id = submitted_id(new_request(alice, org.seal_id, pdf))
    assert decide(bob, "reject", "金额有误").status_code == 302
    page = alice.get(f"/requests/{request_id}")
    assert "Rejected" in page.text and "金额有误" in page.text
    assert "Withdraw…" not in page.text
    assert "Nothing waits for you" in carol.get("/inbox").text
    assert f'href="/requests/{request_id}"' in alice.get("/requests?status=rejected").text


def test_withdraw(org, login, pdf):
    alice, bob = login("alice"), login("bob")
    request_id = submitted_id(new_request(alice, org.seal_id, pdf))
    assert ">Withdraw the request</button>" in alice.get(f"/requests/{request_id}").text
    assert bob.post(f"/requests/{request_id}/withdraw",
                    data={"reason": "不需要了"}).status_code == 403
    resp = alice.post(f"/requests/{request_id}/withdraw", data={"reason": "不需要了"},
                      follow_redirects=True)
    assert resp.status_code == 200 and "Withdrawn" in resp.text
    again = alice.post(f"/requests/{request_id}/withdraw", data={"reason": "again"},
                       follow_redirects=True)
    assert "only a running request can be withdrawn" in again.text
    assert "Nothing waits for you" in bob.get("/inbox").text


def test_non_pdf_keeps_the_form(org, login):
    alice = login("alice")
    resp = new_request(alice, org.seal_id, b"hello, not a pdf", filename="notes.pdf")
    assert resp.status_code == 422
    assert 'class="flash error"' in resp.text
    assert 'class="field-error" id="err-document"' in resp.text
    assert 'value="采购合同"' in resp.text and 'value="50000"' in resp.text
    assert f'<option value="{org.seal_id}" selected>' in resp.text
    assert 'enctype="multipart/form-data"' in resp.text
    assert "Please choose the file again" in resp.text  # a browser does not keep the file
    assert "You have not submitted any request yet" in alice.get("/requests").text
    # A fresh form has no file to choose again.
    assert "Please choose the file again" not in alice.get("/requests/new").text


def test_missing_required_field_is_shown_next_to_it(org, login, pdf):
    alice = login("alice")
    resp = new_request(alice, org.seal_id, pdf, **{"data.amount": ""})
    assert resp.status_code == 422
    assert 'id="err-amount"' in resp.text and "is required" in resp.text
    resp = new_request(alice, org.seal_id, pdf, placement_x="100")
    assert resp.status_code == 422 and 'id="err-placement"' in resp.text


def test_bad_decision_re_renders_the_task(org, login, pdf):
    alice, bob = login("alice"), login("bob")
    submitted_id(new_request(alice, org.seal_id, pdf))
    resp = decide(bob, "maybe", "再看看")
    assert resp.status_code == 422
    assert "decision must be approve, reject or return" in resp.text
    assert "再看看</textarea>" in resp.text
    assert "部门负责人审批" in bob.get("/inbox").text


def test_completed_task_cannot_be_completed_again(org, login, pdf):
    alice, bob = login("alice"), login("bob")
    request_id = submitted_id(new_request(alice, org.seal_id, pdf))
    link = task_link(bob)
    assert bob.post(link, data={"decision": "approve"}).status_code == 302
    again = bob.post(link, data={"decision": "reject"})
    assert again.status_code == 409 and "already completed" in again.text
    assert "This task is completed" in bob.get(link).text
    assert f"/requests/{request_id}" in bob.get(link).text


def test_requester_cannot_work_their_own_task(org, login, pdf):
    alice, bob = login("alice"), login("bob")
    request_id = submitted_id(new_request(alice, org.seal_id, pdf))
    link = task_link(bob)
    page = alice.get(link)
    assert page.status_code == 403 and "cannot approve their own request" in page.text
    assert alice.post(link, data={"decision": "approve"}).status_code == 403
    assert "Running" in alice.get(f"/requests/{request_id}").text
    assert task_link(bob) == link


def test_outsider_sees_nothing(org, login, pdf):
    alice, bob, eve = login("alice"), login("bob"), login("eve")
    request_id = submitted_id(new_request(alice, org.seal_id, pdf))
    link = task_link(bob)
    for path in (f"/requests/{request_id}", f"/requests/{request_id}/document",
                 f"/requests/{request_id}/sealed", link):
        resp = eve.get(path)
        assert resp.status_code == 404, path
        assert "Not found" in resp.text
    assert eve.post(link, data={"decision": "approve"}).status_code == 404
    assert eve.post(f"/requests/{request_id}/withdraw").status_code == 404


def test_seals_page_and_image(org, login):
    alice = login("alice")
    page = alice.get("/seals")
    assert page.status_code == 200
    assert "测试科技有限公司合同专用章" in page.text and "carol" in page.text
    assert f'src="/seals/{org.seal_id}/image.png"' in page.text
    image = alice.get(f"/seals/{org.seal_id}/image.png")
    assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert alice.get("/seals/999/image.png").status_code == 404


def test_unknown_status_filter(org, login):
    resp = login("alice").get("/requests?status=nonsense")
    assert resp.status_code == 400 and "unknown status" in resp.text


def test_double_submit_makes_one_request(org, login, pdf):
    alice = login("alice")
    key = re.search(r'name="idempotency_key" value="([^"]+)"',
                    alice.get("/requests/new").text).group(1)
    first = submitted_id(new_request(alice, org.seal_id, pdf, idempotency_key=key))
    second = submitted_id(new_request(alice, org.seal_id, pdf, idempotency_key=key))
    assert first == second
    assert alice.get("/requests").text.count(f'href="/requests/{first}"') == 1


def test_admins_see_incidents_of_everyone_and_retry_them(org, login, pdf, make_user, app):
    bob = login("bob")
    request_id = submitted_id(new_request(bob, org.seal_id, pdf))  # bob heads himself
    make_user("root", roles=["admin"])
    admin = login("root")
    listing = admin.get("/requests?scope=all&status=incident")
    assert listing.status_code == 200 and f"#{request_id}" in listing.text
    mine_only = bob.get("/requests?scope=all").text
    assert "Everyone's" not in mine_only and "My requests" in mine_only  # not an auditor
    page = admin.get(f"/requests/{request_id}")
    assert "Retry" in page.text and "dept_head_approve" in page.text
    assert "Retry" not in bob.get(f"/requests/{request_id}").text
    retried = admin.post(f"/requests/{request_id}/retry")
    assert retried.status_code == 302
    assert "incident" in admin.get(f"/requests/{request_id}").text.lower()


def test_return_for_revision_and_resubmit_a_new_pdf_through_the_pages(org, login, pdf):
    from pathlib import Path

    from tests.conftest import deploy, make_pdf
    flow = Path(__file__).resolve().parents[1] / "e2e" / "data" / "revision_loop"
    assert deploy(org.designer, flow / "revision_loop.bpmn").status_code == 201
    alice, carol = login("alice"), login("carol")
    request_id = submitted_id(new_request(alice, org.seal_id, pdf, process="revision_loop"))
    review = carol.get(task_link(carol)).text
    assert 'value="return"' in review and "Return for revision" in review
    assert carol.post(task_link(carol), data={"decision": "return",
                                              "comment": "请修改"}).status_code == 302
    page = alice.get(task_link(alice)).text
    assert 'name="document"' in page and "Resubmit" in page and 'value="reject"' not in page
    revised = make_pdf(text="revised by alice")
    done = alice.post(task_link(alice), data={
        "decision": "approve", "document": (io.BytesIO(revised), "v2.pdf")},
        content_type="multipart/form-data")
    assert done.status_code == 302
    doc = alice.get(f"/requests/{request_id}/document")
    assert doc.data == revised
    doc.close()


def test_the_seal_page_shows_its_record_and_lets_custodians_suspend_at_once(org, login,
                                                                          make_user):
    carol, alice = login("carol"), login("alice")
    page = carol.get(f"/seals/{org.seal_id}")
    assert page.status_code == 200
    assert "Usage policy" in page.text and "Suspend" in page.text
    seen_by_alice = alice.get(f"/seals/{org.seal_id}").text
    assert "Suspend" not in seen_by_alice and "Usage log" not in seen_by_alice
    assert alice.post(f"/seals/{org.seal_id}/status",
                      data={"to": "suspended", "reason": "x"}).status_code == 403
    no_reason = carol.post(f"/seals/{org.seal_id}/status", data={"to": "suspended", "reason": ""})
    assert no_reason.status_code == 302
    assert "Resume" not in carol.get(f"/seals/{org.seal_id}").text  # no reason: unchanged
    done = carol.post(f"/seals/{org.seal_id}/status", data={"to": "suspended", "reason": "送检"})
    assert done.status_code == 302
    page = carol.get(f"/seals/{org.seal_id}").text
    assert "送检" in page and 'value="active"' not in page  # resuming goes through a flow
    assert carol.post(f"/seals/{org.seal_id}/status",
                      data={"to": "active", "reason": "检验完毕"}).status_code == 403
    make_user("root", roles=["admin"])
    root = login("root")
    assert 'value="active"' in root.get(f"/seals/{org.seal_id}").text
    root.post(f"/seals/{org.seal_id}/status", data={"to": "active", "reason": "检验完毕"})
    assert 'value="suspended"' in carol.get(f"/seals/{org.seal_id}").text
