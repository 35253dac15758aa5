"""The new-request page in Chromium, as alice (a sales clerk) of the demo: she picks the kind of
request, chooses a PDF, drags the seal onto its page (a mouse on a desktop, a finger on a
phone), sees who will approve, and submits; the stored placement is where she dropped it. A
refused submit keeps the chosen file and every field. 1400 and 390 px, English and Chinese,
no JavaScript error, no sideways scrolling. Screenshots: test-artifacts/new-request-*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    PHONE,
    api_get,
    assert_no_errors,
    demo_server,  # noqa: F401 - a fixture
    log_in,
    overflow,
    shoot,
)

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

PDF = make_pdf(pages=2, text="Purchase contract 2026-017")
A4_WIDTH = 595.27  # points: make_pdf's pages



def _phone(browser, base: str, name: str, errors: list[str]):
    """`name` logged in on a touch screen 390 px wide."""
    return log_in(browser, base, name, errors, PHONE, touch=True)


def _choose_pdf(page, data: bytes = PDF, name: str = "contract.pdf") -> None:
    page.set_input_files("#document", files=[{"name": name, "mimeType": "application/pdf",
                                              "buffer": data}])


def _wait_for_stamp(page) -> None:
    page.wait_for_function("() => { const s = document.querySelector('#nr-stamp');"
                           " return s && s.style.width !== ''"
                           " && s.getBoundingClientRect().width > 0 }")


def _where(page) -> dict:
    """The stamp's square in the page's points, from where it is drawn over the canvas."""
    return page.evaluate("""(width) => {
      const c = document.querySelector('#nr-sheet canvas').getBoundingClientRect();
      const s = document.querySelector('#nr-stamp').getBoundingClientRect();
      const scale = c.width / width;
      return {x: (s.left - c.left) / scale, y: (c.bottom - s.bottom) / scale,
              size: s.width / scale, canvas: c.width};
    }""", A4_WIDTH)


def _typed(page) -> dict:
    return {k: page.input_value(f"#placement_{k}") for k in ("page", "x", "y", "size")}


def _route(page) -> list[str]:
    """The route preview's steps, once it follows what was last entered."""
    page.wait_for_selector("#nr-route[data-state=done]")
    return page.locator("#nr-steps li").all_inner_texts()


def _fill_contract(page, amount: str = "50000") -> None:
    page.fill("[name='data.amount']", amount)
    page.fill("[name='data.purpose']", "采购合同")


def test_a_request_with_the_seal_dragged_onto_its_page(demo_server, browser):  # noqa: F811
    base, errors = demo_server, []
    page = log_in(browser, base, "alice", errors)
    page.goto(base + "/requests/new")
    # The kind first: a sales clerk is offered no lifecycle flow.
    kinds = page.locator("#kind option").all_inner_texts()
    assert "合同用印" in kinds and "印章作废" not in kinds and "证书吊销" not in kinds
    page.select_option("#kind", label="合同用印")
    page.wait_for_url(f"{base}/requests/new?business_type=contract")
    shoot(page, "new-request-empty-en-1400", full_page=True)

    # Not a PDF: refused at once, by the file's field, before anything is sent.
    _choose_pdf(page, b"hello", "notes.pdf")
    page.wait_for_selector("#err-document")
    assert "not a PDF" in page.inner_text("#err-document")

    # Too large (the limit lowered here to 1 KB): refused at once, saying the limit.
    page.evaluate("document.querySelector('#new-request').dataset.maxBytes = '1024'")
    _choose_pdf(page)
    page.wait_for_selector("#err-document")
    assert "at most 0.0 MB" in page.inner_text("#err-document")
    page.evaluate(f"document.querySelector('#new-request').dataset.maxBytes = '{50 << 20}'")

    _choose_pdf(page)
    _wait_for_stamp(page)
    assert page.locator("#err-document").count() == 0
    assert page.inner_text("#nr-page-label") == "Page 2 of 2"  # the last page, as by default
    _fill_contract(page)
    route = _route(page)
    assert len(route) == 2 and "张伟" in route[0] and "陈静" in route[1], route
    assert "deputy" in page.inner_text("#nr-route-note")
    assert "still empty" not in page.inner_text("#nr-route")

    # Dragged with the mouse, 150 px left and 300 px up; then a step right with the keyboard.
    page.evaluate("document.querySelector('#nr-stamp').scrollIntoView({block: 'end'})")
    before = _where(page)
    box = page.locator("#nr-stamp").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 75, box["y"] + box["height"] / 2 - 150,
                    steps=5)
    page.mouse.move(box["x"] + box["width"] / 2 - 150, box["y"] + box["height"] / 2 - 300,
                    steps=5)
    page.mouse.up()
    page.keyboard.press("Shift+ArrowRight")
    after = _where(page)
    scale = after["canvas"] / A4_WIDTH
    assert abs((before["x"] - after["x"]) - (150 / scale - 10)) < 1.5, (before, after)
    assert abs((after["y"] - before["y"]) - 300 / scale) < 1.5, (before, after)
    assert abs(after["size"] - 119) < 1  # the seal at its true size
    typed = _typed(page)
    assert typed["page"] == "2" and typed["size"] == "119"
    assert abs(float(typed["x"]) - after["x"]) < 1 and abs(float(typed["y"]) - after["y"]) < 1
    shoot(page, "new-request-placed-en-1400", full_page=True)

    # A value the server refuses: the form stays as it was, the chosen file too.
    page.fill("[name='data.amount']", "99999999999999999999")
    page.click("#nr-submit")
    page.wait_for_selector("#err-amount")
    assert page.url == f"{base}/requests/new?business_type=contract"
    assert page.evaluate("document.querySelector('#document').files[0].name") == "contract.pdf"
    assert page.input_value("[name='data.purpose']") == "采购合同"
    assert _typed(page) == typed
    shoot(page, "new-request-refused-en-1400", full_page=True)

    page.fill("[name='data.amount']", "50000")
    page.click("#nr-submit")
    page.wait_for_url(re.compile(r".*/requests/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    stored = api_get(page, base, f"/requests/{request_id}")["placement"]
    assert stored["page"] == 2 and stored["size"] == 119
    assert abs(stored["x"] - after["x"]) < 2 and abs(stored["y"] - after["y"]) < 2, (stored,
                                                                                    after)
    page.context.close()
    assert_no_errors(errors, refused=(422,))  # the refused submit


def test_the_page_on_a_phone_by_touch_and_in_chinese(demo_server, browser):  # noqa: F811
    base, errors = demo_server, []
    page = _phone(browser, base, "alice", errors)
    page.goto(base + "/requests/new?business_type=contract")
    _choose_pdf(page)
    _wait_for_stamp(page)
    _fill_contract(page)
    assert len(_route(page)) == 2
    assert overflow(page) == 0
    shoot(page, "new-request-en-390", full_page=True)

    # Dragged by a finger (real touch events, through the DevTools protocol).
    before = _where(page)
    page.locator("#nr-stamp").scroll_into_view_if_needed()
    box = page.locator("#nr-stamp").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                          "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, 6):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": x - 12 * i, "y": y - 20 * i}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    after = _where(page)
    scale = after["canvas"] / A4_WIDTH
    assert abs((before["x"] - after["x"]) - 60 / scale) < 1.5, (before, after)
    assert abs((after["y"] - before["y"]) - 100 / scale) < 1.5, (before, after)
    assert after["canvas"] <= PHONE and overflow(page) == 0
    shoot(page, "new-request-dragged-en-390", full_page=True)
    # Dragged far past the page's corner: it stays inside the page.
    page.evaluate("document.querySelector('#nr-sheet').scrollIntoView({block: 'end'})")
    box = page.locator("#nr-stamp").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                          "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
        {"x": PHONE - 4, "y": 840}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    corner = _where(page)
    assert abs(corner["x"] + corner["size"] - A4_WIDTH) < 1 and abs(corner["y"]) < 1, corner
    assert float(page.input_value("#placement_y")) == 0

    # Chinese, at both widths.
    page.goto(base + "/requests/new?business_type=contract&lang=zh_CN")
    assert page.get_attribute("html", "lang") == "zh-CN"
    _choose_pdf(page)
    _wait_for_stamp(page)
    _fill_contract(page)
    _route(page)
    assert "第 2 页，共 2 页" in page.inner_text("#nr-page-label")
    assert "审批路线" in page.inner_text("#nr-route")
    assert overflow(page) == 0
    shoot(page, "new-request-zh-390", full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.reload()
    _choose_pdf(page)
    _wait_for_stamp(page)
    _fill_contract(page)
    _route(page)
    shoot(page, "new-request-zh-1400", full_page=True)
    page.context.close()
    assert_no_errors(errors)


def test_a_seal_admin_asks_to_void_a_seal_with_no_pdf(demo_server, browser):  # noqa: F811
    base, errors = demo_server, []
    page = log_in(browser, base, "carol", errors)
    page.goto(base + "/requests/new")
    assert "印章作废" in page.locator("#kind option").all_inner_texts()
    page.select_option("#kind", label="印章作废")
    page.wait_for_url(f"{base}/requests/new?business_type=seal_void")
    assert page.locator("#document").count() == 0 and page.locator("#nr-place").count() == 0
    page.fill("[name='data.reason']", "更换新章")
    steps = _route(page)
    assert steps, "the route preview names who approves the void"
    # In the demo carol is the seal's only custodian: the flow's custodian step has no one
    # left once she is the requester, and the preview says so before she submits.
    assert "no one may work the step 保管人确认" in page.inner_text("#nr-problems")
    shoot(page, "new-request-void-en-1400", full_page=True)
    page.click("#nr-submit")
    page.wait_for_url(re.compile(r".*/requests/\d+$"))
    assert "no document" in page.inner_text("body")
    page.context.close()
    assert_no_errors(errors)
