"""How long the archive keeps a document, and the legal hold.

Each business type may set its retention in years (``business_types.retention_years``; none:
``SEALFLOW_RETENTION_YEARS``), counted from the sealing when the document is filed. An
auditor or an admin puts a document under legal hold, saying why, and lifts it; both are
audited. Nothing in Sealflow deletes an archived document, and nothing may: a database
trigger (migration 0026) refuses to delete an entry under hold or within its retention,
whatever path the DELETE takes, and :func:`check_deletable` says the same in words. When a
retention ends, the admins are told once (a notice, from a daily job); the document stays.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from processes import audit, notices
from processes.archive_models import ArchiveEntry
from processes.errors import InvalidContent, NotAllowed, NotFound, WorkflowStateError, msg
from processes.models import BusinessType, User, UserRole, utcnow
from processes.people.directory import Identity
from processes.statuses import Role

logger = logging.getLogger(__name__)

MAX_REASON = 2000
MAX_YEARS = 200


def _entry(session: Session, request_id: int) -> ArchiveEntry:
    entry = session.execute(select(ArchiveEntry).where(ArchiveEntry.request_id == request_id)
                            .with_for_update()).scalar_one_or_none()
    if entry is None:
        raise NotFound(msg("request %(request_id)s is not in the archive",
                           request_id=request_id))
    return entry


def _may_hold(identity: Identity) -> None:
    if not identity.has_role("auditor"):
        raise NotAllowed(msg("only auditors and admins put documents under legal hold"))


def set_hold(session: Session, identity: Identity, request_id: int,
             reason: str | None) -> ArchiveEntry:
    """Put a request's archived document under legal hold (auditors, admins), saying why."""
    _may_hold(identity)
    said = (reason or "").strip()
    if not said or len(said) > MAX_REASON:
        problem = msg("a reason of 1 to %(limit)s characters is required", limit=MAX_REASON)
        raise InvalidContent(problem, [{"field": "reason", "message": problem}])
    entry = _entry(session, request_id)
    entry.legal_hold, entry.hold_reason = True, said
    entry.hold_by_id, entry.hold_at = identity.user.id, utcnow()
    audit.record(session, "archive.hold_set", actor=identity.user, request_id=request_id,
                 seal_id=entry.seal_id, reason=said)
    logger.info("request %d: legal hold set by %s", request_id, identity.user.name)
    return entry


def clear_hold(session: Session, identity: Identity, request_id: int,
               reason: str | None) -> ArchiveEntry:
    """Lift a legal hold (auditors, admins), saying why."""
    _may_hold(identity)
    said = (reason or "").strip()
    if not said or len(said) > MAX_REASON:
        problem = msg("a reason of 1 to %(limit)s characters is required", limit=MAX_REASON)
        raise InvalidContent(problem, [{"field": "reason", "message": problem}])
    entry = _entry(session, request_id)
    if not entry.legal_hold:
        raise WorkflowStateError(msg("request %(request_id)s is not under legal hold",
                                     request_id=request_id))
    entry.legal_hold, entry.hold_by_id, entry.hold_at = False, identity.user.id, utcnow()
    entry.hold_reason = said
    audit.record(session, "archive.hold_cleared", actor=identity.user, request_id=request_id,
                 seal_id=entry.seal_id, reason=said)
    logger.info("request %d: legal hold lifted by %s", request_id, identity.user.name)
    return entry


def check_deletable(entry: ArchiveEntry, today: date) -> None:
    """Refuse (409) to delete a document under legal hold or within its retention. There is
    no delete in Sealflow; whatever adds one calls this first (and meets the trigger)."""
    if entry.legal_hold:
        raise WorkflowStateError(msg("request %(request_id)s is under legal hold: its "
                                     "archived document cannot be deleted",
                                     request_id=entry.request_id))
    if entry.retention_until >= today:
        raise WorkflowStateError(msg("request %(request_id)s is kept until %(until)s: its "
                                     "archived document cannot be deleted",
                                     request_id=entry.request_id,
                                     until=entry.retention_until.isoformat()))


def set_years(session: Session, identity: Identity, business_type: str,
              years: int | None) -> BusinessType:
    """A business type's retention (managers, admins); None: the default. Applies to the
    documents filed from now on (those filed keep the date they were filed with)."""
    if not identity.has_role("manager"):
        raise NotAllowed(msg("only managers and admins change a business type's retention"))
    if years is not None and not 1 <= years <= MAX_YEARS:
        problem = msg("retention must be 1 to %(limit)s years", limit=MAX_YEARS)
        raise InvalidContent(problem, [{"field": "retention_years", "message": problem}])
    found = session.execute(select(BusinessType).where(BusinessType.key == business_type)
                            ).scalar_one_or_none()
    if found is None:
        raise NotFound(msg("no business type %(key)s", key=business_type))
    before, found.retention_years = found.retention_years, years
    audit.record(session, "business_type.retention_changed", actor=identity.user,
                 business_type=business_type, before=before, after=years)
    return found


def notify_ended(session: Session, today: date | None = None) -> int:
    """Tell every active admin, in one notice, how many documents' retention ended since the
    last time (those under hold are not counted: they must stay); each is counted once.
    Returns how many documents were counted."""
    today = today or utcnow().date()
    ended = list(session.execute(
        select(ArchiveEntry.id).where(ArchiveEntry.retention_until < today,
                                      ArchiveEntry.retention_noticed_at.is_(None),
                                      ArchiveEntry.legal_hold.is_(False))).scalars())
    if not ended:
        return 0
    admins = session.execute(select(User.id).join(UserRole, UserRole.user_id == User.id)
                             .where(UserRole.role == Role.admin, User.active.is_(True))
                             ).scalars()
    notices.notify(session, admins, "archive.retention_ended",
                   msg("The retention of %(count)s archived documents has ended. Nothing is "
                       "deleted on its own: review them in the archive.", count=len(ended)),
                   link="/archive?retention=ended")
    session.execute(update(ArchiveEntry).where(ArchiveEntry.id.in_(ended))
                    .values(retention_noticed_at=utcnow()))
    logger.info("retention ended for %d archived documents: admins told", len(ended))
    return len(ended)
