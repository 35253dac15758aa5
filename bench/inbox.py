"""The inbox at scale: the first inbox page, with every tab's count, for a user in 5 groups, on a
database of 1,000,000 tasks (100,000 open; 10,000 users, 500 groups) against the same on one of
1,000 tasks (100 open), in one run. Goal: at most 2x.

    PYTHONPATH=$PWD .venv/bin/python bench/inbox.py                     # SQLite in a temp dir
    PYTHONPATH=$PWD .venv/bin/python bench/inbox.py --database-url postgresql://postgres@127.0.0.1:5432/test

The measured user's own work is the same in both databases (80 open tasks: 15 assigned to
them, 5 they claimed, 60 offered to their groups; 200 they completed; 300 more done by others
in their groups); everyone else's open tasks go to the other groups or people, and their done
tasks were offered to any group, the user's too (``--no-group-history``: not to theirs), so
the user's groups' history grows with the database: an inbox must not pay for it.
The rows are written with SQLAlchemy Core's executemany (SQLite) or COPY (PostgreSQL), then
ANALYZE. The timed call is what the inbox page asks of the domain:
``inbox_lists.tasks_page(counts=True)`` for the first 50 tasks of the default tab, and each
row described as the API answers it, in a fresh session each time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Database, Stats, database_options, load_average, log, machine, run_main  # noqa: E402

USERS, GROUPS, FOCAL_GROUPS = 10_000, 500, 5
TASKS_PER_REQUEST = 4  # a running request: 3 done and 1 open; a finished one: 4 done
FOCAL_OPEN = {"assigned": 15, "claimed": 5, "offered": 60}
FOCAL_DONE, FOCAL_GROUP_HISTORY = 200, 300
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _rows(total: int, open_: int, history: bool,
          seed: int = 12) -> Iterator[tuple[str, list[dict]]]:
    """(table, rows) in insertion order. User 1 is the measured user, groups 1-5 theirs.
    ``history``: everyone else's done tasks were offered to any group, the user's too."""
    rnd = random.Random(seed)
    yield "users", [{"id": i, "name": f"u{i:05d}", "display_name": f"用户{i}", "active": True,
                     "created_at": EPOCH} for i in range(1, USERS + 1)]
    yield "groups", [{"id": g, "key": f"g{g:03d}", "name": f"部门{g}", "head_id": None}
                     for g in range(1, GROUPS + 1)]
    members = {(1, g) for g in range(1, FOCAL_GROUPS + 1)}
    for u in range(2, USERS + 1):
        members |= {(u, rnd.randint(1, GROUPS)) for _ in range(FOCAL_GROUPS)}
    yield "memberships", [{"user_id": u, "group_id": g} for u, g in sorted(members)]
    yield "process_definitions", [{
        "id": 1, "key": "contract_seal", "version": 1, "name": "合同用印", "sha256": "0" * 64,
        "files": {}, "authorized_end": "end", "start_form": [], "seal_action": None,
        "deployed_at": EPOCH, "comment": None,
        "tasks": {"approve": {"name": "审批", "form": [{"id": "opinion", "type": "string"}]}}}]
    yield "seals", [{"id": s, "name": f"印章{s}", "type": "合同专用章", "status": "active",
                     "system": False, "cert_pem": b"-", "key_pem": b"-",
                     "key_storage": "software", "certificate_serial": f"{s:x}",
                     "appearance_pdf": b"-", "appearance_png": b"-", "created_at": EPOCH}
                    for s in range(1, 11)]
    yield "documents", [{"id": 1, "sha256": "1" * 64, "size": 1000, "pages": 1,
                         "created_at": EPOCH}]
    running = open_
    finished = (total - running * TASKS_PER_REQUEST) // TASKS_PER_REQUEST
    requests, tasks, candidates = [], [], []
    focal_open = [k for k, n in FOCAL_OPEN.items() for _ in range(n)]
    focal_done = ["done"] * FOCAL_DONE + ["history"] * FOCAL_GROUP_HISTORY
    for r in range(1, running + finished + 1):
        is_running = r <= running
        requester = rnd.randint(2, USERS)
        created = EPOCH + timedelta(minutes=r)
        requests.append({
            "id": r, "status": "running" if is_running else "sealed", "process_id": 1,
            "business_type": rnd.choice(["contract", "purchase", "lease"]),
            "seal_id": rnd.randint(1, 10), "requester_id": requester,
            "created_by_id": requester, "document_id": 1, "filename": f"合同{r}.pdf",
            "placement": None, "data": {"amount": rnd.randint(1, 10**6)}, "state": "{}",
            "state_version": "1", "created_at": created, "updated_at": created})
        for k in range(TASKS_PER_REQUEST):
            is_open = is_running and k == TASKS_PER_REQUEST - 1
            kind = (focal_open.pop() if is_open and focal_open else
                    focal_done.pop() if not is_open and focal_done else "other")
            tid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            at = created + timedelta(hours=k)
            group = rnd.randint(1, FOCAL_GROUPS) if kind != "other" else \
                rnd.randint(1 if history and not is_open else FOCAL_GROUPS + 1, GROUPS)
            assignee = 1 if kind == "assigned" else \
                (rnd.randint(2, USERS) if kind == "other" and rnd.random() < 0.3 else None)
            worker = 1 if kind == "done" else rnd.randint(2, USERS)
            tasks.append({
                "id": tid, "request_id": r, "element_id": "approve", "name": "审批",
                "lane": None, "status": "open" if is_open else "completed",
                "assignee": f"u{assignee:05d}" if assignee else None,
                "candidate_users": [f"u{assignee:05d}"] if assignee else [],
                "candidate_groups": [] if assignee else [f"g{group:03d}"],
                "claimed_by_id": 1 if kind == "claimed" else None, "created_at": at,
                "due_at": at + timedelta(days=3) if rnd.random() < 0.3 else None,
                "completed_at": None if is_open else at + timedelta(minutes=30),
                "completed_by_id": None if is_open else worker,
                "decision": None if is_open else "approve", "comment": None,
                "requester_may_work": False, "document_sha256": None, "activity": None})
            candidates.append({"task_id": tid, "user_id": assignee,
                               "group_id": None if assignee else group, "task_open": is_open})
        if len(tasks) >= 200_000:
            yield "requests", requests
            yield "tasks", tasks
            yield "task_candidates", candidates
            requests, tasks, candidates = [], [], []
    yield "requests", requests
    yield "tasks", tasks
    yield "task_candidates", candidates


def _copy_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def fill(engine: Any, total: int, open_: int, history: bool) -> dict[str, int]:
    """Write the rows; how many of each table."""
    from processes.models import Base

    counts: dict[str, int] = {}
    tables = Base.metadata.tables
    for name, rows in _rows(total, open_, history):
        if not rows:
            continue
        counts[name] = counts.get(name, 0) + len(rows)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                cols = list(rows[0])
                raw = conn.connection.driver_connection
                with raw.cursor().copy(
                        f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([_copy_value(row[c]) for c in cols])
            else:
                for start in range(0, len(rows), 50_000):
                    conn.execute(tables[name].insert(), rows[start:start + 50_000])
    with engine.begin() as conn:
        from sqlalchemy import text
        if engine.dialect.name == "postgresql":
            for name in ("users", "groups", "requests", "task_candidates", "seals"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))
        conn.execute(text("ANALYZE"))
    return counts


def time_inbox(app: Any, runs: int) -> tuple[Stats, int, dict[str, int]]:
    from app.extensions import db
    from processes.models import User
    from processes.requests import inbox_lists, views

    samples = []
    for i in range(runs + 3):
        with app.app_context():
            started = time.perf_counter()
            user = db.session.get(User, 1)
            page = inbox_lists.tasks_page(db.session, user, inbox_lists.InboxQuery(),
                                          counts=True)
            rows = [views.describe_task(t) | inbox_lists.describe_row(t) for t in page.tasks]
            elapsed = time.perf_counter() - started
            db.session.remove()
        if i >= 3:  # warm-up: the statement caches and the database's pages
            samples.append(elapsed)
    return Stats("inbox page", samples), len(rows), page.counts or {}


def measure(app: Any, label: str, total: int, runs: int, history: bool) -> Stats:
    from app.extensions import db
    from processes.models import Base

    with app.app_context():
        engine = db.engine
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        written = fill(engine, total, total // 10, history)
        log(f"{label}: filled in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{n} {t}" for t, n in written.items()))
    stats, shown, counts = time_inbox(app, runs)
    log(f"{label}: {shown} rows on the page, counts {counts}")
    expected = {"mine": FOCAL_OPEN["assigned"], "groups": FOCAL_OPEN["offered"],
                "claimed": FOCAL_OPEN["claimed"], "done": FOCAL_DONE}
    if any(counts.get(k) != v for k, v in expected.items()) or shown != 50:
        raise SystemExit(f"unexpected inbox for the measured user: {counts}, {shown} rows")
    return stats


def body(args: argparse.Namespace, data_dir: Path, database: Database) -> None:
    from app import create_app
    from config import TestConfig

    url = database.url or f"sqlite:///{data_dir / 'sealflow.db'}"
    app = create_app(TestConfig(data_dir, url))
    print(f"# bench/inbox.py on {database.kind}\n# {machine()}; load {load_average()}")
    print("# the others' done tasks were offered to any group, the measured user's too"
          if args.group_history else "# --no-group-history: the others' done tasks were "
          "offered to other groups than the measured user's")
    small = measure(app, "small", args.small, args.runs, args.group_history)
    big = measure(app, "large", args.large, args.runs, args.group_history)
    print(f"{'tasks':>10} {'open':>8} {'median ms':>10} {'p90 ms':>8} {'mean ms':>8}")
    for n, stats in ((args.small, small), (args.large, big)):
        print(f"{n:>10,} {n // 10:>8,} {stats.median:>10.2f} {stats.pct(90):>8.2f} "
              f"{stats.mean:>8.2f}")
    ratio = big.median / small.median
    print(f"ratio large/small (medians): {ratio:.2f}x (goal at most 2x): "
          f"{'met' if ratio <= 2 else 'NOT met'}; load {load_average()}")
    with app.app_context():
        from app.extensions import db
        db.engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_options(p)
    p.add_argument("--large", type=int, default=1_000_000, help="tasks in the large database")
    p.add_argument("--small", type=int, default=1_000, help="tasks in the small database")
    p.add_argument("--runs", type=int, default=30, help="timed inbox pages per database")
    p.add_argument("--no-group-history", dest="group_history", action="store_false",
                   help="offer the others' done tasks to other groups than the measured user's "
                   "(by default their groups' history grows with the database)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, lambda data_dir, database: body(args, data_dir, database))


if __name__ == "__main__":
    sys.exit(main())
