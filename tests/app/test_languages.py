"""Two languages (app/i18n.py): the page's language follows ?lang= (remembered), else the
browser's Accept-Language, else Chinese; domain errors answer in it too, their code unchanged;
and no page string lacks a Chinese translation."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.web.present import action_label, decision_label, localtime
from tests.conftest import submit

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
ZH = "zh-CN,zh;q=0.9"
EN = "en-US,en;q=0.9"


def _lang(page) -> str:
    found = re.search(r'<html lang="([^"]+)"', page.text)
    assert found, page.text[:200]
    return found.group(1)


def test_accept_language_picks_the_language_and_chinese_is_the_default(client):
    zh = client.get("/verify", headers={"Accept-Language": ZH})
    assert _lang(zh) == "zh-CN" and "验证电子印章" in zh.text and "Verify seals" not in zh.text
    en = client.get("/verify", headers={"Accept-Language": EN})
    assert _lang(en) == "en" and "Verify seals" in en.text and "验证电子印章" not in en.text
    # A browser preferring English but accepting Chinese gets English; a client asking nothing
    # (or for a language Sealflow does not speak) gets Chinese.
    assert _lang(client.get("/verify", headers={"Accept-Language": "en-GB,zh;q=0.5"})) == "en"
    assert _lang(client.get("/verify", headers={"Accept-Language": "fr-FR"})) == "zh-CN"
    bare = client.get("/verify")
    assert _lang(bare) == "zh-CN" and "验证电子印章" in bare.text


def test_lang_in_the_address_wins_and_is_remembered(client):
    page = client.get("/verify?lang=en", headers={"Accept-Language": ZH})
    assert _lang(page) == "en" and "Verify seals" in page.text
    assert "sealflow_lang=en" in page.headers.get("Set-Cookie", "")
    # The next page without ?lang stays English, although the browser prefers Chinese.
    later = client.get("/login", headers={"Accept-Language": ZH})
    assert _lang(later) == "en" and "Log in" in later.text and "登录" not in later.text
    back = client.get("/login?lang=zh_CN", headers={"Accept-Language": EN})
    assert _lang(back) == "zh-CN" and "登录" in back.text
    assert _lang(client.get("/verify", headers={"Accept-Language": EN})) == "zh-CN"


def test_the_language_survives_logging_in(app, login, org):
    alice = login("alice", language="")
    assert _lang(alice.get("/inbox")) == "zh-CN"
    assert _lang(alice.get("/inbox?lang=en")) == "en"
    # Logging in again (a new session) keeps the cookie's language.
    alice.post("/logout")
    alice.post("/login", data={"name": "alice", "password": "correct-horse-1"})
    inbox = alice.get("/inbox")
    assert _lang(inbox) == "en" and "Inbox" in inbox.text and "待办" not in inbox.text


def test_the_switch_links_to_this_page_in_the_other_language(client):
    zh = client.get("/verify?x=1", headers={"Accept-Language": ZH})
    link = re.search(r'<a href="([^"]+)" hreflang="en"[^>]*>English</a>', zh.text)
    assert link and link.group(1).replace("&amp;", "&") == "/verify?x=1&lang=en"
    en = client.get(link.group(1).replace("&amp;", "&"))
    assert _lang(en) == "en"
    assert re.search(r'<a href="/verify\?x=1&amp;lang=zh_CN" hreflang="zh-CN"[^>]*>中文</a>',
                     en.text)


def test_states_and_times_are_words_in_the_language(app, login, org, pdf):
    resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    request_id = resp.get_json()["id"]
    alice = login("alice", language=ZH)
    zh = alice.get(f"/requests/{request_id}").text
    assert "审批中" in zh and ">running<" not in zh
    en = alice.get(f"/requests/{request_id}?lang=en").text
    assert "Running" in en and "审批中" not in en
    when = datetime(2026, 12, 5, 13, 16, 19, tzinfo=UTC)  # 21:16 in Asia/Shanghai
    with app.test_request_context("/?lang=en"):
        assert localtime(when) == "2026-12-05 21:16"
        assert localtime(when, "long").startswith("December 5, 2026")
    with app.test_request_context("/?lang=zh_CN"):
        assert localtime(when, "long").startswith("2026年12月5日")
        assert (action_label("seal.changed"), decision_label("reject")) == ("印章已变更", "驳回")
        assert action_label("some.new_action") == "some.new_action"
    with app.test_request_context("/?lang=en"):
        assert (action_label("seal.changed"), decision_label("reject")) == \
            ("Seal changed", "Rejected")


def _tight_policy(app, seal_id: int) -> None:
    from app.extensions import db
    from processes.db import unit_of_work
    from processes.models import Seal
    from processes.seals import policy
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, seal_id), actor=None, max_pages=0)


def test_a_policy_refusal_answers_in_the_callers_language_with_the_same_code(app, org, pdf):
    _tight_policy(app, org.seal_id)
    answers = {}
    for lang in (ZH, EN):
        resp = submit(org.alice, org.seal_id, pdf, headers={"Accept-Language": lang})
        assert resp.status_code == 422
        answers[lang] = resp.get_json()["error"]
    zh, en = answers[ZH], answers[EN]
    assert zh["code"] == en["code"] == "policy_refused"
    assert en["message"] == ("the seal's policy refuses this use (max_pages): the document has "
                             f"1 pages; seal {org.seal_id} allows at most 0")
    assert zh["message"] == (f"印章的使用规则不允许此次用印（max_pages）：文件共 1 页；印章 "
                             f"{org.seal_id} 最多允许 0 页")
    assert zh["problems"][0]["rule"] == en["problems"][0]["rule"] == "max_pages"
    assert zh["problems"][0]["message"].startswith("文件共 1 页")
    # A script that asks for no language keeps the API's English.
    bare = submit(org.alice, org.seal_id, pdf).get_json()["error"]
    assert bare["message"] == en["message"] and bare["code"] == "policy_refused"


def test_a_form_error_on_the_page_is_in_the_pages_language(app, login, org, pdf):
    alice = login("alice", language=ZH)
    for lang, expected in (("zh_CN", "必须是整数"), ("en", "must be a whole number")):
        form = {"process": "contract_seal", "seal": str(org.seal_id),
                "document": (io.BytesIO(pdf), "contract.pdf"), "data.amount": "many",
                "data.purpose": "采购合同", "data.counterparty": "某某公司"}
        page = alice.post(f"/requests/new?lang={lang}", data=form,
                          content_type="multipart/form-data")
        assert page.status_code == 422
        assert expected in page.text, page.text
    api = submit(org.alice, org.seal_id, pdf, data={"amount": "many", "purpose": "x"},
                 headers={"Accept-Language": ZH})
    error = api.get_json()["error"]
    assert error["code"] == "invalid" and "必须是整数" in error["message"]


def _msgids(path: Path) -> set:
    with path.open("rb") as f:
        return {(m.context, m.id) for m in read_po(f) if m.id}


def test_every_page_string_has_a_chinese_translation():
    with (TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert not untranslated, f"add their Chinese to the zh_CN catalogue: {untranslated}"
    assert _msgids(TRANSLATIONS / "messages.pot") <= {(m.context, m.id) for m in catalog
                                                     if m.id}


@pytest.mark.parametrize("lang", ["zh_Hans_CN", "en"])
def test_the_catalogues_are_up_to_date_with_the_templates_and_code(tmp_path, lang):
    """A string added to a template or the code without `make messages` (extract, update)
    fails here: the catalogues must hold exactly what the sources say."""
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "extract", "-F",
                    "babel.cfg", "-k", "_l", "-k", "msg", "-k", "_p:1c,2", "-k",
                    "lazy_pgettext:1c,2", "-o", str(fresh), "."], cwd=ROOT, check=True)
    source = _msgids(fresh)
    assert source == _msgids(TRANSLATIONS / "messages.pot"), "run `make messages`"
    assert source == _msgids(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"), \
        "run `make messages`"
