"""The verify page in Chromium, in Chinese and English, on a desktop (1400 px) and a phone
(390 px): a sealed contract is green with its seal drawn on a thumbnail of its page; the same
file changed after sealing is one red verdict with nothing green beside it; the root's
fingerprint and the steps to trust it are there; nothing is wider than the screen and no
JavaScript error. The log-in and error pages fit a phone too. Screenshots go to test-artifacts/
(gitignored): verify-<valid|tampered>-<lang>-<width>.png, login-<lang>-390.png,
error-<lang>-390.png."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    api_get,
    api_post,
    assert_no_errors,
    browser,  # noqa: F401
    demo_server,  # noqa: F401
    log_in,
    overflow,
    shoot,
)
from tests.e2e.test_verify import _replace_page_text

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

SEAL = 2  # the demo's contract seal
WIDTHS = (1400, 390)
LANGS = ("zh_CN", "en")


def _sealed_contract(browser, base: str, errors: list[str]) -> tuple[int, bytes]:  # noqa: F811
    """Alice files a contract, bob and carol approve it (the API, with their pages' sessions);
    the request's id and the sealed PDF."""
    alice = log_in(browser, base, "alice", errors)
    filed = api_post(alice, base, "/requests", multipart={
        "process": "contract_seal", "seal": str(SEAL),
        "data": json.dumps({"amount": 50000, "purpose": "采购合同"}),
        "document": {"name": "contract.pdf", "mimeType": "application/pdf",
                     "buffer": make_pdf(pages=2, text="Contract 2026-042 page")}})
    for name in ("bob", "carol"):
        person = log_in(browser, base, name, errors)
        (task,) = [t for t in api_get(person, base, "/tasks")
                   if t["request_id"] == filed["id"]]
        api_post(person, base, f"/tasks/{task['id']}/complete",
                 data={"decision": "approve", "comment": f"{name} 同意"})
        person.context.close()
    for _ in range(100):  # the seal is applied by a background job right after the commit
        answer = alice.request.get(f"{base}/api/v1/requests/{filed['id']}/sealed")
        if answer.ok:
            sealed = answer.body()
            alice.context.close()
            return filed["id"], sealed
        time.sleep(0.2)
    pytest.fail("the contract was not sealed")



def _anonymous(browser, width: int, errors: list[str]):  # noqa: F811
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.on("pageerror", lambda exc: errors.append(f"page error {exc}"))
    page.on("console", lambda m: errors.append(f"console {m.text}")
            if m.type == "error" else None)
    return page


def _verify(page, base: str, lang: str, name: str, data: bytes) -> None:
    page.goto(f"{base}/verify?lang={lang}")
    page.set_input_files("#file", files=[{"name": name, "mimeType": "application/pdf",
                                         "buffer": data}])
    with page.expect_navigation():
        page.click("form button[type=submit]")


def _seal_on_its_thumbnail(page) -> None:
    """The first signature's page is drawn, and its seal's box lies on it, not a dot."""
    image = page.locator(".thumb-frame img").first
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    frame, box = image.bounding_box(), page.locator(".seal-box").first.bounding_box()
    assert frame and box and box["width"] > 8 and box["height"] > 8
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
    assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1
    # The demo's stamp sits at the bottom right of the last page.
    assert box["x"] > frame["x"] + frame["width"] / 2
    assert box["y"] > frame["y"] + frame["height"] / 2


def test_the_verify_page_in_both_languages_on_a_desktop_and_a_phone(demo_server,  # noqa: F811
                                                                    browser):  # noqa: F811
    base = demo_server
    errors: list[str] = []
    request_id, sealed = _sealed_contract(browser, base, errors)
    tampered = _replace_page_text(sealed, b"Contract 9999-999 page 1")
    words = {"zh_CN": ("有效", "无效", "下载根证书"),
             "en": ("Valid", "Invalid", "Download the root certificate")}
    for lang in LANGS:
        valid_word, invalid_word, download = words[lang]
        for width in WIDTHS:
            page = _anonymous(browser, width, errors)
            _verify(page, base, lang, "contract.pdf", sealed)
            assert page.locator(".sig").count() == 1
            assert page.locator(".sig.sig-valid .badge.verdict").inner_text() == valid_word
            assert page.locator(".sig .decision-reject").count() == 0
            _seal_on_its_thumbnail(page)
            assert page.locator(".trust-root .fingerprint").inner_text().count(":") == 31
            assert page.locator(f".trust-root a:has-text('{download}')").count() == 1
            assert overflow(page) == 0, (lang, width, overflow(page))
            shoot(page, f"verify-valid-{lang}-{width}", full_page=True)

            _verify(page, base, lang, "forged.pdf", tampered)
            card = page.locator(".sig")
            assert card.count() == 1 and page.locator(".sig.sig-invalid").count() == 1
            assert card.locator(".badge.verdict").inner_text() == invalid_word
            # One colour: the verdict's. Nothing green on the signature's card.
            assert card.locator(".decision-approve").count() == 0
            assert card.locator(".decision-reject").count() >= 2  # the verdict and the finding
            _seal_on_its_thumbnail(page)
            assert "sig-invalid" in (page.locator(".seal-box").first.get_attribute("class")
                                     or "")
            assert overflow(page) == 0, (lang, width, overflow(page))
            shoot(page, f"verify-tampered-{lang}-{width}", full_page=True)
            page.context.close()

    # The sealed request's page says how to trust the root too, folded under its title.
    for lang in LANGS:
        for width in WIDTHS:
            alice = log_in(browser, base, "alice", errors, width)
            alice.goto(f"{base}/requests/{request_id}?lang={lang}")
            fold = alice.locator(".trust-root-fold")
            assert not fold.locator(".fingerprint").is_visible()
            fold.locator("> summary").click()
            assert fold.locator(".fingerprint").inner_text().count(":") == 31
            assert overflow(alice) == 0, (lang, width, overflow(alice))
            shoot(alice, f"request-trust-root-{lang}-{width}", full_page=True)
            alice.context.close()

    # The log-in page (with its language switch), and an error page, on a phone.
    other = {"zh_CN": "English", "en": "中文"}
    missing = {"zh_CN": "没有这个页面", "en": "There is no such page here"}
    for lang in LANGS:
        page = _anonymous(browser, 390, errors)
        page.goto(f"{base}/login?lang={lang}")
        assert overflow(page) == 0
        assert page.locator("button[type=submit]").bounding_box()["height"] >= 44
        switch = page.locator(f".login-lang a:has-text('{other[lang]}')")
        assert switch.bounding_box()["height"] >= 44
        shoot(page, f"login-{lang}-390", full_page=True)
        answer = page.goto(f"{base}/verify/nothing-here?lang={lang}")
        assert answer is not None and answer.status == 404
        assert missing[lang] in page.locator("main").inner_text()
        assert overflow(page) == 0
        shoot(page, f"error-{lang}-390", full_page=True)
        page.context.close()
    assert_no_errors(errors, refused=(404, 404))
