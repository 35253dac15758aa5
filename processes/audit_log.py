"""The audit log as people read it (``processes.audit`` writes it; the API is
app/api/audit_log.py, the page app/web/audit_log.py): the events a filter picks (time, actor,
action prefix, request, seal), a page at a time by sequence number, and the same events
streamed for an export. Auditors and administrators only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from processes import audit, isotime
from processes.errors import BadInput, NotAllowed, msg
from processes.limits import INT_MAX
from processes.models import AuditEvent
from processes.people.directory import Identity

MAX_PAGE = 500
"""The most events one page of the API or of /audit holds."""
EXPORT_BATCH = 1000
"""Events read per query while an export streams (none holds the whole log in memory)."""
FIELDS = ("seq", "at", "actor", "action", "request_id", "seal_id", "details", "hash",
          "prev_hash")
"""An event's fields, in the order of the API's objects and the CSV's columns."""


@dataclass(frozen=True)
class Filter:
    """Which events: ``start <= at < end``, by the user named ``actor``, whose action starts
    with ``action`` (``task.``: every task event), about ``request_id`` or ``seal_id``."""

    start: datetime | None = None
    end: datetime | None = None
    actor: str | None = None
    action: str | None = None
    request_id: int | None = None
    seal_id: int | None = None
    start_text: str | None = None
    end_text: str | None = None
    """``from`` and ``to`` as they were written (a date stays a date in the links)."""

    def query_args(self) -> dict[str, str]:
        """The filter as the address writes it (``from``, ``to``, ...): links keep it."""
        args = {"from": self.start_text, "to": self.end_text, "actor": self.actor,
                "action": self.action, "request": self.request_id, "seal": self.seal_id}
        return {k: str(v) for k, v in args.items() if v not in (None, "")}


def require_reader(identity: Identity) -> None:
    """:raises NotAllowed: unless ``identity`` is an auditor or an administrator."""
    if not identity.has_role("auditor"):
        raise NotAllowed(msg("the audit log is for auditors and administrators"))


def parse_filter(args: Mapping[str, str]) -> Filter:
    """A filter from an address's query (``from``, ``to``: an ISO 8601 date, read as that whole
    day, or a time, in the organisation's time zone unless it has an offset; ``actor``;
    ``action``; ``request``; ``seal``). :raises BadInput: naming each field that is wrong."""
    problems: list[dict[str, str]] = []
    start = _time_arg(args.get("from"), "from", problems, end=False)
    end = _time_arg(args.get("to"), "to", problems, end=True)
    if start is not None and end is not None and end <= start:
        problems.append({"field": "to", "message": msg("must be later than from")})
    found = Filter(start=start, end=end, start_text=_text_arg(args.get("from"), 40),
                   end_text=_text_arg(args.get("to"), 40), actor=_text_arg(args.get("actor"), 80),
                   action=_text_arg(args.get("action"), 60),
                   request_id=_id_arg(args.get("request"), "request", problems),
                   seal_id=_id_arg(args.get("seal"), "seal", problems))
    if problems:
        raise BadInput(msg("the filter is not valid: %(fields)s",
                           fields=", ".join(p["field"] for p in problems)), problems=problems)
    return found


def page(session: Session, identity: Identity, which: Filter, *, before: int | None = None,
         after: int | None = None, limit: int = 50) -> list[AuditEvent]:
    """One page of events: newest first, below sequence number ``before``; or, with
    ``after``, oldest first from just past it (a business system following the log)."""
    require_reader(identity)
    query = _select(which).limit(max(1, min(limit, MAX_PAGE)))
    if after is not None:
        return list(session.execute(query.where(AuditEvent.seq > after)
                                    .order_by(AuditEvent.seq)).scalars())
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    return list(session.execute(query.order_by(AuditEvent.seq.desc())).scalars())


def count(session: Session, which: Filter, *, after: int | None = None) -> int:
    """How many events the filter picks (past ``after``): an export's progress bar."""
    query = _select(which).with_only_columns(func.count()).order_by(None)
    if after is not None:
        query = query.where(AuditEvent.seq > after)
    return session.execute(query).scalar_one()


def stream(session: Session, identity: Identity | None, which: Filter, *,
           after: int | None = None) -> Iterator[AuditEvent]:
    """Every event the filter picks past ``after``, oldest first, read a batch at a time
    (keyset: each batch starts past the last one's sequence number). The caller records the
    export (:func:`record_export`). ``identity`` None: the command line, whose operator
    holds the database already."""
    if identity is not None:
        require_reader(identity)
    last = after if after is not None else 0
    while True:
        batch = list(session.execute(_select(which).where(AuditEvent.seq > last)
                                     .order_by(AuditEvent.seq).limit(EXPORT_BATCH)).scalars())
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1].seq
        session.expunge_all()  # the rows read so far are written out: not kept


def record_export(session: Session, identity: Identity | None, which: Filter, fmt: str, *,
                  after: int | None = None, **details: Any) -> None:
    """Audit an export of the log (``audit.exported``): its format, filter and where it
    resumed (``after``). ``identity`` None: the command line."""
    if identity is not None:
        require_reader(identity)
    details = {"format": fmt, "after_seq": after, "filter": which.query_args(), **details}
    audit.record(session, "audit.exported", actor=identity.user if identity else None,
                 **details)


def describe(event: AuditEvent) -> dict[str, Any]:
    """One event as the API and the JSON export give it."""
    return {"seq": event.seq, "at": event.at.isoformat(), "actor": event.actor,
            "action": event.action, "request_id": event.request_id, "seal_id": event.seal_id,
            "details": event.details or {}, "hash": event.hash, "prev_hash": event.prev_hash}


CSV_BOM = "\ufeff"
"""First in a CSV export: Excel then reads it as UTF-8 (Chinese names intact)."""
FORMATS = ("csv", "json")


def export_start(fmt: str) -> str:
    """What an export's file begins with: the CSV's BOM and header, or the JSON array's ``[``."""
    return CSV_BOM + _csv_line(FIELDS) if fmt == "csv" else "[\n"


def export_row(event: AuditEvent, fmt: str, *, first: bool) -> str:
    """One event of an export: a CSV row (details as JSON in one cell), or one line of the
    JSON array (after a comma unless it is the ``first``)."""
    if fmt == "csv":
        row = describe(event)
        row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        return _csv_line([_cell(row[f]) for f in FIELDS])
    text = json.dumps(describe(event), ensure_ascii=False, sort_keys=True)
    return text if first else ",\n" + text


def export_end(fmt: str) -> str:
    """What ends an export's file (the JSON array's ``]``): a JSON export is a whole JSON
    document, each event on a line of its own."""
    return "" if fmt == "csv" else "\n]\n"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is quoted (OWASP's CSV injection advice).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(cells: Any) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def _select(which: Filter) -> Select:
    query = select(AuditEvent)
    if which.start is not None:
        query = query.where(AuditEvent.at >= which.start)
    if which.end is not None:
        query = query.where(AuditEvent.at < which.end)
    if which.actor:
        query = query.where(AuditEvent.actor == which.actor)
    if which.action:
        query = query.where(AuditEvent.action.startswith(which.action, autoescape=True))
    if which.request_id is not None:
        query = query.where(AuditEvent.request_id == which.request_id)
    if which.seal_id is not None:
        query = query.where(AuditEvent.seal_id == which.seal_id)
    return query


def _zone() -> ZoneInfo:
    return ZoneInfo(isotime.timezone_name())


def _time_arg(raw: str | None, name: str, problems: list, *, end: bool) -> datetime | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:  # a date: the whole day (``to`` up to the next day's start)
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(),
                                    tzinfo=_zone())
        value = datetime.fromisoformat(text)
    except ValueError:
        problems.append({"field": name, "message": msg(
            "must be a date (2026-12-31) or a time (2026-12-31T18:00)")})
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=_zone())


def _text_arg(raw: str | None, length: int) -> str | None:
    return (raw or "").strip()[:length] or None


def _id_arg(raw: str | None, name: str, problems: list) -> int | None:
    text = (raw or "").strip().lstrip("#")
    if not text:
        return None
    if text.isascii() and text.isdigit() and 0 < int(text) <= INT_MAX:
        return int(text)
    problems.append({"field": name, "message": msg("must be a number")})
    return None

