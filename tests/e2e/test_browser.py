"""A person at a browser: the demo served by `sealflow run`, driven in Chromium (Playwright).

Alice submits a contract above 1,000,000 yuan; bob, lily (legal) and carol approve from their
inboxes; alice downloads the sealed PDF, which pdfsig and pyHanko accept and whose stamp shows
on the page.
"""

from __future__ import annotations

import io
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import make_pdf
from tests.e2e.browser_pages import PASSWORD
from tests.pdfcheck import assert_sealed

# It serves the demo (`sealflow init` on SQLite) in its own process: once per CI run is enough.
pytestmark = pytest.mark.once


def _log_in(browser, base: str, name: str):
    page = browser.new_context().new_page()
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/inbox")
    return page


def _approve(browser, base: str, name: str, **fields: str) -> None:
    page = _log_in(browser, base, name)
    page.click("a[href^='/tasks/']")
    for field, value in fields.items():
        page.fill(f"[name='data.{field}']", value)
    page.fill("textarea[name=comment]", f"{name} 同意")
    page.click("button[name=decision][value=approve]")
    page.wait_for_url(f"{base}/requests/*")
    page.context.close()


def test_a_person_gets_a_contract_sealed_in_the_browser(demo_server, browser, tmp_path):
    base = demo_server
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf(pages=2, text="Purchase contract 2026-042"))

    alice = _log_in(browser, base, "alice")
    alice.goto(base + "/requests/new")
    alice.set_input_files("input[name=document]", str(contract))
    alice.fill("[name='data.amount']", "1500000")
    alice.fill("[name='data.purpose']", "年度采购框架合同")
    alice.click("button[type=submit]:has-text('Submit')")
    alice.wait_for_url(f"{base}/requests/*")
    request_url = alice.url

    _approve(browser, base, "bob")
    _approve(browser, base, "lily", legal_opinion="条款无误")
    _approve(browser, base, "carol")

    for _ in range(50):  # the seal is applied by a background job right after the commit
        alice.goto(request_url)
        if alice.locator("a[href$='/sealed']").count():
            break
        time.sleep(0.2)
    with alice.expect_download() as download:
        alice.click("a[href$='/sealed']")
    sealed = Path(download.value.path()).read_bytes()
    alice.context.close()

    roots = urllib.request.urlopen(base + "/pki/ca", timeout=5).read()
    assert sealed.startswith(contract.read_bytes())
    # Playwright's sync API keeps an event loop running in this thread; pyHanko starts its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(assert_sealed, sealed, [roots]).result()
    # The stamp shows on the last page, bottom right, in seal red.
    (tmp_path / "sealed.pdf").write_bytes(sealed)
    png = subprocess.run(["pdftoppm", "-r", "40", "-f", "2", "-l", "2", "-png",
                          str(tmp_path / "sealed.pdf")], capture_output=True, check=True).stdout
    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    corner = image.crop((w // 2, h // 2, w, h))
    red = sum(1 for r, g, b in corner.get_flattened_data() if r > 180 and g < 80 and b < 80)
    assert red > 200, red
