"""The seal administration pages in Chromium, in Chinese and English, on a desktop (1400 px) and
a phone (390 px): the seals list, a seal's page, its policy page and the new-seal page, none
wider than the screen, their buttons big enough to tap. A seal admin saves a policy and sees
the flows' proof; an administrator makes a seal directly, then voids it only once its name is
typed exactly. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.e2e.browser_pages import PHONE, assert_no_errors, overflow, serving_demo, shoot
from tests.e2e.browser_pages import log_in as _page

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

SEAL = 2  # the demo's contract seal
PAGES = {"seals": "/seals", "seal": f"/seals/{SEAL}", "policy": f"/seals/{SEAL}/policy",
         "new": "/seals/new"}


@pytest.fixture(scope="module")
def seal_server(tmp_path_factory):
    """The demo, its contract seal with a policy and a suspension lifted (its history)."""
    with serving_demo(tmp_path_factory.mktemp("seals"),
                      ["seal", "policy", str(SEAL), "--demand", "custodian", "--max-uses", "500",
                       "--business-types", "contract"],
                      ["seal", "suspend", str(SEAL), "--reason", "年检送检"],
                      ["seal", "resume", str(SEAL), "--reason", "年检完毕"]) as base:
        yield base



def _unlabelled(page) -> list[str]:
    """Form controls without a label of their own (or sharing an id with another element)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        'main input:not([type=hidden]), main select, main textarea')]
      .filter(e => e.labels.length === 0 || (e.id && document.querySelectorAll(
          '#' + CSS.escape(e.id)).length > 1))
      .map(e => e.outerHTML.slice(0, 80))""")


def _small_targets(page) -> list[str]:
    """The visible buttons and button-like links of the page's content under 44 px high."""
    return page.evaluate("""() => [...document.querySelectorAll(
        'main .btn, main button, main select, main input:not([type=hidden]), main summary')]
      .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44
                   && e.type !== 'checkbox')
      .map(e => e.outerHTML.slice(0, 80))""")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_seal_pages_fit_in_both_languages(seal_server, browser, lang):
    base, errors = seal_server, []
    # carol: the seal's custodian and a seal admin; admin: also voids, revokes, changes and
    # makes seals directly.
    for name, width in (("carol", 1400), ("carol", PHONE), ("admin", 1400), ("admin", PHONE)):
        page = _page(browser, base, name, errors, width)
        page.goto(f"{base}/seals?lang={lang}")
        for label, url in PAGES.items():
            answer = page.goto(base + url)
            assert answer is not None and answer.status == 200, url
            if name == "admin":
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            shoot(page, f"seal-admin-{label}-{lang}-{name}-{width}", full_page=True)
            assert overflow(page) == 0, (url, width, overflow(page))
            assert _unlabelled(page) == [], url
            if width == PHONE:
                assert _small_targets(page) == [], url
        page.goto(base + PAGES["seal"])
        assert page.locator("#irreversible").count() == (name == "admin")
        text = page.inner_text("main")
        if lang == "en":
            assert "Uses in total at most" in text and "a custodian of the seal" in text
            assert "Suspended → Active" in text
        else:
            assert "总用印次数上限" in text and "印章保管人" in text and "年检完毕" in text
        assert "T" not in page.inner_text("table.cards td[data-label] >> nth=-1")  # no ISO
        page.context.close()
    assert_no_errors(errors)


def test_a_seal_admin_saves_a_policy_and_sees_the_proof(seal_server, browser):
    base, errors = seal_server, []
    page = _page(browser, base, "carol", errors, PHONE)
    page.goto(f"{base}/seals/{SEAL}/policy?lang=en")
    page.fill("#f-max_per_month", "lots")
    page.click("button:has-text('Save the policy')")
    assert "must be a whole number" in page.inner_text("main")
    assert page.input_value("#f-max_per_month") == "lots"  # kept
    page.fill("#f-max_per_month", "30")
    page.click("button:has-text('Save the policy')")
    page.wait_for_url(f"{base}/seals/{SEAL}/policy")
    main = page.inner_text("main")
    assert "Policy saved" in main and "Passes" in main
    assert page.input_value("#f-max_per_month") == "30"
    shoot(page, "seal-admin-policy-saved-en-390", full_page=True)
    assert overflow(page) == 0
    assert_no_errors(errors, refused=(400,))  # the refused form's answer


def test_an_admin_makes_a_seal_then_voids_it_only_with_its_name(seal_server, browser):
    base, errors = seal_server, []
    page = _page(browser, base, "admin", errors, PHONE)
    page.goto(f"{base}/seals/new?lang=en")
    page.fill("#d-name", "演示作废章")
    page.fill("#d-custodians", "carol")
    page.fill("#d-reason", "bootstrap for the test")
    page.click("button:has-text('Make the seal now')")
    page.wait_for_url(f"{base}/seals/*")
    assert "演示作废章" in page.inner_text("h1")
    page.fill("#irreversible-reason", "no longer needed")
    void = page.locator("#irreversible button[value=voided]")
    assert void.is_disabled()  # until the name is typed
    page.fill("#f-confirm_name", "演示")
    assert void.is_disabled()
    shoot(page, "seal-admin-void-unconfirmed-en-390", full_page=True)
    # Past the script (a page without it), the server refuses it all the same.
    page.evaluate("document.querySelector('#irreversible button[value=voided]')"
                  ".disabled = false")
    void.click()
    main = page.inner_text("main")
    assert "exactly to confirm" in main and "Active" in page.inner_text(".page-head")
    assert page.input_value("#irreversible-reason") == "no longer needed"
    shoot(page, "seal-admin-void-refused-en-390", full_page=True)
    page.fill("#f-confirm_name", "演示作废章")
    assert void.is_enabled()
    void.click()
    page.wait_for_load_state()
    assert "Voided" in page.inner_text(".page-head")
    assert overflow(page) == 0
    # The refused void's answer (400) is the only "failed" load.
    assert_no_errors(errors, refused=(400,))
