"""One unit of work per HTTP request: writers announced before the first query, one commit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, g, request

from app.extensions import db
from processes.db import begin_write_intent, commit, end_write_intent

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _writer() -> None:
    # A request that writes must start its transaction as a writer (SQLite: BEGIN IMMEDIATE)
    # before its first query (the token or the session's user), or two writers deadlock on
    # upgrading their locks. Registered before every other before_request hook.
    if request.method not in SAFE_METHODS:
        g.sealflow_write_token = begin_write_intent()


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


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _writer)
    app.teardown_request(_end_writer)
