"""Issue 12's proof, in Chromium, as the demo organisation works: alice drags the contract seal
onto her PDF's page, reads the route preview and submits; each approver works from the inbox
(bob delegates to olivia, lily returns it for revision with a reason, alice revises and
resubmits, then everyone approves, lily with her legal opinion); alice's page follows the
sealing by itself; the history shows the form's data; the sealed PDF's stamp sits where it was
dragged (poppler's pdftoppm: the red pixels' centre within 5 pt). Then carol, the custodian,
is away and a new task of hers goes to her deputy; bob approves two requests at once and reads
each result. Finally the key pages in English (?lang=en, and an English browser) and Chinese (a
zh-CN browser), 1400 and 390 px wide: no word of the other language, nothing wider than a
phone, no JavaScript error. Screenshots: test-artifacts/everyday-*.png."""

from __future__ import annotations

import html
import io
import re
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from PIL import Image

from app.demo import BUSINESS_TYPES, USERS
from tests.conftest import make_pdf
from tests.e2e.browser_pages import (  # noqa: F401 - fixtures
    PASSWORD,
    PHONE,
    ROOT,
    api_get,
    assert_no_errors,
    browser,
    demo_server,
    file_request,
    log_in,
    shoot,
)

pytestmark = pytest.mark.once

A4 = (595.2756, 841.8898)  # make_pdf's pages, in points
CATALOGUE = ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def _task_link(page, base: str, request_id: int):
    """From the inbox: the link to the caller's open task on the request."""
    task = next(t["id"] for t in api_get(page, base, "/tasks") if t["request_id"] == request_id)
    page.goto(base + "/inbox")
    page.click(f".inbox-list a[href^='/tasks/{task}']")
    page.wait_for_selector("#doc-view[data-ready=true]")
    return task


def _decide(page, decision: str, comment: str, **fields: str) -> None:
    for field, value in fields.items():
        page.fill(f"[name='data.{field}']", value)
    page.fill("#comment", comment)
    if decision == "reject":
        page.check("input[name=confirm_reject]")
    page.click(f"#decision-form button[name=decision][value={decision}]")
    page.wait_for_selector(".flash.success")


def _drag(page, dx: float, dy: float) -> None:
    page.evaluate("document.querySelector('#nr-stamp').scrollIntoView({block: 'center'})")
    box = page.locator("#nr-stamp").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def _red_centre(pdf: Path, page_no: int) -> tuple[float, float]:
    """The centre of the red pixels of a page drawn at 72 dpi (a pixel a point), in points from
    the page's lower-left corner."""
    png = subprocess.run(["pdftoppm", "-r", "72", "-f", str(page_no), "-l", str(page_no),
                          "-png", str(pdf)], capture_output=True, check=True).stdout
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    xs, ys = [], []
    for i, (r, g, b) in enumerate(image.get_flattened_data()):
        if r > 150 and g < 110 and b < 110:
            xs.append(i % width + 0.5)
            ys.append(height - (i // width + 0.5))
    assert len(xs) > 500, len(xs)  # a stamp, not a stray pixel
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _data_words(base: str, page) -> list[str]:
    """What the pages show as data, the same in both languages: people's display names, the
    business types, the seals' names, the flows' step names, what was typed."""
    words = [u[1] for u in USERS] + [name for _key, name in BUSINESS_TYPES.values()]
    words += [s["name"] for s in api_get(page, base, "/seals")]
    for request in api_get(page, base, "/requests?limit=200"):
        detail = api_get(page, base, f"/requests/{request['id']}")
        words += [h["name"] for h in detail["history"]] + [t["name"] for t in detail["tasks"]]
        words += [str(v) for v in (detail.get("data") or {}).values()]
        words += [h.get("comment") or "" for h in detail["history"]]
    # the flow's own names, which its diagram shows (steps, gateways, ends, lanes)
    xml = api_get(page, base, f"/requests/{request['id']}/diagram")["xml"]
    words += [html.unescape(n) for n in re.findall(r'\bname="([^"]+)"', xml)]
    words += ["年度采购框架合同", "请补充第5条违约责任", "已补充第5条", "条款无误", "出差"]
    return sorted({w for w in words if w}, key=len, reverse=True)


def _foreign_words(text: str, lang: str, data: list[str]) -> list[str]:
    """Words of the other language's catalogue on a page: zh_Hans_CN's translations on an
    English page, its English msgids on a Chinese one (data taken out first)."""
    for word in data:
        text = text.replace(word, " ")
    with open(CATALOGUE, "rb") as f:
        catalogue = read_po(f)
    if lang == "en":
        found = {m.string for m in catalogue if isinstance(m.string, str) and len(m.string) >= 3
                 and re.search(r"[\u4e00-\u9fff]{3}", m.string) and m.string in text}
    else:
        found = {m.id for m in catalogue if isinstance(m.id, str) and m.id.count(" ") >= 2
                 and "%(" not in m.id and m.id in text}
    return sorted(found)


def test_a_contract_from_the_dragged_seal_to_the_stamp(demo_server, browser,  # noqa: F811
                                                       tmp_path):
    base = demo_server
    errors: list[str] = []

    # Alice: the kind, the PDF, the seal dragged, the route, submit.
    alice = log_in(browser, base, "alice", errors)
    alice.goto(base + "/requests/new?business_type=contract")
    alice.set_input_files("#document", files=[{
        "name": "contract.pdf", "mimeType": "application/pdf",
        "buffer": make_pdf(pages=2, text="Purchase contract 2026-042")}])
    alice.wait_for_function("() => { const s = document.querySelector('#nr-stamp');"
                            " return s && s.getBoundingClientRect().width > 0 }")
    alice.fill("[name='data.amount']", "1500000")
    alice.fill("[name='data.purpose']", "年度采购框架合同")
    alice.click("#nr-prev")  # the seal starts on the last page; this one goes on page 1
    alice.wait_for_function("() => document.querySelector('#nr-page-label').textContent"
                            ".startsWith('Page 1')")
    _drag(alice, -200, -350)
    placed = {k: float(alice.input_value(f"#placement_{k}")) for k in ("page", "x", "y", "size")}
    assert placed["page"] == 1 and placed["size"] == 119
    alice.wait_for_selector("#nr-route[data-state=done]")
    route = alice.locator("#nr-steps li").all_inner_texts()
    assert [next(n for n in ("张伟", "李娜", "陈静") if n in step) for step in route] == \
        ["张伟", "李娜", "陈静"], route
    shoot(alice, "everyday-new-request-en-1400", full_page=True)
    alice.click("#nr-submit")
    alice.wait_for_url(re.compile(r".*/requests/\d+$"))
    rid = int(alice.url.rsplit("/", 1)[1])
    stored = api_get(alice, base, f"/requests/{rid}")["placement"]
    assert stored["page"] == 1 and abs(stored["x"] - placed["x"]) < 0.5 \
        and abs(stored["y"] - placed["y"]) < 0.5

    # Bob delegates to olivia (转办); olivia approves.
    bob = log_in(browser, base, "bob", errors)
    _task_link(bob, base, rid)
    bob.click("#act-delegate summary")
    bob.select_option("#delegate-to", "olivia")
    bob.fill("#delegate-reason", "出差")
    bob.click("#act-delegate button[type=submit]")
    bob.wait_for_selector(".flash.success")
    olivia = log_in(browser, base, "olivia", errors)
    _task_link(olivia, base, rid)
    _decide(olivia, "approve", "同意")

    # Lily returns it for revision with a reason; alice revises and resubmits.
    lily = log_in(browser, base, "lily", errors)
    _task_link(lily, base, rid)
    lily.fill("[name='data.legal_opinion']", "第5条需补充")
    _decide(lily, "return", "请补充第5条违约责任")
    _task_link(alice, base, rid)
    _decide(alice, "approve", "已补充第5条")

    # Then everyone approves: bob (the approvals start again), lily with her opinion, carol.
    _task_link(bob, base, rid)
    _decide(bob, "approve", "同意")
    _task_link(lily, base, rid)
    _decide(lily, "approve", "可以盖章", legal_opinion="条款无误")
    alice.goto(f"{base}/requests/{rid}")  # she waits on her request's page
    carol = log_in(browser, base, "carol", errors)
    _task_link(carol, base, rid)
    _decide(carol, "approve", "准予用印")

    # Alice's page reloads itself once sealed; the history has the legal opinion.
    alice.wait_for_selector("a[href$='/sealed']", timeout=90_000)
    history = alice.inner_text(".timeline")
    for words in ("法务意见", "条款无误", "请补充第5条违约责任", "林晓 (办公室) (olivia)"):
        assert words in history, words
    shoot(alice, "everyday-request-sealed-en-1400", full_page=True)
    sealed = alice.request.get(f"{base}/requests/{rid}/sealed")
    assert sealed.ok
    (tmp_path / "sealed.pdf").write_bytes(sealed.body())
    x, y = _red_centre(tmp_path / "sealed.pdf", 1)
    centre = (placed["x"] + placed["size"] / 2, placed["y"] + placed["size"] / 2)
    assert abs(x - centre[0]) <= 5 and abs(y - centre[1]) <= 5, ((x, y), centre)

    # Carol, the seal's custodian, is away from today: her new tasks go to her deputy, olivia.
    carol.goto(base + "/me#away")
    today = date.today()
    carol.get_by_label("First day away").fill(today.isoformat())
    carol.get_by_label("Last day away").fill((today + timedelta(days=3)).isoformat())
    carol.get_by_label("Deputy (user name)").fill("olivia")
    carol.click("#away button[type=submit]")
    carol.wait_for_selector(".flash.success")
    shoot(carol, "everyday-me-away-en-1400", full_page=True)
    big = file_request(alice, base, "contract_seal", make_pdf(text="Contract 2026-043"),
                       {"amount": 2_000_000, "purpose": "设备采购"})["id"]
    small = file_request(alice, base, "contract_seal", make_pdf(text="Contract 2026-044"),
                         {"amount": 30_000, "purpose": "办公用品"})["id"]

    # Bob approves both at once from the inbox; each result is said.
    bob.goto(base + "/inbox")
    for request_id in (big, small):
        bob.locator(".inbox-list tr", has_text=f"#{request_id}").locator(
            "input[name=task]").check()
    bob.on("dialog", lambda dialog: dialog.accept())
    bob.click("button:has-text('Approve selected')")
    bob.wait_for_selector(".bulk-results")
    assert bob.locator(".bulk-results li.ok").count() == 2
    results = bob.inner_text(".bulk-results")
    assert f"#{big}" in results and f"#{small}" in results
    shoot(bob, "everyday-bulk-results-en-1400", full_page=True)
    # The small one's custodian step is olivia's now, not carol's; the big one is at Legal.
    assert any(t["request_id"] == small for t in api_get(olivia, base, "/tasks"))
    assert not any(t["request_id"] == small for t in api_get(carol, base, "/tasks"))
    olivia.goto(base + "/inbox")
    assert olivia.locator(".inbox-list", has_text=f"#{small}").count() == 1
    assert any(t["request_id"] == big for t in api_get(lily, base, "/tasks"))

    # The key pages in both languages, at both widths.
    data = _data_words(base, alice)
    task = next(t["id"] for t in api_get(lily, base, "/tasks") if t["request_id"] == big)
    pages = {"inbox": ("lily", "/inbox"), "task": ("lily", f"/tasks/{task}"),
             "new-request": ("alice", "/requests/new?business_type=contract"),
             "my-requests": ("alice", "/requests"), "request": ("alice", f"/requests/{rid}"),
             "seals": ("carol", "/seals"), "me": ("carol", "/me")}
    for lang, locale, query in (("en", "en-US", "?lang=en"), ("en", "en-US", ""),
                                ("zh", "zh-CN", "")):
        for width in (1400, PHONE):
            people = {}
            for name in {who for who, _path in pages.values()}:
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              locale=locale)
                page = context.new_page()
                page.on("pageerror", lambda exc, n=name: errors.append(f"{n}: {exc}"))
                page.on("console", lambda m, n=name: errors.append(f"{n}: console {m.text}")
                        if m.type == "error" else None)
                page.goto(base + "/login")
                page.fill("input[name=name]", name)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/inbox")
                people[name] = page
            for key, (who, path) in pages.items():
                page = people[who]
                page.goto(base + path + (("&" if "?" in path else "?") + query[1:]
                                         if query else ""))
                if key == "task":
                    page.wait_for_selector("#doc-view[data-ready=true]")
                expected = "en" if lang == "en" else "zh-CN"
                assert page.get_attribute("html", "lang") == expected, (key, lang)
                text = page.inner_text("body")
                foreign = _foreign_words(text, lang, data)
                assert foreign == [], (key, lang, width, foreign, page.url)
                # the check finds words: this page's own, taken for the other language's
                assert _foreign_words(text, "zh" if lang == "en" else "en", data), key
                if width == PHONE:
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    assert wide == PHONE, (key, lang, wide)
                if query or lang == "zh":
                    shoot(page, f"everyday-{key}-{lang}-{width}", full_page=True)
            for page in people.values():
                page.context.close()
    time.sleep(0.5)  # the last pages' late console messages
    assert_no_errors(errors)


PHONE_PAGES = ["/inbox", "/inbox?tab=done", "/requests", "/requests/new", "/requests/{rid}",
               "/tasks/{task}", "/seals", "/seals/{seal}", "/seals/{seal}/policy", "/seals/new",
               "/processes", "/processes/contract_seal", "/processes/business-types",
               "/admin/users", "/admin/users/alice", "/admin/groups", "/admin/groups/legal",
               "/admin/incidents", "/me", "/verify", "/requests/999999"]
"""Every page but the editors (the modeler, the decision tables: read-only on a phone), as an
administrator sees it (the most on each), and a page that is not found."""


def test_no_page_scrolls_sideways_on_a_phone(demo_server, browser):  # noqa: F811
    base, errors = demo_server, []
    alice = log_in(browser, base, "alice", errors)
    rid = file_request(alice, base, "contract_seal", make_pdf(text="Contract 2026-050"),
                       {"amount": 2_000_000, "purpose": "手机查看"})["id"]
    bob = log_in(browser, base, "bob", errors)
    task = next(t["id"] for t in api_get(bob, base, "/tasks") if t["request_id"] == rid)
    seal = api_get(bob, base, "/seals")[0]["id"]
    for lang in ("en", "zh_CN"):
        admin = log_in(browser, base, "admin", errors, PHONE)
        for path in PHONE_PAGES:
            url = base + path.format(rid=rid, task=task, seal=seal)
            admin.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
            wide = admin.evaluate("document.documentElement.scrollWidth")
            assert wide == PHONE, (path, lang, wide)
        admin.context.close()
    page = browser.new_context(viewport={"width": PHONE, "height": 800}).new_page()
    page.goto(base + "/login")
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE
    assert_no_errors(errors, refused=(404, 404))  # the page not found, in each language
