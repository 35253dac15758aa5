"""Copy and resubmit: a rejected or withdrawn request's requester starts a new one from it, the
new-request page filled in with the same business type, seal, form data and placement, and
its document offered again without a new upload (``NewRequest.copy_of``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from processes import documents
from processes.env import Env
from processes.errors import NotAllowed, WorkflowStateError, msg
from processes.models import Request, RequestStatus
from processes.people.directory import Identity
from processes.requests.queries import get_visible

COPYABLE = (RequestStatus.rejected, RequestStatus.withdrawn)
"""The requests a copy may start from: those that ended without a seal."""


def may_copy(identity: Identity, req: Request) -> bool:
    return req.requester_id == identity.user.id and req.status in COPYABLE


def _copyable(session: Session, identity: Identity, request_id: int) -> Request:
    req = get_visible(session, identity, request_id)
    if req.requester_id != identity.user.id:
        raise NotAllowed(msg("only the requester may copy a request"))
    if req.status not in COPYABLE:
        raise WorkflowStateError(msg("request %(id)s is %(status)s: only a rejected or "
                                     "withdrawn request can be copied",
                                     id=req.id, status=req.status.value))
    return req


def prefill_from(session: Session, identity: Identity, request_id: int) -> dict[str, Any]:
    """What a new request copied from ``request_id`` starts with: ``{copy_of, process,
    business_type, seal, data, placement, document}`` (``document``: ``{filename, sha256,
    pages}`` or None for a lifecycle request).

    :raises NotAllowed: the caller is not its requester.
    :raises WorkflowStateError: it was not rejected or withdrawn.
    """
    req = _copyable(session, identity, request_id)
    return {
        "copy_of": req.id,
        "process": req.process.key,
        "business_type": req.business_type,
        "seal": req.seal_id,
        "data": dict(req.data or {}),
        "placement": dict(req.placement) if req.placement else None,
        "document": ({"filename": req.filename, "sha256": req.document.sha256,
                      "pages": req.document.pages} if req.document is not None else None),
    }


def original_document(session: Session, env: Env, identity: Identity,
                      request_id: int) -> tuple[bytes, str]:
    """The document of the request a copy starts from, and its file's name."""
    req = _copyable(session, identity, request_id)
    if req.document is None:
        raise WorkflowStateError(msg("request %(id)s carries no document", id=req.id))
    return documents.read(env, req.document), req.filename
