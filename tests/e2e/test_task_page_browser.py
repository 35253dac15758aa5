"""The task page in Chromium, as the demo's approvers use it: the document's pages drawn in the
page by pdf.js with the seal's proposed square on its page, the flow diagram, and each action
worked through the page's forms (claim and release, approve with the form's data, return for
revision with a reason, the requester's resubmission, delegate, add an approver before me, copy
to, reject with a reason and a confirmation); after a decision the next task or the inbox
opens; the history shows the form data with display names. At 1400 and 390 px, in English and
Chinese, nothing wider than the phone, taps at least 44 px, no JavaScript errors. Screenshots
go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    PHONE,
    api_get,
    api_post,
    assert_no_errors,
    log_in,
    overflow,
    shoot,
)

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

A4 = (595.2756, 841.8898)  # reportlab's A4, in points
PLACED = {"page": 2, "x": 300, "y": 200, "size": 119}
BIG = {"amount": 2_000_000, "purpose": "年度框架合同"}  # the legal department reviews it


def _file(page, base: str, text: str, data: dict, placement: dict | None = None) -> int:
    seal = next(s for s in api_get(page, base, "/seals")
                if s["status"] == "active" and "合同" in s["name"])
    form = {"process": "contract_seal", "seal": str(seal["id"]),
            "data": json.dumps(data),
            "document": {"name": "contract.pdf", "mimeType": "application/pdf",
                         "buffer": make_pdf(pages=2, text=text)}}
    if placement:
        form["placement"] = json.dumps(placement)
    return api_post(page, base, "/requests", multipart=form)["id"]


def _task_of(page, base: str, request_id: int) -> str:
    return next(t["id"] for t in api_get(page, base, "/tasks") if t["request_id"] == request_id)


def _open(page, base: str, request_id: int, lang: str = "en") -> None:
    page.goto(f"{base}/tasks/{_task_of(page, base, request_id)}?lang={lang}")
    page.wait_for_selector("#doc-view[data-ready=true]")



def _inked(page) -> int:
    """How many of the canvas's pixels are not white: the page was drawn."""
    return page.evaluate("""() => {
      const c = document.querySelector('#doc-view canvas');
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] < 200 && px[i + 3] > 0) n++;
      return n;
    }""")


def _seal_box(page) -> dict:
    """The square's rectangle relative to the canvas, and the canvas's width, in CSS px."""
    return page.evaluate("""() => {
      const c = document.querySelector('#doc-view canvas').getBoundingClientRect();
      const b = document.querySelector('#doc-view .seal-box').getBoundingClientRect();
      return {left: b.left - c.left, top: b.top - c.top, width: b.width, canvas: c.width};
    }""")


def _decide(page, button: str, comment: str = "", **fields: str) -> None:
    for field, value in fields.items():
        page.fill(f"[name='data.{field}']", value)
    if comment:
        page.fill("#comment", comment)
    page.click(f"#decision-form button[name=decision][value={button}]")
    page.wait_for_selector(".flash")


def test_the_document_the_seal_and_the_diagram_at_each_width_and_language(demo_server,
                                                                           browser):
    base = demo_server
    errors: list[str] = []
    alice = log_in(browser, base, "alice", errors)
    rid = _file(alice, base, "Framework contract 2026-088", BIG, PLACED)
    for width in (1400, PHONE):
        for lang in ("en", "zh_CN"):
            bob = log_in(browser, base, "bob", errors, width)
            _open(bob, base, rid, lang)
            assert _inked(bob) > 100  # pdf.js drew page 1 (one line of text)
            assert bob.locator("#doc-view .seal-box").is_hidden()  # the seal is on page 2
            bob.click("#doc-view [data-go=seal]")
            bob.wait_for_function(
                "document.querySelector('#doc-view .seal-box').dataset.page === '2'")
            assert _inked(bob) > 100
            box = _seal_box(bob)
            scale = box["canvas"] / A4[0]
            assert abs(box["left"] - PLACED["x"] * scale) < 2, box
            top = (A4[1] - PLACED["y"] - PLACED["size"]) * scale
            assert abs(box["top"] - top) < 2, box
            assert abs(box["width"] - PLACED["size"] * scale) < 2, box
            bob.wait_for_selector("#flow-diagram[data-diagram=ready]")
            assert bob.locator('.sf-current[data-element-id="dept_head_approve"]').count() == 1
            if width == PHONE:
                assert overflow(bob) == 0, (lang, overflow(bob))
                assert box["canvas"] <= PHONE
                for button in bob.locator("#decision-form button, .task-bar .btn").all():
                    assert button.bounding_box()["height"] >= 44, button.inner_text()
            words = ("Approve", "Delegate") if lang == "en" else ("同意", "转办")
            assert all(w in bob.inner_text("body") for w in words), lang
            shoot(bob, f"task-page-{lang}-{width}", full_page=True)
            bob.context.close()
    alice.context.close()
    assert_no_errors(errors)


def test_each_action_through_the_page(demo_server, browser):
    base = demo_server
    errors: list[str] = []
    refused: list[int] = []
    alice = log_in(browser, base, "alice", errors, PHONE)
    rid = _file(alice, base, "Supply contract 2026-101", BIG)
    other = _file(alice, base, "Supply contract 2026-102", {"amount": 30_000, "purpose": "采购"})

    # Bob claims, releases, then delegates the first to frank with a reason.
    bob = log_in(browser, base, "bob", errors, PHONE)
    _open(bob, base, rid)
    bob.click("button:has-text('Claim')")
    bob.wait_for_selector("text=You claimed the task")
    assert "Claimed by 张伟 (销售部负责人) (bob)" in bob.inner_text(".claim-line")
    bob.click("button:has-text('Release')")
    bob.wait_for_selector("text=You released the task")
    bob.click("#act-delegate summary")
    bob.select_option("#delegate-to", "alice")
    bob.fill("#delegate-reason", "出差")
    bob.click("#act-delegate button[type=submit]")
    bob.wait_for_selector(".flash.error")  # the requester never approves their own request
    refused.append(422)
    assert "requester" in bob.inner_text(".flash.error")
    assert bob.input_value("#delegate-reason") == "出差"  # what was entered stays
    bob.select_option("#delegate-to", "frank")
    bob.click("#act-delegate button[type=submit]")
    bob.wait_for_selector(".flash.success")
    # The next task opens: the other request's.
    assert f"/tasks/{_task_of(bob, base, other)}" in bob.url
    bob.wait_for_selector("#doc-view[data-ready=true]")
    shoot(bob, "task-page-after-delegate-390", full_page=True)
    # Rejecting needs a reason and the box ticked.
    _decide(bob, "reject", "金额与报价不符")
    refused.append(422)
    assert "confirm" in bob.inner_text(".flash.error")
    assert bob.input_value("#comment") == "金额与报价不符"
    bob.check("input[name=confirm_reject]")
    bob.click("#decision-form button[name=decision][value=reject]")
    bob.wait_for_selector(".flash.success")  # then the next task, or the inbox
    assert api_get(alice, base, f"/requests/{other}")["status"] == "rejected"

    # Frank, the delegate, approves; lily returns it for revision with a reason.
    frank = log_in(browser, base, "frank", errors)
    _open(frank, base, rid)
    _decide(frank, "approve", "同意")
    lily = log_in(browser, base, "lily", errors)
    _open(lily, base, rid)
    lily.fill("[name='data.legal_opinion']", "第5条需修改")
    lily.click("#decision-form button[name=decision][value=return]")  # no reason yet
    lily.wait_for_selector(".flash.error")
    refused.append(422)
    assert lily.input_value("[name='data.legal_opinion']") == "第5条需修改"
    _decide(lily, "return", "请修改第5条违约责任")
    # Alice revises and resubmits on her own task page.
    _open(alice, base, rid)
    _decide(alice, "approve", "已修改第5条")
    _open(bob, base, rid)  # the approvals start again, at the department head
    _decide(bob, "approve", "同意")

    # Lily adds grace before her; grace approves; lily approves with her opinion.
    _open(lily, base, rid)
    lily.click("#act-add_approver summary")
    lily.select_option("#added-user", "grace")
    lily.fill("#add_approver-reason", "请财务总监确认金额")
    lily.click("#act-add_approver button[type=submit]")
    lily.wait_for_selector("text=approves before you")
    grace = log_in(browser, base, "grace", errors)
    _open(grace, base, rid)
    _decide(grace, "approve", "金额无误")
    _open(lily, base, rid)
    _decide(lily, "approve", "可以盖章", legal_opinion="条款无误")

    # Carol copies helen, then approves.
    carol = log_in(browser, base, "carol", errors)
    _open(carol, base, rid)
    carol.click("#act-cc summary")
    carol.select_option("#cc-users", ["helen"])
    carol.fill("#cc-note", "请知悉")
    carol.click("#act-cc button[type=submit]")
    carol.wait_for_selector("text=Copied to 孙悦 (人事) (helen)")
    _decide(carol, "approve", "准予用印")

    # Helen reads the request; the history tells it all, with the form's data.
    helen = log_in(browser, base, "helen", errors, PHONE)
    helen.goto(f"{base}/requests/{rid}?lang=en")
    history = helen.inner_text(".timeline")
    for words in ("Delegated to 周强 (财务) (frank)", "Returned to 申请人修改后重新提交",
                  "请修改第5条违约责任", "法务意见", "条款无误", "李娜 (法务) (lily)",
                  "Added 吴芳 (财务总监) (grace) as an approver before them",
                  "Copied to 孙悦 (人事) (helen)", "王丽 (申请人) (alice)"):
        assert words in history, words
    assert helen.locator("#decision-form").count() == 0
    assert overflow(helen) == 0
    shoot(helen, "request-history-en-390", full_page=True)
    helen.goto(f"{base}/requests/{rid}?lang=zh_CN")
    assert "转办给 周强 (财务) (frank)" in helen.inner_text(".timeline")
    shoot(helen, "request-history-zh_CN-390", full_page=True)
    assert_no_errors(errors, tuple(refused))
