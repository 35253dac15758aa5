"""Finding seal requests: one the caller may see, its files, and the listing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from processes import audit, documents
from processes.env import Env
from processes.errors import BadInput, NotFound, msg, reason_of
from processes.models import BusinessType, Request, RequestStatus, Seal, SealStatus, User
from processes.people.directory import Identity
from processes.requests import visibility
from processes.seal_models import SealTransition


def get_visible(session: Session, identity: Identity, request_id: int) -> Request:
    req = session.get(Request, request_id)
    if req is None or not visibility.can_see(session, identity, req):
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    return req


def download(session: Session, env: Env, identity: Identity, request_id: int, *,
             sealed: bool, record: bool = True) -> tuple[Path, str]:
    """The stored file of a request the caller may see, and the name to download it under:
    the document as submitted, or (``sealed``) the sealed one, 404 until it exists. The
    download is audited (``document.downloaded``): the caller's transaction must be a
    writer's (``app.transactions.writes``). ``record=False``: only its headers were asked
    for (HEAD), nothing was downloaded."""
    req = get_visible(session, identity, request_id)
    if not sealed:
        if req.document is None:
            raise NotFound(msg("request %(request_id)s changes a seal and carries no document",
                               request_id=request_id))
        document, name = req.document, req.filename
    else:
        if req.sealed_document is None:
            raise NotFound(msg("request %(request_id)s is %(status)s, not sealed",
                               request_id=request_id, status=req.status.value))
        stem = req.filename[:-4] if req.filename.lower().endswith(".pdf") else req.filename
        document, name = req.sealed_document, f"{stem}-sealed.pdf"
    if not record:
        return documents.path_for(env, document.sha256), name
    # The token names the business system that fetched it (None: a person at a browser).
    audit.record(session, "document.downloaded", actor=identity.user, request_id=req.id,
                 seal_id=req.seal_id, kind="sealed" if sealed else "original",
                 sha256=document.sha256, filename=name, token=identity.token_id)
    return documents.path_for(env, document.sha256), name


SORTS = {"newest": (Request.id.desc(),), "oldest": (Request.id,),
         "updated": (Request.updated_at.desc(), Request.id.desc())}
"""The orders of a listing (``sort``): newest or oldest first, or last changed first."""


def listing(session: Session, identity: Identity, *, status: str | None = None,
            seal: int | None = None, requester: str | None = None, mine_only: bool = False,
            search: str | None = None, sort: str = "newest",
            limit: int = 50, offset: int = 0) -> list[Request]:
    """The requests the caller may list (their own; auditors' and admins' all unless
    ``mine_only``), filtered, searched (``search``: a number, or part of the file's name, the
    purpose or the business type), in the order ``sort`` names; one statement (and one for the
    seals)."""
    stmt = select(Request)
    if mine_only or not identity.has_role("auditor"):
        stmt = stmt.where(Request.requester_id == identity.user.id)
    if status:
        try:
            stmt = stmt.where(Request.status == RequestStatus(status))
        except ValueError:
            raise BadInput(msg("unknown status '%(status)s'", status=status)) from None
    if seal is not None:
        stmt = stmt.where(Request.seal_id == seal)
    if requester:
        stmt = stmt.join(User, User.id == Request.requester_id).where(User.name == requester)
    if search and search.strip():
        stmt = stmt.where(_matching(search.strip()))
    if sort not in SORTS:
        raise BadInput(msg("unknown sort '%(sort)s': one of %(sorts)s", sort=sort,
                           sorts=", ".join(SORTS)))
    stmt = (stmt.options(selectinload(Request.seal), selectinload(Request.requester))
            .order_by(*SORTS[sort]).limit(min(max(limit, 1), 500)).offset(max(offset, 0)))
    return list(session.execute(stmt).scalars())


def _matching(text: str) -> ColumnElement[bool]:
    """A request's number (``12`` or ``#12``), or part of its file's name, its purpose (the
    title the pages show) or its business type (key or name), case-insensitive."""
    number = text.removeprefix("#")
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%") \
        .replace("_", "\\_") + "%"
    types = select(BusinessType.key).where(or_(
        func.lower(BusinessType.name).like(pattern, escape="\\"),
        func.lower(BusinessType.key).like(pattern, escape="\\")))
    return or_(
        Request.id == int(number) if number.isascii() and number.isdigit()
        and len(number) < 10 else false(),
        func.lower(Request.filename).like(pattern, escape="\\"),
        func.lower(Request.data["purpose"].as_string()).like(pattern, escape="\\"),
        Request.business_type.in_(types),
        func.lower(Request.business_type).like(pattern, escape="\\"))


def require_exists(session: Session, request_id: int) -> Request:
    req = session.get(Request, request_id)
    if req is None:
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    return req


def halt_reason(session: Session, req: Request) -> dict | None:
    """Why a halted request waits: its seal is suspended (``{seal, status, reason, at}``: the
    seal's name and status, and the reason and time of its latest suspension, if recorded)."""
    if req.seal_id is None:
        return None
    suspended = (select(SealTransition.reason, SealTransition.reason_key,
                        SealTransition.reason_args, SealTransition.at)
                 .where(SealTransition.seal_id == req.seal_id,
                        SealTransition.to_status == SealStatus.suspended)
                 .order_by(SealTransition.id.desc()).limit(1).subquery())
    row = session.execute(
        select(Seal.name, Seal.status, suspended.c.reason, suspended.c.reason_key,
               suspended.c.reason_args, suspended.c.at)
        .join(suspended, true(), isouter=True).where(Seal.id == req.seal_id)).first()
    if row is None:
        return None
    name, status, reason, key, args, at = row
    return {"seal": name, "status": status.value, "at": at,
            "reason": reason and reason_of({"reason": reason, "reason_key": key,
                                            "reason_args": args})}
