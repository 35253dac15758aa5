"""The archive timestamps' renewal job (B-LTA documents; the rule is in
``processes.seals.long_term``): run daily by the scheduler (app/jobs.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

import signer
from processes.db import unit_of_work
from processes.env import Env
from processes.errors import SealingFailed
from processes.models import utcnow
from processes.seals import long_term

logger = logging.getLogger(__name__)


def renew_due_timestamps(session: Session, env: Env, *,
                         before: timedelta = long_term.RENEW_BEFORE,
                         now: datetime | None = None,
                         limit: int = 200) -> long_term.RenewalRun:
    """Renew the archive timestamp of every B-LTA sealed document that is due (the rule is in
    ``processes.seals.long_term``), at most ``limit`` of them. Each document is read, renewed
    with no transaction open (the built-in TSA writes in its own), then recorded in a unit of
    work of its own, so one failure costs only its own document."""
    horizon = (now or utcnow()) + before
    run = long_term.RenewalRun()
    with unit_of_work(session, write=False):
        candidates = long_term.renewal_candidates(session, env)
        if not candidates:
            return run
        try:
            settings = long_term.renewal_settings(session)
        except SealingFailed as exc:
            logger.warning("archive timestamps not renewed: %s", exc.message)
            run.stopped = exc.message
            return run
    timestamper = long_term.timestamper_for(env, "B-LTA", session)
    for request_id in candidates:
        if len(run.renewed) >= limit:
            run.stopped = f"the limit of {limit} renewals per run"
            break
        with unit_of_work(session, write=False):
            due = long_term.due_document(session, env, request_id, horizon)
        run.checked += 1
        if due is None:
            continue
        try:
            renewed = long_term.renew(due, timestamper=timestamper, settings=settings,
                                      horizon=horizon)
        except signer.SignerError as exc:
            logger.warning("request %d: the archive timestamp could not be renewed: %s",
                           request_id, exc)
            run.failed.append(request_id)
            continue
        except long_term.RenewalTooShort as exc:
            run.stopped = str(exc)
            logger.warning("archive timestamps not renewed: %s", run.stopped)
            break
        with unit_of_work(session):
            if long_term.record_renewal(session, env, due, renewed):
                run.renewed.append(request_id)
    if run.renewed or run.failed:
        logger.info("archive timestamps: %d renewed, %d failed, %d checked",
                    len(run.renewed), len(run.failed), run.checked)
    return run
