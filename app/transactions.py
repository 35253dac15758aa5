"""One unit of work per HTTP request: writers announced before the first query, one commit.

Every entry point wraps its work in ``processes.db.unit_of_work``: an API view with
:func:`commits`, a page's form POST with ``app.web.attempt``, a CLI command with
``app.cli.transactional``, each job step in ``app.jobs``. On any error it rolls back, and what
waited for the commit (the signal that would start a job, say) is dropped with it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request

from app.extensions import db
from processes.db import begin_write_intent, end_write_intent, retrying_deadlocks, unit_of_work

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _writer() -> None:
    # A request that writes must start its transaction as a writer (SQLite: BEGIN IMMEDIATE)
    # before its first query (the token or the session's user), or two writers deadlock on
    # upgrading their locks. Registered before every other before_request hook.
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if request.method in SAFE_METHODS and not getattr(view, "sealflow_writes", False):
        return
    if not getattr(view, "sealflow_reads_first", False):
        g.sealflow_write_token = begin_write_intent()


def fetched() -> bool:
    """Whether the request fetches what it asks for, not only its headers (HEAD, which Flask
    answers with the GET view): only a fetch is recorded as a download or an opening."""
    return request.method != "HEAD"


def writes(view: Callable) -> Callable:
    """Mark a GET view that writes (a download, recorded in the audit log): its transaction
    starts as a writer's, as a POST's does, so that the record never fails on a busy database
    (SQLite cannot turn a reader into a writer while another writer is at work). Put it below
    the route (and ``login_required``), above :func:`commits`."""
    view.sealflow_writes = True  # type: ignore[attr-defined]
    return view


def reads_first(view: Callable) -> Callable:
    """Mark a view that writes but reads slowly first (a new request: its PDF, its checks, its
    instance's first run): its caller is identified in a reading transaction, without the
    write lock; the view ends that one with a ``unit_of_work(write=False)`` around its
    reading, then writes in a unit of work of its own, which starts as a writer. Put it below
    the route (and ``login_required``)."""
    view.sealflow_reads_first = True  # type: ignore[attr-defined]
    return view


def _end_writer(_exc: BaseException | None) -> None:
    token = g.pop("sealflow_write_token", None)
    if token is not None:
        end_write_intent(token)


def commits(view: Callable) -> Callable:
    """The view's unit of work: commit once when it returns; on an error, roll back (before
    app/errors.py answers it) and drop what waited for the commit. A deadlock's victim is run
    again (``processes.db.retrying_deadlocks``)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        def run():
            rewind_uploads()
            with unit_of_work(db.session):
                return view(*args, **kwargs)
        return retrying_deadlocks(run)

    return wrapper


def rewind_uploads() -> None:
    """Before a view runs again (after a deadlock): the files it read are read from the start.
    Only files already parsed: parsing them here would read a body the view reads itself."""
    files = request.__dict__.get("files")  # werkzeug's cached property, once parsed
    for upload in (files or {}).values():
        upload.stream.seek(0)


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _writer)
    app.teardown_request(_end_writer)
