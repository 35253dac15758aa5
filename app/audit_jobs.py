"""The audit chain's anchoring job: its units of work (the scheduler runs it every
SEALFLOW_AUDIT_ANCHOR_HOURS; ``sealflow audit anchor`` on demand)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from app.context import env
from app.extensions import db
from processes import audit_anchor
from processes.db import unit_of_work
from processes.env import Env

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchored:
    seq: int
    hash: str
    stamped_at: datetime


def anchor_audit(session: Session, env: Env, *, force: bool = False) -> Anchored | None:
    """Anchor the chain's head if it needs one: read it, ask the TSA with no transaction open
    (the built-in TSA writes its serial in one of its own), then keep the token. None: nothing
    new to anchor."""
    with unit_of_work(session, write=False):
        head = audit_anchor.due(session, force=force)
    if head is None:
        return None
    token = audit_anchor.stamp(session, env, head)
    with unit_of_work(session):
        anchor = audit_anchor.record(session, head, token)
        done = Anchored(anchor.seq, anchor.hash, anchor.stamped_at)
    return done


def anchor_in_app(app: Flask) -> None:
    """The scheduled job: a failure is logged and tried again at the next run."""
    with app.app_context():
        try:
            done = anchor_audit(db.session, env())
            if done is not None:
                logger.info("audit chain anchored at event %d", done.seq)
        except Exception:  # noqa: BLE001 - logged; tried again next time
            logger.exception("anchoring the audit chain failed")
        finally:
            db.session.remove()


def schedule(scheduler, app: Flask) -> None:
    """The anchoring job on the app's scheduler (``sealflow run`` and ``worker``), every
    SEALFLOW_AUDIT_ANCHOR_HOURS (0: only on demand)."""
    if hours := app.config["AUDIT_ANCHOR_HOURS"]:
        scheduler.add_job(anchor_in_app, "interval", hours=hours, args=[app],
                          id="anchor-audit", max_instances=1, coalesce=True)
