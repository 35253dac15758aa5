"""The seal-usage log as a file: CSV (UTF-8 with a BOM, so that Excel reads the Chinese) streamed
batch by batch, and Excel (xlsx) written by openpyxl in its write-only mode (rows go to disk as
they come, memory stays flat however long the log). Headers in the reader's language, times in
the organisation's time zone. A cell that a spreadsheet would take for a formula (``=``, ``+``,
``-``, ``@``) is written as text: filenames and purposes are the requesters' own words."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext as _

from app.web.present import decision_label, localtime

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def headers() -> list[str]:
    zone = current_app.config.get("TIMEZONE") or "UTC"
    return [_("No."), _("Seal"), _("Certificate serial"), _("Business type"), _("Purpose"),
            _("Requester"), _("Approvals"), _("Document"), _("Document SHA-256"), _("Pages"),
            _("Sealed file SHA-256"), _("Sealed at (%(zone)s)", zone=zone),
            _("Timestamp time (%(zone)s)", zone=zone), _("Link")]


def _local(value: str | None) -> datetime | None:
    if not value:
        return None
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    return datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)


def _approvals(use: dict) -> str:
    """Each decision as "who: decision, time", in order."""
    return "; ".join(
        _("%(who)s: %(decision)s, %(at)s", who=a["display_name"] or a["user"],
          decision=decision_label(a["decision"]), at=localtime(a["at"]))
        for a in use["approvers"])


def values(use: dict) -> list[Any]:
    """One row: text and numbers; the times as naive datetimes in the organisation's zone."""
    return [use["request_id"], use["seal"], use["certificate_serial"],
            use["business_type_name"] or use["business_type"] or use["process"],
            use["purpose"] or "", use["requester_display_name"] or use["requester"],
            _approvals(use), use["filename"], use["document_sha256"] or "", use["pages"],
            use["sealed_sha256"] or "", _local(use["sealed_at"]), _local(use["timestamped_at"]),
            url_for("web.request_detail", request_id=use["request_id"], _external=True)]


def _text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_chunks(batches: Iterable[list[dict]]) -> Iterator[str]:
    """The CSV text, a BOM and the header first, then one chunk per batch of the log."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers())
    yield "\ufeff" + out.getvalue()
    for batch in batches:
        out.seek(0)
        out.truncate()
        for use in batch:
            writer.writerow([_text(v.isoformat(sep=" ") if isinstance(v, datetime) else v)
                             for v in values(use)])
        yield out.getvalue()


def xlsx_file(batches: Iterable[list[dict]], title: str) -> IO[bytes]:
    """The workbook in a temporary file (deleted when closed), positioned at its start."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    head = []
    for name in headers():
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for batch in batches:
        for use in batch:
            row = []
            for value in values(use):
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
                elif isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
                row.append(cell)
            sheet.append(row)
    file = tempfile.TemporaryFile()
    book.save(file)
    file.seek(0)
    return file
