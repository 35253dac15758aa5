"""Leasing grants to sealing jobs: which grants are due, and the lease that lets one job at a
time work on one (``processes.requests.sealing`` is what the job then does). A lease that
expires (a worker died, a step overran) makes its grant due again; recording checks the lease's
attempt, so a grant seals once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from processes.models import GrantStatus, Request, RequestStatus, SigningGrant, utcnow


@dataclass(frozen=True, order=True)
class Lease:
    grant_id: int
    attempt: int


def _free(grant: type[SigningGrant], now: datetime) -> ColumnElement[bool]:
    """A grant still waiting to be sealed whose lease is free or expired."""
    return and_(grant.status == GrantStatus.pending,
                or_(grant.lease_until.is_(None), grant.lease_until < now))


def _due(grant: type[SigningGrant], now: datetime, limit: int) -> Select[tuple[int]]:
    return (select(grant.id).join(Request, Request.id == grant.request_id)
            .where(_free(grant, now), Request.status != RequestStatus.halted)
            .order_by(grant.id).limit(limit))


def due_grants(session: Session, limit: int = 20) -> list[int]:
    """Grants waiting to be sealed whose lease is free or expired."""
    return list(session.execute(_due(SigningGrant, utcnow(), limit)).scalars())


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
    return _lease(session, SigningGrant.id.in_(grant_ids), now, lease_seconds)


def lease_due(session: Session, limit: int, lease_seconds: int) -> list[Lease]:
    """PostgreSQL: lease up to ``limit`` due grants (as :func:`due_grants` finds them) in one
    statement, without reading them first: a grant another worker's poll is leasing at that
    moment is skipped (its row locked), not waited for. SQLite reads first
    (:func:`due_grants`, then :func:`take_leases`): an idle poll takes no write lock there."""
    now = utcnow()
    grant = aliased(SigningGrant, name="g")  # the subquery's own, not the UPDATE's table
    # Materialized: run once. As a plain IN subquery the planner may scan it again, each
    # scan locking other rows, and lease more than ``limit``.
    due = _due(grant, now, limit).with_for_update(of=grant, skip_locked=True) \
        .cte("due").prefix_with("MATERIALIZED")
    return _lease(session, SigningGrant.id.in_(select(due.c.id)), now, lease_seconds)


def _lease(session: Session, which: ColumnElement[bool], now: datetime,
           lease_seconds: int) -> list[Lease]:
    # The grant still free, checked again here: the ids may have been read before now.
    rows = session.execute(
        update(SigningGrant)
        .where(which, _free(SigningGrant, now))
        .values(lease_until=now + timedelta(seconds=lease_seconds),
                attempts=SigningGrant.attempts + 1)
        .returning(SigningGrant.id, SigningGrant.attempts)  # SQLite >= 3.35, PostgreSQL
        .execution_options(synchronize_session=False)).all()
    return sorted(Lease(grant_id, attempt) for grant_id, attempt in rows)
