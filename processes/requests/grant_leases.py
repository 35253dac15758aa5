"""Leasing grants to sealing jobs: which grants are due, and the lease that lets one job at a
time work on one (``processes.requests.sealing`` is what the job then does). A lease that
expires (a worker died, a step overran) makes its grant due again; recording checks the lease's
attempt, so a grant seals once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from processes.models import GrantStatus, Request, RequestStatus, SigningGrant, utcnow


@dataclass(frozen=True, order=True)
class Lease:
    grant_id: int
    attempt: int


def due_grants(session: Session, limit: int = 20) -> list[int]:
    """Grants waiting to be sealed whose lease is free or expired."""
    now = utcnow()
    return list(session.execute(
        select(SigningGrant.id).join(Request, Request.id == SigningGrant.request_id).where(
            SigningGrant.status == GrantStatus.pending, Request.status != RequestStatus.halted,
            or_(SigningGrant.lease_until.is_(None), SigningGrant.lease_until < now))
        .order_by(SigningGrant.id).limit(limit)).scalars())


def take_lease(session: Session, grant_id: int, lease_seconds: int) -> Lease | None:
    """Atomically lease a pending grant (None when another worker holds it or it is done)."""
    leases = take_leases(session, [grant_id], lease_seconds)
    return leases[0] if leases else None


def take_leases(session: Session, grant_ids: list[int], lease_seconds: int) -> list[Lease]:
    """Atomically lease those of ``grant_ids`` that are still pending with a free or expired
    lease, in one statement; the others (another worker's by now, or done) are left out. A
    worker leases only what its free threads will start on at once: a grant never waits
    leased in a queue while another worker could seal it."""
    if not grant_ids:
        return []
    now = utcnow()
    rows = session.execute(
        update(SigningGrant)
        .where(SigningGrant.id.in_(grant_ids), SigningGrant.status == GrantStatus.pending,
               or_(SigningGrant.lease_until.is_(None), SigningGrant.lease_until < now))
        .values(lease_until=now + timedelta(seconds=lease_seconds),
                attempts=SigningGrant.attempts + 1)
        .returning(SigningGrant.id, SigningGrant.attempts)  # SQLite >= 3.35, PostgreSQL
        .execution_options(synchronize_session=False)).all()
    return sorted(Lease(grant_id, attempt) for grant_id, attempt in rows)
