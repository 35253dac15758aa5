"""JSON API v1 (DESIGN.md: stable, business systems depend on it)."""

from __future__ import annotations

import json

from flask import Blueprint, request

from app.extensions import csrf
from app.transactions import commits  # noqa: F401 - the API's views import it from here
from processes.errors import BadInput

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)  # sessions are CSRF-checked in app.auth; bearer tokens need no CSRF


def json_body() -> dict:
    if not request.data:
        return {}
    try:
        body = json.loads(request.data)
    except (ValueError, UnicodeDecodeError):
        raise BadInput("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object")
    return body


def page_args() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise BadInput("limit and offset must be integers") from None
    if limit < 1 or limit > 500 or offset < 0:
        raise BadInput("limit must be 1-500 and offset at least 0")
    return limit, offset


from app.api import (  # noqa: E402,F401
    notices,
    people,
    processes,
    requests,
    seals,
    tasks,
    verify,
)
