"""JSON API v1 (DESIGN.md: stable, business systems depend on it)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request

from app.errors import translate
from app.extensions import csrf, db
from app.transactions import commits  # noqa: F401 - the API's views import it from here
from processes.errors import BadInput, InvalidContent, msg
from processes.limits import INT_MAX, body_problem
from processes.requests import views

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)  # sessions are CSRF-checked in app.auth; bearer tokens need no CSRF

BODY_MAX_DEPTH = 64
"""No body of this API nests deeper; a deeper one is refused before any code walks it."""


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes | str) -> Any:
    """JSON text as a value; ValueError for anything else: invalid JSON (NaN and Infinity
    included), nesting so deep that the parser gives up or later code would, or text that
    cannot be stored (a NUL, a lone surrogate)."""
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"it is nested deeper than {BODY_MAX_DEPTH} levels") from None
    problem = body_problem(value, BODY_MAX_DEPTH)
    if problem:
        raise ValueError(problem)
    return value


def json_body() -> dict:
    if not request.data:
        return {}
    try:
        body = parse_json(request.data)
    except ValueError as exc:  # UnicodeDecodeError included
        raise BadInput(msg("the body is not usable JSON: %(error)s", error=exc)) from None
    if not isinstance(body, dict):
        raise BadInput(msg("the body must be a JSON object"))
    return body


def json_field(name: str) -> Any:
    """A multipart (or form) field holding JSON, parsed; None when absent or empty."""
    raw = request.form.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_json(raw)
    except ValueError as exc:
        raise InvalidContent(msg("%(name)s is not usable JSON: %(error)s", name=name, error=exc),
                             [{"field": name, "message": msg("is not usable JSON: %(error)s",
                                                             error=exc)}]) from None


def int_arg(raw: str | None, name: str, *, default: int | None = None, low: int = 0,
            high: int = INT_MAX) -> int | None:
    """A whole number from a query string or a form field (ASCII digits, optional minus),
    between ``low`` and ``high``; BadInput (400) otherwise."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 \
            or not low <= int(text) <= high:
        raise BadInput(msg("%(name)s must be a whole number from %(low)s to %(high)s", name=name,
                           low=low, high=high))
    return int(text)


def page_args() -> tuple[int, int]:
    limit = int_arg(request.args.get("limit"), "limit", default=50, low=1, high=500)
    offset = int_arg(request.args.get("offset"), "offset", default=0)
    return limit, offset


def described(req, **options: Any) -> dict:
    """``views.describe`` of a request, its failure reason and what its sealing waits for in
    the caller's language (the fields as they always were: strings or null)."""
    details = views.describe(db.session, req, **options)
    if details.get("failure") is not None:
        details["failure"] = translate(details["failure"])
    if details.get("sealing"):  # why the timestamp service gave no answer
        details["sealing"] = {**details["sealing"],
                              "reason": translate(details["sealing"]["reason"])}
    return details


from app.api import (  # noqa: E402,F401
    archive,
    audit_log,
    audit_verify,
    dashboard,
    dry_run,
    evidence,
    notices,
    people,
    process_versions,
    processes,
    request_diagram,
    requests,
    route_preview,
    scenarios,
    seals,
    shares,
    task_actions,
    tasks,
    verify,
)
