"""The keyed audit chain's cost: 100,000 events appended in commits of 10, as requests write
them (each event hashed and MAC'd, one INSERT per commit, the head file written after it),
next to a plain INSERT of the same rows into a table without the chain, in the same run; then
the whole log verified (hashes, MACs, the head file). Goal: appending costs at most 1.5x the
plain insert.

    PYTHONPATH=$PWD .venv/bin/python bench/audit.py                     # SQLite in a temp dir
    PYTHONPATH=$PWD .venv/bin/python bench/audit.py --database-url postgresql://postgres@127.0.0.1:5432/test

The two kinds of commit alternate in blocks of 1,000 events, so that both see the same load
(the machine may be shared). Each commit is a unit of work as a request's
(``processes.db.unit_of_work``: on SQLite BEGIN IMMEDIATE).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Database, database_options, load_average, log, machine, run_main  # noqa: E402

BLOCK = 1_000
PER_COMMIT = 10


CHAIN_COLUMNS = ("prev_hash", "hash", "mac", "key_id")


def _plain_table(metadata: Any) -> Any:
    """audit_events without the chain: its other columns and the audit page's indexes on them
    (the indexes are the log's cost, not the chain's)."""
    import sqlalchemy as sa

    from processes.models import AuditEvent

    source = AuditEvent.__table__
    table = sa.Table("audit_plain", metadata, *[
        sa.Column(c.name, c.type, primary_key=c.primary_key) for c in source.columns
        if c.name not in CHAIN_COLUMNS])
    for index in source.indexes:
        names = [c.name for c in index.columns]
        assert not set(names) & set(CHAIN_COLUMNS), index.name
        sa.Index(index.name.replace("audit_events", "audit_plain"),
                 *[table.c[n] for n in names])
    return table


def _details(n: int) -> dict[str, Any]:
    return {"task": f"审批 {n}", "decision": "approve", "opinion": "同意用印"}


def append(app: Any, total: int) -> tuple[float, float, float, float]:
    """Seconds spent appending ``total`` events each way, then this process's CPU seconds:
    (plain, chain, plain CPU, chain CPU). On a shared machine the CPU time is the steadier."""
    import sqlalchemy as sa

    from app.extensions import db
    from processes import audit
    from processes.db import unit_of_work
    from processes.models import Base, utcnow

    plain_table = _plain_table(sa.MetaData())
    plain_insert = sa.insert(plain_table)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        plain_table.create(db.engine, checkfirst=True)
        spent = {"plain": 0.0, "chain": 0.0}
        cpu = {"plain": 0.0, "chain": 0.0}
        for block in range(0, total, BLOCK):
            for kind in ("plain", "chain"):
                started, cpu_started = time.perf_counter(), time.process_time()
                for first in range(block, min(block + BLOCK, total), PER_COMMIT):
                    with unit_of_work(db.session):
                        if kind == "plain":
                            db.session.execute(plain_insert, [{
                                "at": utcnow(), "actor_id": None, "actor": None,
                                "action": "request.task_completed", "request_id": n // 7,
                                "seal_id": n % 3 or None, "details": _details(n)}
                                for n in range(first, first + PER_COMMIT)])
                        else:
                            for n in range(first, first + PER_COMMIT):
                                audit.record(db.session, "request.task_completed",
                                             request_id=n // 7, seal_id=n % 3 or None,
                                             **_details(n))
                spent[kind] += time.perf_counter() - started
                cpu[kind] += time.process_time() - cpu_started
            if (block // BLOCK) % 10 == 9:
                log(f"{block + BLOCK:,} events each way")
    return spent["plain"], spent["chain"], cpu["plain"], cpu["chain"]


def verify(app: Any, total: int) -> float:
    from app.extensions import db
    from processes import audit_verify
    from processes.db import unit_of_work

    with app.app_context():
        started = time.perf_counter()
        with unit_of_work(db.session, write=False):
            report = audit_verify.verify(db.session)
        spent = time.perf_counter() - started
    if not report["ok"] or report["events"] != total:
        raise SystemExit(f"the log does not verify: {report}")
    return spent


def body(args: argparse.Namespace, data_dir: Path, database: Database) -> None:
    from app import create_app
    from config import TestConfig

    url = database.url or f"sqlite:///{data_dir / 'sealflow.db'}"
    app = create_app(TestConfig(data_dir, url))
    print(f"# bench/audit.py on {database.kind}\n# {machine()}; load {load_average()}")
    plain, chain, plain_cpu, chain_cpu = append(app, args.events)
    checked = verify(app, args.events)
    head = Path(app.config["AUDIT_HEAD_FILE"])
    print(f"{'':>30} {'events':>9} {'seconds':>8} {'events/s':>9}")
    for what, spent in (("plain INSERT, no chain", plain),
                        ("keyed chain + head file", chain), ("verify (hash, MAC, head)", checked)):
        print(f"{what:>30} {args.events:>9,} {spent:>8.2f} {args.events / spent:>9,.0f}")
    ratio = chain / plain
    print(f"CPU seconds of this process: plain {plain_cpu:.2f}, keyed chain {chain_cpu:.2f} "
          f"({chain_cpu / plain_cpu:.2f}x)")
    print(f"ratio keyed chain / plain insert: {ratio:.2f}x (goal at most 1.5x): "
          f"{'met' if ratio <= 1.5 else 'NOT met'}; commits of {PER_COMMIT}; head file "
          f"{head.name} {'written' if head.exists() else 'MISSING'}; load {load_average()}")
    with app.app_context():
        from app.extensions import db
        db.engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_options(p)
    p.add_argument("--events", type=int, default=100_000, help="events appended each way")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, lambda data_dir, database: body(args, data_dir, database))


if __name__ == "__main__":
    sys.exit(main())
