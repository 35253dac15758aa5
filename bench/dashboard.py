"""The dashboard at scale: every figure of ``GET /api/v1/dashboard`` (processes/dashboard/
figures.py) over a year, on a database of 200,000 tasks (50,000 requests, 40,000 of them sealed;
20,000 tasks open) against the same on one of 1,000 tasks, in one run; then each figure alone.
Each figure is one query; this shows what the database's counting and grouping cost as the
rows grow. Goal: the whole dashboard under 1 s at 200,000 tasks.

    PYTHONPATH=$PWD .venv/bin/python bench/dashboard.py
    PYTHONPATH=$PWD .venv/bin/python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1:5432/test

The rows are bench/inbox.py's (its requests and tasks, written the same way), each finished
request sealed half an hour after its last task, and one policy refusal and one incident
event per hundred requests.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Database, Stats, database_options, load_average, log, machine, run_main  # noqa: E402
from bench.inbox import fill  # noqa: E402

GOAL_MS = 1000.0


def _more(engine: Any) -> None:
    """Sealing times, refusals and incidents on the rows bench/inbox.py wrote."""
    from sqlalchemy import func, select, text, update

    from processes import audit
    from processes.models import AuditEvent, Request, UserRole

    with engine.begin() as conn:
        conn.execute(UserRole.__table__.insert(), [{"user_id": 1, "role": "admin"}])  # type: ignore[attr-defined]
        conn.execute(update(Request).where(Request.status == "sealed").values(
            sealed_at=Request.updated_at))
        ids = conn.execute(select(Request.id, Request.seal_id).where(
            Request.id % 100 == 0)).all()
        prev = audit.GENESIS
        rows = []
        at = datetime(2026, 3, 1, tzinfo=UTC)
        for n, (rid, seal) in enumerate(ids):
            refused = n % 2 == 0
            rows.append({"seq": n + 1, "at": at, "actor_id": None, "actor": None,
                         "action": "seal.policy_refused" if refused else "request.incident",
                         "request_id": rid, "seal_id": seal, "prev_hash": prev,
                         "hash": prev,  # not a chain anyone verifies: the figures' rows only
                         "details": {"rule": ["max_pages", "demands", "groups"][n % 3],
                                     "stage": "filing", "process": "contract_seal"}
                         if refused else {"element": "gw"}})
        if rows:
            conn.execute(AuditEvent.__table__.insert(), rows)  # type: ignore[attr-defined]
        conn.execute(text("ANALYZE"))
        log(f"{conn.execute(select(func.count()).select_from(AuditEvent)).scalar()} events")


def _parts(now: datetime) -> dict[str, Any]:
    """Each figure's own call (what ``figures.figures`` makes), to time them apart."""
    from processes.dashboard import figures

    return {
        "seal_uses": lambda s, f: figures.seal_uses(s, f),
        "flow_lead_times": lambda s, f: figures.flow_lead_times(s, f),
        "step_lead_times": lambda s, f: figures.step_lead_times(s, f),
        "open_tasks": lambda s, f: figures.open_tasks(s, f, now),
        "refusals": lambda s, f: figures.refusals(s, f),
        "incidents": lambda s, f: figures.incidents(s, f, {}),
    }


def time_figures(app: Any, runs: int) -> tuple[Stats, dict[str, Stats], dict[str, Any]]:
    """The whole dashboard, then each figure alone (each in a fresh session)."""
    from app.extensions import db
    from processes.dashboard import figures, filters
    from processes.models import User
    from processes.people.directory import Identity

    samples, found = [], {}
    now = datetime(2026, 12, 31, 12, tzinfo=UTC)
    chosen = filters.parse({"from": "2026-01-01", "to": "2026-12-31"}, now=now)
    for i in range(runs + 2):
        with app.app_context():
            who = Identity(db.session.get_one(User, 1))
            assert who.has_role("auditor")  # an admin; the roles read before the clock starts
            started = time.perf_counter()
            found = figures.figures(db.session, who, chosen, now=now)
            elapsed = time.perf_counter() - started
            db.session.remove()
        if i >= 2:
            samples.append(elapsed)
    parts: dict[str, Stats] = {}
    for name, call in _parts(now).items():
        parts[name] = Stats(name)
        for i in range(runs + 1):
            with app.app_context():
                started = time.perf_counter()
                call(db.session, chosen)
                elapsed = time.perf_counter() - started
                db.session.remove()
            if i >= 1:
                parts[name].samples_s.append(elapsed)
    return Stats("dashboard", samples), parts, found


def measure(app: Any, label: str, total: int, runs: int) -> tuple[Stats, dict[str, Stats]]:
    from app.extensions import db
    from processes.models import Base

    with app.app_context():
        engine = db.engine
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        written = fill(engine, total, total // 10, history=True)
        _more(engine)
        log(f"{label}: filled in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{n} {t}" for t, n in written.items()))
    stats, parts, found = time_figures(app, runs)
    log(f"{label}: {found['seal_uses']['total']} uses, "
        f"{sum(f['requests'] for f in found['lead_times']['flows'])} requests timed, "
        f"{sum(g['open'] for g in found['tasks']['groups'])} open tasks (by group), "
        f"{found['refusals']['total']} refusals, {found['incidents']['resolved']} incidents")
    return stats, parts


def body(args: argparse.Namespace, data_dir: Path, database: Database) -> None:
    from app import create_app
    from config import TestConfig

    url = database.url or f"sqlite:///{data_dir / 'sealflow.db'}"
    app = create_app(TestConfig(data_dir, url))
    print(f"# bench/dashboard.py on {database.kind}\n# {machine()}; load {load_average()}")
    small, small_parts = measure(app, "small", args.small, args.runs)
    big, big_parts = measure(app, "large", args.large, args.runs)
    print(f"{'tasks':>10} {'median ms':>10} {'p90 ms':>8} {'mean ms':>8}")
    for n, stats in ((args.small, small), (args.large, big)):
        print(f"{n:>10,} {stats.median:>10.2f} {stats.pct(90):>8.2f} {stats.mean:>8.2f}")
    print(f"{'figure (median ms)':<20} {args.small:>10,} {args.large:>10,}")
    for name, stats in big_parts.items():
        print(f"{name:<20} {small_parts[name].median:>10.2f} {stats.median:>10.2f}")
    print(f"ratio large/small (medians): {big.median / small.median:.1f}x for "
          f"{args.large / args.small:.0f}x the rows; load {load_average()}")
    print(f"goal: the whole dashboard under {GOAL_MS:.0f} ms at {args.large:,} tasks: "
          + ("met" if big.median < GOAL_MS else "NOT MET"))
    with app.app_context():
        from app.extensions import db
        db.engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_options(p)
    p.add_argument("--large", type=int, default=200_000, help="tasks in the large database")
    p.add_argument("--small", type=int, default=1_000, help="tasks in the small database")
    p.add_argument("--runs", type=int, default=10, help="timed dashboards per database")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, lambda data_dir, database: body(args, data_dir, database))


if __name__ == "__main__":
    sys.exit(main())
