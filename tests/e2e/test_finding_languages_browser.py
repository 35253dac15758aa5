"""The decision-table page's Validate and the compare page in Chromium, in Chinese and in
English, on a desktop and on a phone: the findings and the changed properties are in the
page's language. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.e2e.browser_pages import PHONE, assert_no_errors, log_in, shoot
from tests.e2e.test_decisions_browser import _edit_cell

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

OVERLAP = {"zh_CN": "规则 Rule_contract_large（第 3 行）与 Rule_contract_small（第 4 行）相互重叠",
           "en": "Rule_contract_large (row 3) and Rule_contract_small (row 4) overlap"}
TARGET = {"zh_CN": "命中策略", "en": "hit policy"}


def test_validate_and_the_compare_page_speak_the_callers_language(demo_server, browser):
    base, errors = demo_server, []
    for lang in ("zh_CN", "en"):
        for width, touch, where in ((1400, False, "desktop"), (PHONE, True, "phone")):
            dave = log_in(browser, base, "dave", errors, width=width, touch=touch)
            dave.goto(f"{base}/processes/contract_seal/decisions?lang={lang}")
            dave.wait_for_selector("body[data-decisions=ready]")
            _edit_cell(dave, "> 1000000", "> 500000")
            dave.click("#decisions-validate")
            dave.wait_for_selector('td.sf-warning-cell[data-row-id="Rule_contract_small"]')
            assert OVERLAP[lang] in dave.inner_text("#decisions-problems")
            shoot(dave, f"findings-{lang}-{where}", full_page=True)
            dave.context.close()

    # Version 2: the table's hit policy FIRST, deployed by the page's own fetch (two files).
    dave = log_in(browser, base, "dave", errors)
    dave.goto(base + "/processes/contract_seal/decisions")
    status = dave.evaluate("""async () => {
      const v1 = await (await fetch('/api/v1/processes/contract_seal/versions/1')).json();
      const form = new FormData();
      for (const [name, text] of Object.entries(v1.files)) {
        const changed = name.endsWith('.dmn')
          ? text.replace('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"') : text;
        form.append('file', new Blob([changed], { type: 'application/xml' }), name);
      }
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      const resp = await fetch('/api/v1/processes', { method: 'POST', body: form,
                                                       headers: { 'X-CSRFToken': csrf } });
      return resp.status;
    }""")
    assert status == 201
    dave.context.close()
    for lang in ("zh_CN", "en"):
        for width, touch, where in ((1400, False, "desktop"), (PHONE, True, "phone")):
            dave = log_in(browser, base, "dave", errors, width=width, touch=touch)
            dave.goto(f"{base}/processes/contract_seal/diff?from=1&to=2&lang={lang}")
            assert TARGET[lang] in dave.inner_text("#diff-changes")
            shoot(dave, f"diff-{lang}-{where}", full_page=True)
            dave.context.close()
    assert_no_errors(errors)
