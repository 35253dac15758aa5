"""Verifying anyone's PDF: each signature judged against the organisation's CA, matched to our
seal, and to the request in the archive when the revision it signed is a document we sealed.

What later revisions drew over the pages is listed under each signature (``visible_changes``):
only the stamp of a later seal of ours, good itself and not over the earlier stamp, leaves the
earlier seal green (see docs/verification.md).

Public (``POST /api/v1/verify`` and the ``/verify`` page), so it reads only and stores nothing:
the upload is judged and forgotten; a check by a signed-in person on the page is audited
(``record_check``: the file's hash and the verdict, never the file). What it tells about a
request is what the seal itself vouches for (flow, version, who approved, when), never the
request's documents or form data.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import signer
from processes import audit, documents
from processes.env import Env
from processes.errors import InvalidContent, Message, TooLarge, msg
from processes.models import Document, Request, Seal, SigningGrant, User
from processes.pki import authorities
from signer import approval_records, open_pdf

logger = logging.getLogger(__name__)

# Ends of revisions: every %%EOF marker, with or without the end-of-line after it.
_EOF = re.compile(rb"%%EOF(\r\n|\r|\n)?")
_MAX_REVISIONS = 500


def verify(session: Session, env: Env, data: bytes) -> dict:
    """The verdict on every signature in ``data`` (a PDF), in signing order.

    Returns ``{sha256, message, signatures: [row]}``, one row per signature (see ``_row``).

    :raises TooLarge: ``data`` is over ``env.max_document_bytes``.
    :raises InvalidContent: not a PDF, encrypted, or too damaged to read.
    """
    if len(data) > env.max_document_bytes:
        raise TooLarge(msg("the file is %(size)s bytes; the limit is %(limit)s bytes",
                           size=len(data), limit=env.max_document_bytes))
    if not data:
        raise InvalidContent(msg("the file is empty"),
                             [{"field": "file", "message": msg("the file is empty")}])
    try:
        reports = signer.validate_pdf(data, authorities.ca_certificates(session)
                                      + list(env.external_ca_roots),
                                      later_seal=_our_seal(session))
    except signer.InvalidDocument as exc:
        raise documents.refusal(exc, "file") from None
    approvals = _approvals(session, data, reports)
    where = _placements(data)
    carried = _carried_records(data, reports)
    ours = _seals(session, {r.certificate_serial for r in reports if r.certificate_serial})
    rows = []
    for report, approval in zip(reports, approvals, strict=True):
        row = _row(report, _seal_for(report, ours, approval), approval)
        record, matches = carried.get(report.field, (None, None))
        # A record is only as good as the signature that carries it.
        confirmed = record is not None and report.intact and report.valid
        row["record"], row["record_matches"] = record, bool(matches and confirmed)
        row["record_confirmed"] = confirmed
        row["placement"] = where.get(report.field)
        rows.append(row)
    sha = hashlib.sha256(data).hexdigest()
    logger.info("verified a PDF (sha256 %s): %d signatures, %d valid, %d in the archive", sha,
                len(rows), sum(r["bottom_line"] for r in rows),
                sum(r["approval"] is not None for r in rows))
    return {"sha256": sha, "message": _message(reports), "signatures": rows}


def _message(reports: list[signer.SignatureReport]) -> Message:
    if not reports:
        return msg("the PDF has no signatures: it carries no electronic seal")
    bad = sum(not r.bottom_line for r in reports)
    if not bad:
        return msg("%(count)s signature(s), all valid", count=len(reports))
    covered = sorted({c.page for r in reports for c in r.visible_changes or () if not c.allowed})
    if covered:
        return msg("%(count)s signature(s), %(bad)s not valid; something was drawn over the page "
                   "after sealing (page %(pages)s)", count=len(reports), bad=bad,
                   pages=", ".join(map(str, covered)))
    return msg("%(count)s signature(s), %(bad)s not valid", count=len(reports), bad=bad)


def _our_seal(session: Session) -> Callable[[signer.SignatureReport], bool]:
    """Whether a signature is one of our seals (its very certificate): a later seal whose stamp
    an earlier one tolerates."""
    known: dict[tuple[str, str], bool] = {}

    def ours(report: signer.SignatureReport) -> bool:
        key = (report.certificate_serial, report.certificate_sha256)
        if key not in known:
            found = _seals(session, {report.certificate_serial} - {""})
            known[key] = _seal_for(report, found, None) is not None
        return known[key]
    return ours


def _change(change: signer.VisibleChange) -> dict:
    return {"page": change.page, "rect": [round(v, 2) for v in change.rect],
            "revision": change.revision, "kind": change.kind, "field": change.field,
            "subtype": change.subtype, "prepared_field": change.prepared,
            "covers_seal": change.covers_signature, "allowed": change.allowed}


def record_check(session: Session, user: User, result: dict, filename: str | None) -> None:
    """Audit a verification by a signed-in person (``document.verified``): the file's hash,
    its signatures and how many are good, and the first request of ours it carries."""
    rows = result["signatures"]
    ours = next((r["approval"] for r in rows if r.get("approval")), None)
    audit.record(session, "document.verified", actor=user,
                 request_id=ours["request_id"] if ours else None,
                 seal_id=ours["seal_id"] if ours else None, sha256=result["sha256"],
                 filename=(filename or "")[:200], signatures=len(rows),
                 good=sum(bool(r["bottom_line"]) for r in rows))


def _row(report: signer.SignatureReport, seal: Seal | None, approval: dict | None) -> dict:
    """One signature as the API shows it (DESIGN: field, signer, seal, signed_at, timestamp,
    intact, valid, trusted, modified_after, approval; plus the details behind them)."""
    timestamp = None
    if report.timestamp is not None:
        timestamp = {"time": _iso(report.timestamp), "intact": report.timestamp_intact,
                     "trusted": report.timestamp_trusted}
    return {
        "field": report.field,
        "signer": report.signer,
        "certificate_serial": report.certificate_serial or None,
        "certificate_sha256": report.certificate_sha256 or None,
        "seal": (None if seal is None else
                 {"id": seal.id, "name": seal.name, "type": seal.type,
                  "status": seal.status.value}),
        "signed_at": _iso(report.signed_at),
        "timestamp": timestamp,
        "intact": report.intact,
        "valid": report.valid,
        "trusted": report.trusted,
        "modified_after": report.modified_after,
        "visibly_modified": report.visibly_modified,
        "visible_changes": (None if report.visible_changes is None else
                            [_change(c) for c in report.visible_changes]),
        "revision": report.revision or None,
        "modification_level": report.modification_level,
        "coverage": report.coverage,
        "certification": report.docmdp,
        "bottom_line": report.bottom_line,
        "summary": report.summary,
        "approval": approval,
    }


def _placements(data: bytes) -> dict[str, dict]:
    """Where each signature's stamp is: ``{page, rect, page_box, rotate}`` by field (1-based
    page, its widget's rectangle and the page's visible box, in points, and the degrees a viewer
    turns the page), for the fields with a widget on a page that has a box; a file whose fields
    cannot be read has none."""
    try:
        layout = signer.layout(data)
    except signer.InvalidDocument:
        return {}
    found: dict[str, dict] = {}
    for widget in layout.widgets:
        if widget.page is None or widget.rect is None or widget.field in found:
            continue
        area = layout.pages[widget.page - 1]
        box = area.visible or area.media
        found[widget.field] = {"page": widget.page, "rect": [round(v, 2) for v in widget.rect],
                               "page_box": [round(v, 2) for v in box], "rotate": area.rotate}
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seals(session: Session, serials: set[str]) -> dict[str, list[Seal]]:
    """Our seals by certificate serial (a serial names one certificate, but a test database may
    give several seals the same one)."""
    found: dict[str, list[Seal]] = {}
    if serials:
        for seal in session.execute(select(Seal).where(Seal.certificate_serial.in_(serials))
                                    .order_by(Seal.id)).scalars():
            found.setdefault(seal.certificate_serial, []).append(seal)
    return found


def _seal_for(report: signer.SignatureReport, ours: dict[str, list[Seal]],
              approval: dict | None) -> Seal | None:
    """Our seal whose certificate signed: the same serial and the very same certificate (a
    serial is unique only per issuer, and anyone can issue one)."""
    candidates = [seal for seal in ours.get(report.certificate_serial, [])
                  if _fingerprint(seal.cert_pem) == report.certificate_sha256]
    if approval is not None:
        for seal in candidates:
            if seal.id == approval["seal_id"]:
                return seal
    return candidates[0] if candidates else None


def _fingerprint(cert_pem: bytes) -> str:
    return signer.certificate_from_pem(cert_pem).fingerprint(hashes.SHA256()).hex()


def _approvals(session: Session, data: bytes, reports: list[signer.SignatureReport]
               ) -> list[dict | None]:
    """For each signature, the archive record of the request that made it, or None.

    A signature is ours when a revision of the file from the one it signed up to (not
    including) the next signature's is a document we sealed: the signed revision itself, or
    the same after validation data or a document timestamp was appended at sealing. A change
    made after that leaves the earlier revision, and so the record, findable.
    """
    signed = sorted({r.signed_length for r in reports if r.signed_length > 0})
    if not signed:
        return [None] * len(reports)
    ends = _revision_ends(data, start=signed[0])
    digests = _prefix_hashes(data, ends)
    records = _records(session, set(digests.values()))
    found: list[dict | None] = []
    for report in reports:
        record = None
        if report.signed_length > 0:
            stop = next((s for s in signed if s > report.signed_length), len(data) + 1)
            for end in ends:
                if report.signed_length <= end < stop and digests[end] in records:
                    record = {**records[digests[end]], "identical": end == len(data)}
                    break
        found.append(record)
    return found


def _carried_records(data: bytes, reports: list[signer.SignatureReport]
                     ) -> dict[str, tuple[dict | None, bool | None]]:
    """The approval record each signature carries inside what it signed, and whether its
    ``document_sha256`` is the document as it stood before that seal (the PDF alone then
    proves who authorized the seal, without our archive)."""
    try:
        records = approval_records(open_pdf(data))
    except (signer.SignerError, ValueError, KeyError):
        return {}
    out: dict[str, tuple[dict | None, bool | None]] = {}
    for report in reports:
        record = records.get(report.field)
        if record is None:
            continue
        end = report.signed_length or len(data)
        before = {e: h for e, h in _prefix_hashes(data, _revision_ends(data, 0)).items()
                  if e < end}
        out[report.field] = (record, record.get("document_sha256") in before.values())
    return out


def _revision_ends(data: bytes, start: int) -> list[int]:
    """Candidate revision ends at or after ``start`` (after each %%EOF, with and without its
    end-of-line), and the end of the file; ascending, at most ``_MAX_REVISIONS`` + 1."""
    ends = {len(data)}
    for match in _EOF.finditer(data, max(start - 8, 0)):
        ends.update((match.start() + 5, match.end()))
        if len(ends) > _MAX_REVISIONS:
            break
    return sorted(e for e in ends if e >= start)


def _prefix_hashes(data: bytes, ends: Iterable[int]) -> dict[int, str]:
    """SHA-256 of ``data[:end]`` for each end, in one pass over the data."""
    digest = hashlib.sha256()
    view = memoryview(data)
    at = 0
    out: dict[int, str] = {}
    for end in sorted(ends):
        digest.update(view[at:end])
        at = end
        out[end] = digest.copy().hexdigest()
    return out


def _records(session: Session, digests: set[str]) -> dict[str, dict]:
    """The public archive record of each sealed request whose sealed document has one of
    ``digests``: ``{sha256: {request_id, process, version, sealed_at, approvals, ...}}``."""
    if not digests:
        return {}
    # The request's sealed document, or the one its grant first produced (a renewed
    # archive timestamp points the request at a newer revision; copies of the first are ours).
    rows = session.execute(
        select(Request, Document.sha256, SigningGrant.approvals)
        .join(SigningGrant, SigningGrant.request_id == Request.id)
        .join(Document, or_(Document.id == Request.sealed_document_id,
                            Document.id == SigningGrant.sealed_document_id))
        .where(Document.sha256.in_(digests))
        .order_by(Request.id))
    records: dict[str, dict] = {}
    for req, sha, approvals in rows:
        records.setdefault(sha, {
            "request_id": req.id,
            "process": req.process.key,
            "version": req.process.version,
            "seal_id": req.seal_id,
            "sealed_at": _iso(req.sealed_at),
            "sealed_sha256": sha,
            "approvals": [{"by": a.get("by"), "name": a.get("name"),
                           "element": a.get("element"), "decision": a.get("decision"),
                           "at": a.get("at")} for a in approvals or []],
        })
    return records
