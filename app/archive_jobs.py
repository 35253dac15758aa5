"""The archive's jobs (the job layer, app/jobs.py, starts them): filing a request once it is
sealed, the sweep that files whatever a crash left unfiled, and the daily look for archived
documents whose retention has ended (an admin is told; nothing is deleted).

Each owns its transactions, as app/jobs.py's jobs do: what to file is read in one, the file
and its text are read with none open (pdftotext may take seconds), the entry is written in
one of its own, so one document's failure costs only itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from app import filing_lane
from app.context import env
from app.extensions import db
from processes.archive import filing, retention
from processes.archive import text as pdf_text
from processes.db import unit_of_work
from processes.env import Env
from processes.models import utcnow

logger = logging.getLogger(__name__)

SWEEP_MINUTES = 10
"""How often the scheduler files sealed requests left unfiled (a crash, a missing file)."""


def file_sources(session: Session, env: Env, sources: list[filing.Source]) -> int:
    """File each source in a transaction of its own; how many were filed."""
    filed = 0
    for source in sources:
        try:
            found = filing.read(env, source)
        except (filing.FileMissing, pdf_text.TextUnavailable) as exc:
            logger.warning("request %d not filed: %s; tried again by the sweep",
                           source.request_id, exc)
            continue
        with unit_of_work(session):
            filed += filing.record(session, env, found) is not None
    return filed


def file_request(session: Session, env: Env, request_id: int) -> int:
    """File one sealed request (the job after ``sealed``); 0 when filed already."""
    with unit_of_work(session, write=False):
        sources = filing.unfiled(session, request_id=request_id)
    return file_sources(session, env, sources)


def file_sealed(request_id: int) -> None:
    """The job after ``sealed`` (app/jobs.py starts it, in the app's context): errors logged,
    the sweep files the request later."""
    try:
        file_request(db.session, env(), request_id)
    except Exception:  # noqa: BLE001 - the archive sweep files it later
        logger.exception("filing request %d failed; the sweep will file it", request_id)


def file_unfiled(session: Session, env: Env, *, batch: int = 200,
                 sealed_before: datetime | None = None) -> int:
    """File every sealed request not in the archive (``sealed_before``: sealed before then),
    ``batch`` at a time, until none is left or a batch files nothing (what is left fails each
    time: logged, tried next sweep)."""
    total = 0
    while True:
        with unit_of_work(session, write=False):
            sources = filing.unfiled(session, limit=batch, sealed_before=sealed_before)
        filed = file_sources(session, env, sources)
        total += filed
        if len(sources) < batch or filed == 0:
            return total


def sweep(app: Flask) -> int:
    """The scheduler's sweep: file what is unfiled, except what the processes that sealed it
    may still be waiting to file (app/filing_lane.py: within twice its longest wait)."""
    with app.app_context():
        try:
            return file_unfiled(db.session, env(), sealed_before=utcnow() - timedelta(
                seconds=2 * filing_lane.DEFER_SECONDS))
        except Exception:  # noqa: BLE001 - logged; tried again next time
            logger.exception("the archive sweep failed")
            return 0
        finally:
            db.session.remove()


def notify_retention_ended(app: Flask) -> int:
    """Daily: tell the admins of the documents whose retention ended (once each)."""
    with app.app_context():
        try:
            with unit_of_work(db.session):
                return retention.notify_ended(db.session)
        except Exception:  # noqa: BLE001 - logged; tried again tomorrow
            logger.exception("the archive's retention check failed")
            return 0
        finally:
            db.session.remove()


def schedule(scheduler, app: Flask) -> None:
    """The archive's periodic jobs, on the app's scheduler (``sealflow run`` and ``worker``)."""
    scheduler.add_job(sweep, "interval", args=[app], minutes=SWEEP_MINUTES,
                      id="archive-sweep", max_instances=1, coalesce=True,
                      next_run_time=utcnow())
    scheduler.add_job(notify_retention_ended, "interval", args=[app], hours=24,
                      id="archive-retention", max_instances=1, coalesce=True,
                      next_run_time=utcnow())
