"""Two languages (Flask-Babel): which one a request is answered in, the top bar's switch, and
the message catalogues (app/translations; the .mo files are built from the .po files).

The language: ``?lang=zh_CN|en`` (then remembered in the session and a year-long cookie, so the
next page without ``?lang`` keeps it, across log-in too), else the best match of the browser's
Accept-Language, else Chinese (zh_CN). A client that sends no Accept-Language gets Chinese
pages (the Flask test client too) and English JSON from /api/ (scripts written against the
API's English messages keep them).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale, get_translations

logger = logging.getLogger(__name__)

LANGUAGES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "sealflow_lang"
# One folder per language, named as Babel names the locale (zh_CN is zh_Hans_CN to Babel, and
# the catalogue is looked up by that name).
TRANSLATIONS = Path(__file__).parent / "translations"
# What each language is called in the switch, in its own words.
NAMES = {"zh_CN": "中文", "en": "English"}

babel = Babel()


def _known(value: str | None) -> str | None:
    """``zh_CN``, ``zh-CN``, ``zh``, ``en``, ``en-US``... as one of LANGUAGES, or None."""
    value = (value or "").strip().replace("-", "_")
    if value in LANGUAGES:
        return value
    base = value.split("_")[0].lower()
    return {"zh": "zh_CN", "en": "en"}.get(base)


def select_locale() -> str:
    asked = _known(request.args.get("lang"))
    if asked:
        session["lang"] = asked
        g.set_lang_cookie = asked
        return asked
    remembered = _known(session.get("lang")) or _known(request.cookies.get(COOKIE))
    if remembered:
        return remembered
    # Accept-Language, most wanted first: the first that is Chinese or English of any region
    # ("en-GB,zh;q=0.5" is English; zh-TW counts as Chinese); none of them: Chinese.
    for value, _quality in request.accept_languages:
        if _known(value):
            return _known(value) or DEFAULT
    if not request.accept_languages and request.path.startswith("/api/"):
        return "en"  # a script that asks nothing: the API's messages stay as they were
    return DEFAULT


def current_language() -> str:
    """zh_CN or en: the language this request is answered in."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else DEFAULT


def html_lang() -> str:
    """The page's ``<html lang>``: zh-CN or en."""
    return current_language().replace("_", "-")


def switch_links() -> list[dict]:
    """The top bar's switch: this page (path and query kept) in each other language."""
    here = current_language()
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    links = []
    for lang in LANGUAGES:
        if lang == here:
            continue
        query = urlencode(args + [("lang", lang)])
        links.append({"lang": lang, "name": NAMES[lang], "href": f"{request.path}?{query}",
                      "html_lang": lang.replace("_", "-")})
    return links


def compile_catalogues(force: bool = False) -> list[Path]:
    """Build each .mo next to its .po where missing or older (``make install`` runs
    ``pybabel compile``; this keeps a checkout run without it, and the tests, working)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    built = []
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            with mo.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
        except OSError as exc:  # a read-only installation: the untranslated English shows
            logger.warning("cannot build %s: %s", mo, exc)
            continue
        built.append(mo)
    return built


def _translations():
    """This request's catalogue, looked up once (Flask-Babel finds it anew at every call: a
    page's fifty strings cost milliseconds)."""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def _install_fast_gettext(app: Flask) -> None:
    """The pages' _() and friends (Jinja's i18n extension, as Flask-Babel installs it), reading
    the request's catalogue from ``g``."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n))


def init_app(app: Flask) -> None:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config.get("TIMEZONE") or "UTC")
    babel.init_app(app, locale_selector=select_locale,
                   timezone_selector=lambda: app.config.get("TIMEZONE") or "UTC")
    _install_fast_gettext(app)

    @app.after_request
    def _remember(response):
        lang = g.get("set_lang_cookie")
        if lang:
            response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True, secure=request.is_secure)
        return response

    app.jinja_env.globals.update(html_lang=html_lang, language_links=switch_links,
                                 current_language=current_language)
