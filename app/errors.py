"""Errors, the web layer's side: the one place domain errors (processes/errors.py; the signer's
are signer/errors.py) become HTTP, JSON for the API and a page for the browser."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from processes.errors import (
    BadInput,
    Gone,
    InvalidContent,
    Message,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    SealflowError,
    TooLarge,
    WorkflowStateError,
)

logger = logging.getLogger(__name__)

STATUS = [(NotAuthenticated, 401), (NotAllowed, 403), (NotFound, 404),
          (WorkflowStateError, 409), (Gone, 410), (TooLarge, 413), (InvalidContent, 422),
          (BadInput, 400)]


def status_of(exc: SealflowError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def translate(text: object) -> str:
    """A domain message in the caller's language: a ``Message`` (processes.errors.msg) is looked
    up by its key and filled with its values; without a translation, or for a plain string,
    the English text as raised."""
    if isinstance(text, Message):
        # A value may itself be a Message (a policy refusal's reason): translated first; a
        # state (``%(status)s``, ``%(to)s``) as the word the pages show for it.
        params = {name: translate(value) if isinstance(value, Message) else
                  _state_word(value) if name in STATE_PARAMS else value
                  for name, value in text.params.items()}
        try:
            return gettext(text.key, **params) if params else gettext(text.key)
        except (KeyError, ValueError, TypeError):  # a translation with a wrong placeholder
            logger.warning("bad translation of %r", text.key)
            return str(text)
    return "" if text is None else str(text)


STATE_PARAMS = ("status", "to")
"""A message's values that name a request's, a seal's or a task's state by its code."""


def _state_word(value: object) -> object:
    """A state's code as the pages' word for it, in Chinese; English keeps the code, which
    reads as a word in an English sentence ("request 5 is sealed")."""
    if not isinstance(value, str) or get_locale() is None or get_locale().language == "en":
        return value
    from app.web.present import SEAL_STATUS_LABELS, STATUS_LABELS, TASK_STATUS_LABELS
    for labels in (STATUS_LABELS, SEAL_STATUS_LABELS, TASK_STATUS_LABELS):
        if value in labels:
            return str(labels[value])
    return value


def message_of(exc: SealflowError) -> str:
    """``exc.message`` in the caller's language (pages, flashes and JSON alike)."""
    return translate(exc.message)


def translated(found: list[Any], field: str = "message") -> list[Any]:
    """Each finding or problem (a dict with a ``field``, its ``message`` unless told) with that
    text in the caller's language, every other key unchanged: a refusal's problems, the
    studio's findings (app/findings.py), a migration's refused requests."""
    return [{**f, field: translate(f[field])} if isinstance(f, dict) and field in f else f
            for f in found]


def problems_of(exc: SealflowError) -> list[dict]:
    """``exc.problems`` with each ``message`` in the caller's language."""
    return translated(exc.problems)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/tsa",) or (
        request.accept_mimetypes.best == "application/json")


def error_response(code: str, message: str, status: int, problems: list | None = None):
    if _wants_json():
        body = {"error": {"code": code, "message": message, "problems": problems or []}}
        response = jsonify(body)
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="sealflow"'
        return response
    return render_template("error.html", status=status, message=message,
                           problems=problems or []), status


def init_app(app: Flask) -> None:
    @app.errorhandler(SealflowError)
    def _domain(exc: SealflowError):
        if isinstance(exc, NotAuthenticated) and not _wants_json():
            from flask import redirect, url_for
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return error_response(exc.code, message_of(exc), status_of(exc), problems_of(exc))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response("csrf", gettext(
            "CSRF check failed: the form is too old or came from another site; reload the page "
            "and try again (%(detail)s)", detail=exc.description), 400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large",
                415: "unsupported_media_type", 400: "bad_request"}.get(exc.code or 500,
                                                                       "http_error")
        # Werkzeug's own English sentence, in the caller's language; one written for the
        # case (abort(404, "...")) as it is.
        said = HTTP_TEXTS.get(exc.code or 500) if exc.description == type(exc).description \
            else None
        return error_response(code, str(said) if said else exc.description or exc.name,
                              exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_response("internal", gettext(
            "an unexpected error occurred; it has been logged"), 500)


HTTP_TEXTS = {
    400: _l("The request could not be understood."),
    404: _l("There is no such page here. Check the address, or start again from the "
            "inbox."),
    405: _l("This address does not take that kind of request."),
    413: _l("The upload is larger than allowed."),
    415: _l("This address does not take that kind of content."),
}
"""Werkzeug's default descriptions of HTTP errors, in words the catalogues translate."""
