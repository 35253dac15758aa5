"""What the browser tests share: the demo served by `sealflow run` and a Chromium to drive it
(fixtures), a person logged in at a width with their page's JavaScript errors collected, the
screenshots under test-artifacts/ (gitignored), and the JSON API called with a page's session,
as the pages' own scripts call it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SEALFLOW = str(Path(sys.executable).parent / "sealflow")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "sealflow-demo"
PHONE = 390  # a phone's width, in CSS pixels; pages are otherwise seen 1400 px wide


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving_demo(data_dir: Path, *setup: list[str]) -> Iterator[str]:
    """`sealflow demo` in ``data_dir``, then each ``setup`` command (sealflow's arguments: more
    users, a seal's policy), then `sealflow run` on a free port: its base URL."""
    port = _free_port()
    env = {**os.environ, "SEALFLOW_DATA_DIR": str(data_dir), "SEALFLOW_SECRET_KEY": "browser",
           "SEALFLOW_KEY_PASSPHRASE": "browser-pass", "SEALFLOW_JOB_MODE": "thread",
           "SEALFLOW_AUDIT_KEY": "browser-audit-key-0123",
           # Every page's browser comes from one address: a share link opened in four
           # layouts and then guessed at would meet the per-address limit (10 a minute), which
           # test_share_links proves, before the per-link lock test_seal_usage_browser is after.
           "SEALFLOW_SHARE_PASSWORD_RATE": "60/minute",
           "SEALFLOW_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("SEALFLOW_DATABASE_URL", None)
    demo = subprocess.run([SEALFLOW, "demo"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert demo.returncode == 0, demo.stderr
    assert "alice" in demo.stdout and PASSWORD in demo.stdout
    for args in setup:
        done = subprocess.run([SEALFLOW, *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([SEALFLOW, "run", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):  # 30 s: a loaded machine (CI, other jobs) starts it slowly
        try:
            urllib.request.urlopen(base + "/login", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.terminate()
        pytest.fail("the demo server did not start: " + (data_dir / "server.log").read_text())
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo organisation (`sealflow demo` on SQLite) served by `sealflow run`: its URL."""
    with serving_demo(tmp_path_factory.mktemp("demo")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield chromium
        chromium.close()


def log_in(browser, base: str, name: str, errors: list[str], width: int = 1400,
           touch: bool = False):
    """A page of its own (a fresh context) with `name` logged in, on the inbox, `width` px
    wide (``touch``: a phone's touch screen). Every uncaught exception and console error of
    the page is appended to `errors`, prefixed with the user's name."""
    page = browser.new_context(viewport={"width": width, "height": 900 if not touch else 844},
                               has_touch=touch, is_mobile=touch).new_page()
    page.on("pageerror", lambda exc: errors.append(f"{name}: page error {exc}"))
    page.on("console", lambda m: errors.append(f"{name}: console {m.text}")
            if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/inbox")
    return page


def assert_no_errors(errors: list[str], refused: tuple[int, ...] = ()) -> None:
    """No JavaScript error on any page. Chromium logs each refused answer ("Failed to load
    resource: ... status of 403") as a console error: those are exactly the statuses in
    `refused`, in the order they came."""
    refusals = [e for e in errors if "Failed to load resource" in e]
    statuses = [int(m.group(1)) if (m := re.search(r"status of (\d+)", e)) else 0
                for e in refusals]
    assert statuses == list(refused), refusals
    assert [e for e in errors if e not in refusals] == []


def shoot(target, name: str, **options: Any) -> Path:
    """A screenshot of a page (or of one locator's element) as it is now:
    test-artifacts/<name>.png. `options` go to Playwright's screenshot (full_page=True...)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path), **options)
    return path


# --- the JSON API, with a page's session (writes carry its CSRF token, as the pages' do) -----

def overflow(page) -> int:
    """How far the page is wider than its viewport (0: it fits, no sideways scrolling), once
    it has loaded: after a form's redirect, a selector can be found before the stylesheet
    applies, and an unstyled page is wider (a SHA-256 is one long word)."""
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _csrf(page) -> str:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token, "the page has no CSRF token (is the user logged in?)"
    return token


def api_get(page, base: str, path: str) -> Any:
    answer = page.request.get(base + "/api/v1" + path)
    assert answer.ok, f"GET {path}: {answer.status} {answer.text()}"
    return answer.json()


def wait_sealed(page, base: str, request_id: int) -> dict:
    """The request once its sealing job has sealed it (after the last approval, on the demo's
    job thread: a page read at once may come before it)."""
    for _ in range(180):
        req = api_get(page, base, f"/requests/{request_id}")
        if req["status"] == "sealed":
            return req
        time.sleep(0.5)
    raise AssertionError(f"request {request_id} is {req['status']}, not sealed")


def api_post(page, base: str, path: str, **kwargs: Any) -> Any:
    """POST with the page's session: `data=` (JSON) or `multipart=`; the answer's JSON."""
    answer = page.request.post(base + "/api/v1" + path,
                               headers={"X-CSRFToken": _csrf(page)}, **kwargs)
    assert answer.ok, f"POST {path}: {answer.status} {answer.text()}"
    return answer.json()


def file_request(page, base: str, process: str, pdf: bytes, data: dict[str, Any]) -> dict:
    """The page's user files a request on `process` with the demo's first active seal."""
    seal = next(s for s in api_get(page, base, "/seals") if s["status"] == "active")
    return api_post(page, base, "/requests", multipart={
        "process": process, "seal": str(seal["id"]), "data": json.dumps(data),
        "document": {"name": "contract.pdf", "mimeType": "application/pdf", "buffer": pdf}})


def complete_task(page, base: str, request_id: int, element_id: str,
                  data: dict[str, Any] | None = None, decision: str = "approve") -> dict:
    """The page's user decides their open task at `element_id` of the request (one of their
    GET /tasks): the request after."""
    task = next(t for t in api_get(page, base, "/tasks")
                if t["request_id"] == request_id and t["element_id"] == element_id)
    answer = api_post(page, base, f"/tasks/{task['id']}/complete", data={
        "decision": decision, "comment": f"{element_id}: {decision}", "data": data or {}})
    return answer["request"]


def approve_in_inbox(browser, base: str, name: str, errors: list[str], **fields: str) -> None:
    """`name` opens the first task of their inbox, fills its form `fields` and approves."""
    page = log_in(browser, base, name, errors)
    page.click("a[href^='/tasks/']")
    for field, value in fields.items():
        page.fill(f"[name='data.{field}']", value)
    page.fill("textarea[name=comment]", f"{name} 同意")
    page.click("button[name=decision][value=approve]")
    # the next task opens, or the inbox: either says what was done
    page.wait_for_selector(".flash.success")
    page.context.close()


# The studio's modeler (bpmn-js and its properties panel).

def panel_group(page, title: str) -> None:
    """Open a group of the properties panel (they start closed) by its header."""
    header = page.locator(".bio-properties-panel-group-header", has_text=title).first
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def on_screen(page, flow_id: str) -> tuple[float, float]:
    """Where, on the page, a quarter of the way down the last leg of a sequence flow is."""
    return tuple(page.evaluate("""(id) => {
      const { modeler } = window.SealflowStudio;
      const [a, b] = modeler.get('elementRegistry').get(id).waypoints.slice(-2);
      const vb = modeler.get('canvas').viewbox();
      const box = document.getElementById('studio-canvas').getBoundingClientRect();
      const x = a.x + (b.x - a.x) / 4, y = a.y + (b.y - a.y) / 4;
      return [box.left + (x - vb.x) * vb.scale, box.top + (y - vb.y) * vb.scale];
    }""", flow_id))
