"""The archive, the API's side (the page is app/web/archive.py, the domain
processes/archive/): ``GET /api/v1/archive`` (search), a document's legal hold, a business
type's retention."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, jsonify, request

from app.api import blueprint, commits, int_arg, json_body, page_args
from app.context import identity
from app.extensions import db
from processes.archive import retention, search
from processes.archive_models import ArchiveEntry
from processes.errors import BadInput, msg


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(msg("%(name)s must be a date (YYYY-MM-DD), not %(value)s", name=name,
                           value=raw[:40])) from None


def _midnight(day: date) -> datetime:
    """The day's start in SEALFLOW_TIMEZONE (the days people mean)."""
    return datetime.combine(day, time(), ZoneInfo(current_app.config.get("TIMEZONE") or "UTC"))


def filters_from_args() -> search.Filters:
    """The search's filters from the query string (the page's address uses the same names):
    ``q``, ``seal`` (id), ``requester`` (user name), ``business_type`` (key), ``from`` and
    ``to`` (days, both included), ``title``, ``retention=ended``, ``hold=1``."""
    args = request.args
    first, last = _day("from"), _day("to")
    if first and last and first > last:
        raise BadInput(msg("the first day comes after the last"))
    return search.Filters(
        q=(args.get("q") or "").strip(), seal=int_arg(args.get("seal"), "seal", low=1),
        requester=(args.get("requester") or "").strip() or None,
        business_type=(args.get("business_type") or "").strip() or None,
        sealed_from=_midnight(first) if first else None,
        sealed_before=_midnight(last + timedelta(days=1)) if last else None,
        title=(args.get("title") or "").strip() or None,
        retention_ended=args.get("retention") == "ended", held=args.get("hold") in ("1", "true"))


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def describe(hit: search.Hit) -> dict:
    e: ArchiveEntry = hit.entry
    return {"request_id": e.request_id, "filename": e.filename, "sha256": e.sealed_sha256,
            "seal": e.seal_id, "seal_name": hit.seal_name, "sealed_at": _iso(e.sealed_at),
            "title": e.title, "document_sha256": e.document_sha256, "pages": e.pages,
            "size": e.size, "requester": hit.requester,
            "requester_display_name": hit.requester_display_name,
            "business_type": e.business_type, "business_type_name": hit.business_type_name,
            "timestamp_at": _iso(e.timestamp_at), "filed_at": _iso(e.filed_at),
            "searchable": e.searchable, "retention_until": _iso(e.retention_until),
            "legal_hold": e.legal_hold, "snippet": hit.snippet,
            "highlights": [list(m) for m in hit.marks],
            "links": {"request": f"/requests/{e.request_id}",
                      "sealed": f"/api/v1/requests/{e.request_id}/sealed"}}


@blueprint.get("/archive")
def search_archive():
    """The archived documents matching the search that the caller may see, newest first."""
    limit, offset = page_args()
    page = search.search(db.session, identity(), filters_from_args(), limit=limit,
                         offset=offset)
    return jsonify([describe(h) for h in page.hits])


def _hold_answer(entry: ArchiveEntry) -> dict:
    return {"request_id": entry.request_id, "legal_hold": entry.legal_hold,
            "hold_reason": entry.hold_reason, "hold_at": _iso(entry.hold_at),
            "retention_until": _iso(entry.retention_until)}


@blueprint.post("/archive/<int:request_id>/hold")
@commits
def set_hold(request_id: int):
    """Auditors and admins: JSON ``{reason}``; audited."""
    entry = retention.set_hold(db.session, identity(), request_id, json_body().get("reason"))
    return jsonify(_hold_answer(entry))


@blueprint.post("/archive/<int:request_id>/release")
@commits
def clear_hold(request_id: int):
    """Auditors and admins: JSON ``{reason}``; audited."""
    entry = retention.clear_hold(db.session, identity(), request_id, json_body().get("reason"))
    return jsonify(_hold_answer(entry))


@blueprint.put("/business-types/<key>/retention")
@commits
def set_retention(key: str):
    """Managers and admins: JSON ``{years}`` (1-200, or null for the default)."""
    years = json_body().get("years")
    if years is not None and (isinstance(years, bool) or not isinstance(years, int)):
        raise BadInput(msg("years must be a whole number or null"))
    found = retention.set_years(db.session, identity(), key, years)
    return jsonify({"key": found.key, "retention_years": found.retention_years})
