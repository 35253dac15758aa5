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
from tests.e2e.browser_pages import (  # PASSWORD and the fixtures: for older tests' imports
    PASSWORD,  # noqa: F401
    approve_in_inbox,
    assert_no_errors,
    browser,  # noqa: F401
    demo_server,  # noqa: F401
    log_in,
    shoot,
)
from tests.pdfcheck import assert_sealed

# It serves the demo (`sealflow init` on SQLite) in its own process: once per CI run is enough.
pytestmark = pytest.mark.once


def test_a_person_gets_a_contract_sealed_in_the_browser(demo_server, browser,  # noqa: F811
                                                        tmp_path):
    base = demo_server
    errors: list[str] = []
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf(pages=2, text="Purchase contract 2026-042"))

    alice = log_in(browser, base, "alice", errors)
    alice.goto(base + "/requests/new")
    alice.set_input_files("input[name=document]", str(contract))
    alice.fill("[name='data.amount']", "1500000")
    alice.fill("[name='data.purpose']", "年度采购框架合同")
    alice.click("button[type=submit]:has-text('Submit')")
    # The page submits with fetch, then opens the request (the glob matched /requests/new).
    alice.wait_for_url(lambda url: url.rsplit("/", 1)[-1].isdigit())
    request_url = alice.url

    approve_in_inbox(browser, base, "bob", errors)
    approve_in_inbox(browser, base, "lily", errors, legal_opinion="条款无误")
    approve_in_inbox(browser, base, "carol", errors)

    for _ in range(50):  # the seal is applied by a background job right after the commit
        alice.goto(request_url)
        if alice.locator("a[href$='/sealed']").count():
            break
        time.sleep(0.2)
    with alice.expect_download() as download:
        alice.click("a[href$='/sealed']")
    sealed = Path(download.value.path()).read_bytes()
    shoot(alice, "request-sealed")
    alice.context.close()
    assert_no_errors(errors)  # on the new-request, inbox, task and request pages

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
