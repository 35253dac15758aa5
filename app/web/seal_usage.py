"""The seal-usage log's pages (用印台账; the API is app/api/seals.py, the domain
processes/seals/usage_log.py): ``/seal-usage`` across seals and ``/seals/<id>/usage`` for one,
their filters and page in the address (the API's names), and the log's export to CSV and Excel,
each export audited."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, render_template, request, send_file, stream_with_context
from flask_babel import gettext as _
from flask_login import login_required

from app.api.seals import usage_filters
from app.context import identity
from app.extensions import db
from app.transactions import writes
from app.web import blueprint
from app.web.seal_usage_export import csv_chunks, xlsx_file
from processes import audit
from processes.db import unit_of_work, write_intent
from processes.flows import definitions
from processes.models import utcnow
from processes.seals import lifecycle, registry, usage_log

PER_PAGE = 20
MAX_PAGE = 10_000


def _page(seal_id: int | None):
    who = identity()
    seal = None
    if seal_id is not None:
        # who first, then the seal (app/api/seals.py): an unknown id and another's answer alike
        seal = lifecycle.managed_seal(db.session, who, seal_id, auditors=True)
    filters = usage_filters(seal.id if seal else None)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    found = usage_log.entries(db.session, who, filters, limit=PER_PAGE + 1,
                              offset=(page - 1) * PER_PAGE)
    query = filters.as_query()
    if seal is not None:
        query.pop("seal", None)
    return render_template(
        "seal_usage.html", seal=seal, uses=found[:PER_PAGE], has_next=len(found) > PER_PAGE,
        page=page, total=usage_log.count(db.session, who, filters), filters=filters,
        query=query, seals=usage_log.readable_seals(db.session, who) if seal is None else [],
        business_types=definitions.business_types(db.session))


@blueprint.get("/seal-usage")
@login_required
def seal_usage():
    return _page(None)


@blueprint.get("/seals/<int:seal_id>/usage")
@login_required
def seal_usage_of(seal_id: int):
    return _page(seal_id)


def _exported(kind: str) -> tuple[usage_log.Filters, str]:
    """Check the caller may read what they export, and record the export (its own commit,
    before the file streams): the filters and how many rows."""
    who = identity()
    filters = usage_filters()
    with unit_of_work(db.session):
        rows = usage_log.count(db.session, who, filters)
        name = registry.get_seal(db.session, filters.seal).name if filters.seal \
            else _("all seals")
        audit.record(db.session, "seal_usage.exported", actor=who.user, seal_id=filters.seal,
                     format=kind, rows=rows, filters=filters.as_query())
    return filters, f"{_('Seal usage log')} {name} {utcnow():%Y%m%d}"


def _reading(batches: Iterator[list[dict]]) -> Iterator[list[dict]]:
    """The log read after the export's event is committed, as a reader: a long export never
    holds the write lock (SQLite) while it streams."""
    with write_intent(False), unit_of_work(db.session, write=False):
        yield from batches


def _attachment(name: str) -> dict[str, str]:
    from urllib.parse import quote
    return {"Content-Disposition": f"attachment; filename=seal-usage.{name.rsplit('.', 1)[1]}; "
                                   f"filename*=UTF-8''{quote(name)}"}


@blueprint.get("/seal-usage/export.csv")
@login_required
@writes
def seal_usage_csv():
    filters, title = _exported("csv")
    rows = _reading(usage_log.batches(db.session, identity(), filters))
    return Response(stream_with_context(csv_chunks(rows)), mimetype="text/csv; charset=utf-8",
                    headers=_attachment(f"{title}.csv"))


@blueprint.get("/seal-usage/export.xlsx")
@login_required
@writes
def seal_usage_xlsx():
    filters, title = _exported("xlsx")
    file = xlsx_file(_reading(usage_log.batches(db.session, identity(), filters)),
                     _("Seal usage log"))
    response = send_file(file, mimetype="application/vnd.openxmlformats-officedocument."
                                        "spreadsheetml.sheet", as_attachment=True,
                         download_name="seal-usage.xlsx")
    response.headers.update(_attachment(f"{title}.xlsx"))
    return response
