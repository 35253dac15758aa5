"""The audit page's filters at scale: the first page (51 events, newest first) of /audit and
GET /api/v1/audit for each filter, on a log of 300,000 events (2,000 people, six actions, a
minute apart), against the same log when it held 3,000, in one run. Goal: every first page under
50 ms at 300,000 (the ratio is printed; a few milliseconds' noise makes it swing).

    PYTHONPATH=$PWD .venv/bin/python bench/audit_filters.py                  # SQLite, temp dir
    PYTHONPATH=$PWD .venv/bin/python bench/audit_filters.py --database-url postgresql://postgres@127.0.0.1:5432/test

The rows are written with SQLAlchemy Core's executemany (their hashes are not a chain: the
filters never read them), then ANALYZE. The timed call is what the page asks of the domain,
``processes.audit_log.page``, in a reading unit of work; best of 5.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Database, log, machine, run_main  # noqa: E402

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
ACTIONS = ("task.created", "task.completed", "request.created", "document.downloaded",
           "user.login", "seal.changed")
PEOPLE = 2000


def filters(events: int) -> dict[str, dict[str, str]]:
    """The filters timed: each alone, an old day, and a person who never acted."""
    old = (EPOCH + timedelta(minutes=events // 10)).date().isoformat()
    month = (EPOCH + timedelta(minutes=events // 10, days=30)).date().isoformat()
    return {"none": {}, "actor": {"actor": "user17"}, "action task.": {"action": "task."},
            "request": {"request": "123"}, "seal": {"seal": "7"},
            "an old day": {"from": old, "to": old},
            "an old month, actor": {"from": old, "to": month, "actor": "user17"},
            "an absent actor": {"actor": "nobody"}}


def grow_and_measure(data_dir: Path, db: Database, sizes: list[int]) -> list[dict[str, float]]:
    """One log grown to each of ``sizes`` in turn (appended, as a log grows), each filter's
    first page timed at each size."""
    from sqlalchemy import insert, text

    from app import create_app
    from app.extensions import db as sa_db
    from config import TestConfig
    from processes import audit_log
    from processes.db import unit_of_work
    from processes.models import AuditEvent
    from processes.people import directory
    from processes.people.directory import Identity
    from processes.statuses import Role

    app = create_app(TestConfig(data_dir, db.url))
    found = []
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(directory=app.extensions["migrate"].directory)
        with unit_of_work(sa_db.session):
            auditor = directory.add_user(sa_db.session, "bench-auditor", roles=[Role.auditor])
        who = Identity(auditor, None)
        rnd, written = random.Random(1), 0
        for size in sizes:
            rows = []
            for n in range(written, size):
                rows.append({"at": EPOCH + timedelta(minutes=n), "actor_id": None,
                             "actor": f"user{rnd.randrange(PEOPLE)}",
                             "action": rnd.choice(ACTIONS),
                             "request_id": rnd.randrange(1, max(2, size // 5)),
                             "seal_id": rnd.randrange(1, 50),
                             "details": {"task": "x" * 30, "n": n},
                             "prev_hash": "0" * 64, "hash": "1" * 64})
                if len(rows) == 10_000 or n == size - 1:
                    with sa_db.engine.begin() as conn:
                        conn.execute(insert(AuditEvent.__table__), rows)
                    rows = []
            written = size
            with sa_db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            log(f"{size:,} events written")
            best = {}
            for name, args in filters(size).items():
                which = audit_log.parse_filter(args)
                times = []
                for _ in range(5):
                    start = time.perf_counter()
                    with unit_of_work(sa_db.session, write=False):
                        audit_log.page(sa_db.session, who, which, limit=51)
                    times.append(time.perf_counter() - start)
                best[name] = min(times) * 1000
            found.append(best)
        sa_db.session.remove()
        sa_db.engine.dispose()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    def body(data_dir: Path, db: Database) -> None:
        log(f"{machine()}; {db.kind}")
        small, large = grow_and_measure(data_dir, db, [args.events // 100, args.events])
        print(f"{'filter':<22}{args.events // 100:>10,} ev{args.events:>12,} ev   ratio")
        for name in small:
            print(f"{name:<22}{small[name]:>10.1f} ms{large[name]:>10.1f} ms"
                  f"{large[name] / small[name]:>8.2f}x")

    return run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
