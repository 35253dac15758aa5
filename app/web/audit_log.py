"""``/audit`` (auditors and administrators; the API is app/api/audit_log.py, the domain
processes/audit_log.py): the audit log filtered by time, actor, action, request and seal, in
the address (it works without JavaScript), newest first a page at a time; each event's details
as words; and ``/audit/export``, the filtered log as a CSV or JSON download."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, render_template, request, stream_with_context
from flask_babel import lazy_pgettext as _p
from flask_login import login_required

from app.context import identity
from app.extensions import db
from app.transactions import commits, writes
from app.web import blueprint
from app.web.present import ACTION_LABELS, problems_by_field
from processes import audit_log
from processes.db import unit_of_work
from processes.errors import BadInput, msg
from processes.models import utcnow

PER_PAGE = 50

# Each family of actions as a word (the part of the code before its dot); the code itself is
# shown beside it, so an action without a label of its own still reads.
FAMILIES = {
    "request": _p("audit family", "Request"),
    "task": _p("audit family", "Task"),
    "document": _p("audit family", "Document"),
    "seal": _p("audit family", "Seal"),
    "user": _p("audit family", "User"),
    "login": _p("audit family", "Log-in"),
    "group": _p("audit family", "Group"),
    "process": _p("audit family", "Flow"),
    "business_type": _p("audit family", "Business type"),
    "message": _p("audit family", "Message"),
    "timer": _p("audit family", "Timer"),
    "grant": _p("audit family", "Sealing job"),
    "pki": _p("audit family", "Certificate authority"),
    "tsa": _p("audit family", "Timestamp authority"),
    "audit": _p("audit family", "Audit log"),
}
# The actions the request, task and seal pages do not name (app.web.present.ACTION_LABELS).
LABELS = {
    "document.downloaded": _p("action", "File downloaded"),
    "document.verified": _p("action", "Checked on the verify page"),
    "document.archive_timestamp_renewed": _p("action", "Archive timestamp renewed"),
    "user.login": _p("action", "Logged in"),
    "user.login_failed": _p("action", "Log-in failed"),
    "user.logout": _p("action", "Logged out"),
    "user.locked": _p("action", "Locked after failed log-ins"),
    "user.unlocked": _p("action", "Unlocked"),
    "user.created": _p("action", "User created"),
    "user.changed": _p("action", "User changed"),
    "user.deactivated": _p("action", "User deactivated"),
    "user.reactivated": _p("action", "User reactivated"),
    "user.password_changed": _p("action", "Password changed"),
    "user.token_created": _p("action", "API token created"),
    "user.token_revoked": _p("action", "API token revoked"),
    "user.token_used": _p("action", "API token used (first use of the day)"),
    "user.out_of_office_set": _p("action", "Out of office set"),
    "user.out_of_office_cleared": _p("action", "Out of office cleared"),
    "group.created": _p("action", "Group created"),
    "group.member_added": _p("action", "Member added"),
    "group.member_removed": _p("action", "Member removed"),
    "group.head_changed": _p("action", "Head changed"),
    "business_type.mapped": _p("action", "Business type re-pointed"),
    "audit.exported": _p("action", "Audit log exported"),
}
MIMETYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


@blueprint.app_template_global()
def event_words(action: str) -> dict[str, str]:
    """An action as the page shows it: its family and, when it has one, its own label."""
    family, _dot, _rest = action.partition(".")
    label = ACTION_LABELS.get(action) or LABELS.get(action)
    return {"family": str(FAMILIES.get(family, family)), "label": str(label) if label else ""}


@blueprint.app_template_global()
def detail_rows(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An event's details as (key, text) rows: lists joined, nested values as JSON."""
    rows = []
    for key, value in sorted((details or {}).items()):
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            text = ", ".join(map(str, value))
        elif isinstance(value, dict | list):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = str(value)
        rows.append((key, text))
    return rows


@blueprint.get("/audit")
@login_required
def audit_page():
    who = identity()
    audit_log.require_reader(who)
    try:
        which = audit_log.parse_filter(request.args)
        before = _seq_arg("before")
        after = _seq_arg("after")
    except BadInput as error:
        return render_template("audit.html", events=[], which=None, args=request.args,
                               problems=problems_by_field(error), error=error, newer=None,
                               older=None,
                               action_options=_action_options(request.args.get("action"))), 400
    found = audit_log.page(db.session, who, which, before=before, after=after,
                           limit=PER_PAGE + 1)
    more = len(found) > PER_PAGE
    found = found[:PER_PAGE]
    if after is not None:
        found.reverse()  # read oldest first from ``after``; shown newest first as always
    older = found[-1].seq if found and (more or after is not None) else None
    newer = found[0].seq if found and (before is not None or (after is not None and more)) \
        else None
    return render_template("audit.html", events=found, which=which,
                           args=which.query_args(), problems={}, error=None, newer=newer,
                           older=older, action_options=_action_options(which.action))


@blueprint.get("/audit/export")
@login_required
@writes
@commits
def audit_export():
    """The filtered log, oldest first, as a CSV (UTF-8 with a BOM: Excel reads the Chinese)
    or a JSON array; the export is audited before the first row goes out."""
    who = identity()
    audit_log.require_reader(who)
    fmt = request.args.get("format", "csv")
    if fmt not in MIMETYPES:
        raise BadInput(msg("format must be csv or json"),
                       problems=[{"field": "format", "message": msg("must be csv or json")}])
    which = audit_log.parse_filter(request.args)
    audit_log.record_export(db.session, who, which, fmt)
    name = f"audit-{utcnow():%Y%m%d-%H%M%S}.{fmt}"
    response = Response(stream_with_context(_rows(who, which, fmt)), mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _rows(who, which: audit_log.Filter, fmt: str) -> Iterator[str]:
    """The file, read after the view's commit in a reading transaction of its own."""
    yield audit_log.export_start(fmt)
    with unit_of_work(db.session, write=False):
        for number, event in enumerate(audit_log.stream(db.session, who, which)):
            yield audit_log.export_row(event, fmt, first=number == 0)
    yield audit_log.export_end(fmt)


def _action_options(current: str | None) -> list[tuple[str, str]]:
    """The action filter's choices: each family (a prefix), and the one in the address."""
    options = [(f"{key}.", f"{label} ({key}.*)") for key, label in FAMILIES.items()]
    if current and current not in {value for value, _label in options}:
        options.append((current, current))
    return options


def _seq_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise BadInput(msg("%(name)s must be a whole number", name=name),
                       problems=[{"field": name, "message": msg("must be a number")}])
    return int(raw)

