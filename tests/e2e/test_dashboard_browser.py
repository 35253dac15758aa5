"""The dashboard in Chromium, on the demo organisation with requests filed and sealed through
its pages' API: every chart drawn, its table below; on a 390 px phone nothing is wider than
the screen and the tables are cards; Chinese and English. Screenshots under test-artifacts/."""

from __future__ import annotations

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    PHONE,
    assert_no_errors,
    complete_task,
    file_request,
    log_in,
    shoot,
    wait_sealed,
)

pytestmark = pytest.mark.once


def _fill(browser, base: str, errors: list[str]) -> None:
    """Alice files four contracts; Bob approves three, Carol seals two; one waits on Bob."""
    alice = log_in(browser, base, "alice", errors)
    filed = [file_request(alice, base, "contract_seal", make_pdf(text=f"Contract {i}"),
                          {"amount": 50000, "purpose": "采购合同"})["id"] for i in range(4)]
    bob = log_in(browser, base, "bob", errors)
    for request_id in filed[:3]:
        complete_task(bob, base, request_id, "dept_head_approve")
    carol = log_in(browser, base, "carol", errors)
    for request_id in filed[:2]:
        complete_task(carol, base, request_id, "custodian_approve")
    for request_id in filed[:2]:  # the uses chart counts sealed documents
        wait_sealed(alice, base, request_id)
    for page in (alice, bob, carol):
        page.context.close()


def test_the_dashboard_at_a_desk_and_on_a_phone(browser, demo_server):
    errors: list[str] = []
    _fill(browser, demo_server, errors)
    for width in (1400, PHONE):
        page = log_in(browser, demo_server, "audrey", errors, width=width, touch=width == PHONE)
        for lang in ("en", "zh_CN"):
            page.goto(f"{demo_server}/dashboard?lang={lang}")
            charts = page.locator("svg.chart")
            assert charts.count() >= 4  # uses, lead per flow and per step, open tasks
            assert page.locator("svg.chart title").first.text_content()
            nav = page.locator("nav.nav a.active")
            assert nav.inner_text() == ("Dashboard" if lang == "en" else "统计看板")
            if width == PHONE:
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= PHONE, f"{wide} px wide on a {PHONE} px phone ({lang})"
                # a table's header row is hidden: each row is a card with its labels
                assert not page.locator("table.dash-table thead").first.is_visible()
                for box in page.locator("svg.chart").all():
                    assert box.bounding_box()["width"] <= PHONE
            shoot(page, f"dashboard-{width}-{lang}", full_page=True)
        # the filters are in the address, as the API takes them
        page.goto(f"{demo_server}/dashboard?lang=en")
        page.select_option("#d-flow", "contract_seal")
        page.click("button[type=submit].primary")
        assert "flow=contract_seal" in page.url
        assert page.locator("#d-flow").input_value() == "contract_seal"
        page.context.close()
    assert_no_errors(errors)
