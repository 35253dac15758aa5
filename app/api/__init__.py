"""JSON API v1 (DESIGN.md: stable, business systems depend on it)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, g, request

from app.extensions import csrf, db
from processes.db import begin_write_intent, commit, end_write_intent
from processes.errors import BadInput

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)  # sessions are CSRF-checked in app.auth; bearer tokens need no CSRF


@blueprint.before_request
def _writer() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.sealflow_write_token = begin_write_intent()


@blueprint.teardown_request
def _end_writer(_exc: BaseException | None) -> None:
    token = g.pop("sealflow_write_token", None)
    if token is not None:
        end_write_intent(token)


def commits(view: Callable) -> Callable:
    """The view's unit of work: commit once when it returns (teardown rolls back on error)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        response = view(*args, **kwargs)
        commit(db.session)
        return response

    return wrapper


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


from app.api import people, processes, requests, seals, tasks  # noqa: E402,F401
