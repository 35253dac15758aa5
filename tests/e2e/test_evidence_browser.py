"""The evidence package from the request page in Chromium (desktop and phone, Chinese and
English): a sealed request offers it beside the sealed PDF; the download is a package that
`sealflow evidence verify` holds against the demo's root. Screenshots go to test-artifacts/."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    PHONE,
    SEALFLOW,
    api_get,
    assert_no_errors,
    complete_task,
    file_request,
    log_in,
    overflow,
    shoot,
)

pytestmark = pytest.mark.once


def test_a_sealed_requests_page_offers_its_evidence_package(browser, demo_server, tmp_path):
    base, errors = demo_server, []
    alice = log_in(browser, base, "alice", errors)
    made = file_request(alice, base, "contract_seal", make_pdf(1, "Lease 2026-09"),
                        {"amount": 40000, "purpose": "办公室租赁"})
    complete_task(log_in(browser, base, "bob", errors), base, made["id"], "dept_head_approve")
    complete_task(log_in(browser, base, "carol", errors), base, made["id"], "custodian_approve")
    for lang, width in (("zh_CN", 1400), ("en", 1400), ("zh_CN", PHONE), ("en", PHONE)):
        page = log_in(browser, base, "alice", errors, width)
        page.goto(f"{base}/requests/{made['id']}?lang={lang}")
        page.wait_for_selector("#evidence-download", timeout=90_000)
        assert overflow(page) <= 0
        shoot(page, f"request-evidence-{lang}-{width}", full_page=True)
        page.context.close()
    assert "下载存证包" in alice.goto(f"{base}/requests/{made['id']}?lang=zh_CN").text()
    with alice.expect_download() as got:
        alice.click("#evidence-download")
    package = tmp_path / got.value.suggested_filename
    got.value.save_as(package)
    assert package.name == f"evidence-request-{made['id']}.zip"
    root = tmp_path / "root.pem"
    answer = alice.request.get(f"{base}/pki/root.crt")
    root.write_bytes(answer.body())
    done = subprocess.run([SEALFLOW, "evidence", "verify", str(package), "--root", str(root)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert api_get(alice, base, f"/requests/{made['id']}")["status"] == "sealed"
    assert_no_errors(errors)
