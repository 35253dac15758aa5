"""The seal-usage log (用印台账): every sealing, with the certificate, the seal, the business type
and purpose, the requester, every approver's decision and time, the document's and the sealed
file's hashes, the sealing time and the timestamp's time. Per seal and across seals, filtered
and paged; an export reads it in batches (:func:`batches`).

Who reads it (DESIGN "Who sees what"): a seal's custodians, seal admins, auditors and admins; a
custodian across seals sees only their own seals. Each page is two queries: the uses, then the
decisions on all of them (never one query per row)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from processes import isotime
from processes.errors import NotAllowed, msg
from processes.models import (
    BusinessType,
    Document,
    ProcessDefinition,
    Request,
    Seal,
    SealCustodian,
    TaskStatus,
    User,
)
from processes.people.directory import Identity
from processes.task_models import Task

MAX_PAGE = 500
EXPORT_BATCH = 500
"""Rows an export reads at a time: two queries per batch, memory bounded however long the log."""


@dataclass(frozen=True)
class Filters:
    """What the log is narrowed to; all optional. ``since`` and ``until`` are ISO dates (days in
    the organisation's time zone, both included) or date-times."""

    seal: int | None = None
    since: str | None = None
    until: str | None = None
    requester: str | None = None
    business_type: str | None = None

    def as_query(self) -> dict[str, str]:
        """The filters set, as the address's query (the API's names)."""
        return {k: str(v) for k, v in vars(self).items() if v not in (None, "")}


def _readable_seals(session: Session, identity: Identity, seal: int | None) -> list[int] | None:
    """The seals whose log the caller may read: None for all (seal admins, auditors, admins);
    else the seals they keep. NotAllowed when that is none (or not ``seal``)."""
    if identity.has_role("seal_admin", "auditor"):
        return None
    kept = list(session.execute(select(SealCustodian.seal_id).where(
        SealCustodian.user_id == identity.user.id)).scalars())
    if not kept or (seal is not None and seal not in kept):
        raise NotAllowed(msg("the usage log of a seal is for its custodians, seal admins and "
                             "auditors"))
    return kept


def readable_seals(session: Session, identity: Identity) -> list[tuple[int, str]]:
    """The seals whose log the caller may read, ``(id, name)`` by name (the filter's choices);
    empty for someone who may read none."""
    stmt = select(Seal.id, Seal.name).where(Seal.system.is_(False)).order_by(Seal.name, Seal.id)
    if not identity.has_role("seal_admin", "auditor"):
        stmt = stmt.join(SealCustodian, SealCustodian.seal_id == Seal.id).where(
            SealCustodian.user_id == identity.user.id)
    return [(i, n) for i, n in session.execute(stmt)]


_Original = aliased(Document)
_Sealed = aliased(Document)
_Requester = aliased(User)


def _statement(session: Session, identity: Identity, filters: Filters) -> Select:
    stmt = (select(Request.id, Request.business_type, Request.data["purpose"].as_string(),
                   Request.filename, Request.sealed_at, Request.timestamped_at,
                   ProcessDefinition.key, _Requester.name, _Requester.display_name, Seal.id,
                   Seal.name,
                   # the certificate that signed; before 0031 only the seal's current one is known
                   func.coalesce(Request.certificate_serial, Seal.certificate_serial),
                   BusinessType.name, _Original.sha256,
                   _Original.pages, _Sealed.sha256)
            .join(Seal, Seal.id == Request.seal_id)
            .join(ProcessDefinition, ProcessDefinition.id == Request.process_id)
            .join(_Requester, _Requester.id == Request.requester_id)
            .outerjoin(BusinessType, BusinessType.key == Request.business_type)
            .outerjoin(_Original, _Original.id == Request.document_id)
            .outerjoin(_Sealed, _Sealed.id == Request.sealed_document_id)
            .where(Request.sealed_at.is_not(None)))
    readable = _readable_seals(session, identity, filters.seal)
    if readable is not None:
        stmt = stmt.where(Request.seal_id.in_(readable))
    if filters.seal is not None:
        stmt = stmt.where(Request.seal_id == filters.seal)
    if filters.since:
        stmt = stmt.where(Request.sealed_at >= isotime.moment(filters.since, "since"))
    if filters.until:
        stmt = stmt.where(Request.sealed_at < isotime.moment(filters.until, "until", day_end=True))
    if filters.requester:
        stmt = stmt.where(_Requester.name == filters.requester.strip())
    if filters.business_type:
        stmt = stmt.where(Request.business_type == filters.business_type.strip())
    return stmt


_DECISIONS = (select(Task.request_id, Task.name, Task.completed_at, Task.decision, Task.comment,
                     User.name, User.display_name)
              .join(User, User.id == Task.completed_by_id)
              .where(Task.status == TaskStatus.completed)
              .order_by(Task.completed_at, Task.id))


def _approvers(session: Session, ids: list[int]) -> dict[int, list[dict]]:
    """Every decision on these requests, in order: one query for the whole page."""
    found: dict[int, list[dict]] = {i: [] for i in ids}
    if not ids:
        return found
    for rid, step, at, decision, comment, name, display in session.execute(
            _DECISIONS.where(Task.request_id.in_(ids))):
        found[rid].append({"user": name, "display_name": display, "step": step,
                           "decision": decision, "comment": comment,
                           "at": at.isoformat() if at else None})
    return found


def _row(values: tuple, approvers: list[dict]) -> dict:
    (rid, btype, purpose, filename, sealed_at, stamped_at, process, requester, requester_display,
     seal_id, seal_name, serial, btype_name, sha, pages, sealed_sha) = values
    return {"request_id": rid, "seal_id": seal_id, "seal": seal_name,
            "certificate_serial": serial, "process": process, "business_type": btype,
            "business_type_name": btype_name, "purpose": purpose, "requester": requester,
            "requester_display_name": requester_display, "approvers": approvers,
            "filename": filename, "document_sha256": sha, "pages": pages,
            "sealed_sha256": sealed_sha, "sealed_at": sealed_at.isoformat(),
            "timestamped_at": stamped_at.isoformat() if stamped_at else None}


_ORDER = (Request.sealed_at.desc(), Request.id.desc())


def entries(session: Session, identity: Identity, filters: Filters, *, limit: int = 50,
            offset: int = 0) -> list[dict]:
    """One page of the log, newest sealing first (two queries)."""
    stmt = _statement(session, identity, filters).order_by(*_ORDER) \
        .limit(min(max(limit, 1), MAX_PAGE)).offset(max(offset, 0))
    rows = session.execute(stmt).all()
    approvers = _approvers(session, [r[0] for r in rows])
    return [_row(tuple(r), approvers[r[0]]) for r in rows]


def count(session: Session, identity: Identity, filters: Filters) -> int:
    """How many uses match (the pages' count)."""
    inner = _statement(session, identity, filters).with_only_columns(Request.id).subquery()
    return session.execute(select(func.count()).select_from(inner)).scalar_one()


def batches(session: Session, identity: Identity, filters: Filters) -> Iterator[list[dict]]:
    """The whole log as filtered, newest first, in batches of :data:`EXPORT_BATCH` (keyset
    paging: each batch starts after the last row of the one before, so a sealing committed
    meanwhile shifts nothing)."""
    base = _statement(session, identity, filters)
    after: tuple[datetime, int] | None = None
    while True:
        stmt = base
        if after is not None:
            stmt = stmt.where((Request.sealed_at < after[0])
                              | ((Request.sealed_at == after[0]) & (Request.id < after[1])))
        rows = session.execute(stmt.order_by(*_ORDER).limit(EXPORT_BATCH)).all()
        if not rows:
            return
        approvers = _approvers(session, [r[0] for r in rows])
        yield [_row(tuple(r), approvers[r[0]]) for r in rows]
        if len(rows) < EXPORT_BATCH:
            return
        after = (rows[-1][4], rows[-1][0])
