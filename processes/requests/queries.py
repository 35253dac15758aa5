"""Finding seal requests: one the caller may see, its files, and the listing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from processes import documents
from processes.env import Env
from processes.errors import BadInput, NotFound, msg
from processes.models import Request, RequestStatus, User
from processes.people.directory import Identity
from processes.requests import inbox


def get_visible(session: Session, identity: Identity, request_id: int) -> Request:
    req = session.get(Request, request_id)
    if req is None or not inbox.can_see(session, identity, req):
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    return req


def download(session: Session, env: Env, identity: Identity, request_id: int, *,
             sealed: bool) -> tuple[Path, str]:
    """The stored file of a request the caller may see, and the name to download it under:
    the document as submitted, or (``sealed``) the sealed one, 404 until it exists."""
    req = get_visible(session, identity, request_id)
    if not sealed:
        if req.document is None:
            raise NotFound(msg("request %(request_id)s changes a seal and carries no document",
                               request_id=request_id))
        return documents.path_for(env, req.document.sha256), req.filename
    if req.sealed_document is None:
        raise NotFound(msg("request %(request_id)s is %(status)s, not sealed",
                           request_id=request_id, status=req.status.value))
    stem = req.filename[:-4] if req.filename.lower().endswith(".pdf") else req.filename
    return documents.path_for(env, req.sealed_document.sha256), f"{stem}-sealed.pdf"


def listing(session: Session, identity: Identity, *, status: str | None = None,
            seal: int | None = None, requester: str | None = None, mine_only: bool = False,
            limit: int = 50, offset: int = 0) -> list[Request]:
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
    stmt = (stmt.options(selectinload(Request.seal), selectinload(Request.requester))
            .order_by(Request.id.desc()).limit(min(max(limit, 1), 500)).offset(max(offset, 0)))
    return list(session.execute(stmt).scalars())


def require_exists(session: Session, request_id: int) -> Request:
    req = session.get(Request, request_id)
    if req is None:
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    return req
