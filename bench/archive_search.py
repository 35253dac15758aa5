"""Archive search at scale: the first page (50 results, newest first) of a full-text search
over 100,000 archived documents of about 1,500 characters each, half of them Chinese, on
SQLite (FTS5) or PostgreSQL (tsvector, GIN), against a LIKE scan of the same text in the same
run (the baseline: what a search without an index costs). Goal: under 100 ms.

    PYTHONPATH=$PWD .venv/bin/python bench/archive_search.py                 # SQLite, temp dir
    PYTHONPATH=$PWD .venv/bin/python bench/archive_search.py --database-url postgresql://postgres@127.0.0.1:5432/test

The texts are made from a contract vocabulary (合同, 甲方, 签署 ... and English contract words)
and random common characters, so that a common word (合同) is in most Chinese documents, a
phrase (甲方签署) in many, a rare word in about a hundred and an absent one in none. To fill
100,000 rows in minutes on a shared machine, ``--distinct`` texts (2,000) are made and
tokenised by processes/archive/terms.py once and dealt out to the rows (an index's lists are
as long as with 100,000 distinct texts; the 100 rows with the rare word are tokenised on
their own). The rows are written with executemany (SQLite) or COPY (PostgreSQL; the GIN
index built after the load), then ANALYZE. The timed call is what
``GET /api/v1/archive?q=...`` asks of the domain (``processes.archive.search.search``, as
an auditor: every document; and as people who see part of it), in a fresh session each time.

Who searches (the line before the table says how many documents each may see): the auditor;
a requester (about 100 requests of their own, 30 others' they approved, 50 on which their
committee was a candidate group, 10 they were copied on: about 170 documents); an approver
(the head of one of 10 departments, assignee of its requests' first approval: about 10%);
the custodian of one of the 10 seals (about 10%). Every request has its department's
approval task, a fifth also a legal review (a group's, claimed and completed by one of five),
so the tasks and their candidates are as many as the documents.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Database, Stats, database_options, load_average, log, machine, run_main  # noqa: E402

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
USERS, SEALS = 1_000, 10
DEPARTMENTS = 10
AUDITOR, REQUESTER, CUSTODIAN = 1, 2, 3
HEADS = range(901, 901 + DEPARTMENTS)  # head of department d: 901 + d
APPROVER = HEADS[0]
LEGAL = range(911, 916)  # the legal group: a fifth of the requests
COMMITTEE = (REQUESTER, *range(916, 921))  # a group the requester is in: 1 request in 2,000
WHO = (("auditor", AUDITOR), ("requester", REQUESTER), ("approver", APPROVER),
       ("custodian", CUSTODIAN))
ZH_WORDS = ("合同", "甲方", "乙方", "签署", "付款", "验收", "货物", "交付", "违约", "责任",
            "双方", "约定", "本合同", "生效", "价款", "发票", "仓库", "租赁", "采购", "服务",
            "保密", "争议", "仲裁", "法院", "期限", "盖章", "授权", "代表", "条款", "解除")
EN_WORDS = ("contract", "party", "payment", "delivery", "goods", "acceptance", "liability",
            "invoice", "term", "agreement", "shall", "within", "days", "seal", "signed",
            "supplier", "buyer", "warranty", "breach", "notice", "law", "court", "the", "of",
            "and", "to", "in", "by", "for", "with")
COMMON = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
RARE_ZH, RARE_EN, ABSENT = "龘靐", "zyxquorum", "董事会决议"
QUERIES = (("common word 合同", "合同"), ("phrase 甲方签署", "甲方签署"),
           ("rare word (~100 rows)", RARE_ZH), ("absent word", ABSENT),
           ("English word payment", "payment"), ("rare English word", RARE_EN))


def _zh_text(rnd: random.Random, size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        piece = rnd.choice(ZH_WORDS) if rnd.random() < 0.35 else \
            "".join(rnd.choices(COMMON, k=rnd.randint(1, 4)))
        if rnd.random() < 0.03:
            piece = "甲方签署"
        parts.append(piece)
        length += len(piece)
        if rnd.random() < 0.08:
            parts.append("，" if rnd.random() < 0.7 else "。")
    return "".join(parts)[:size]


def _en_text(rnd: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rnd.choice(EN_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def _texts(n: int, distinct: int, seed: int = 13):
    """(row, text, terms): ``distinct`` texts, half Chinese, dealt out in turn; the rows with
    the rare word get it inserted (and are tokenised again)."""
    from processes.archive import terms

    rnd = random.Random(seed)
    pool = []
    for k in range(distinct):
        size = rnd.randint(1300, 1700)
        body = _zh_text(rnd, size) if k % 2 == 0 else _en_text(rnd, size)
        pool.append((body, terms.tokens(body)))
    rare = set(rnd.sample(range(1, n + 1), min(100, n)))
    for i in range(1, n + 1):
        body, found = pool[(i - 1) % distinct]
        if i in rare:
            body = body[:200] + (RARE_ZH if (i - 1) % distinct % 2 == 0 else f" {RARE_EN} ") \
                + body[200:]
            found = terms.tokens(body)
        yield i, body, found


LEGAL_GROUP, COMMITTEE_GROUP = DEPARTMENTS + 1, DEPARTMENTS + 2


def _people(around: dict[str, list[dict]], rnd: random.Random, i: int, requester: int,
            at: datetime) -> None:
    """Request ``i``'s tasks (done), their candidates and copies: its department head's
    approval; for a fifth, the legal group's review; now and then the requester of
    :data:`REQUESTER`'s countersign, a committee's review, a copy to them."""
    def task(kind: str, *, user: int | None = None, group: int | None = None,
             done_by: int | None = None, claimed: bool = False) -> None:
        tid = f"{i}-{kind}"
        around["tasks"].append({
            "id": tid, "request_id": i, "element_id": kind, "name": kind, "status": "completed",
            "candidate_users": [], "candidate_groups": [], "requester_may_work": False,
            "created_at": at, "completed_at": at, "completed_by_id": done_by,
            "claimed_by_id": done_by if claimed else None, "decision": "approve"})
        around["task_candidates"].append({"task_id": tid, "user_id": user, "group_id": group,
                                          "task_open": False})

    head = HEADS[(requester - 1) % DEPARTMENTS]
    task("dept", user=head, done_by=head)
    if rnd.random() < 0.2:
        task("legal", group=LEGAL_GROUP, done_by=rnd.choice(LEGAL), claimed=True)
    if requester == REQUESTER:
        return
    if rnd.random() < 30 / 100_000:
        task("countersign", user=REQUESTER, done_by=REQUESTER)
    if rnd.random() < 50 / 100_000:
        task("committee", group=COMMITTEE_GROUP, done_by=COMMITTEE[1])
    if rnd.random() < 10 / 100_000:
        around["task_actions"].append({"request_id": i, "task_id": f"{i}-dept", "kind": "cc",
                                       "actor_id": head, "user_id": REQUESTER,
                                       "created_at": at})


def fill(engine: Any, n: int, distinct: int) -> None:
    """The users, seals, requests and archive entries (with their index), then ANALYZE."""
    from sqlalchemy import text as sql

    from processes.archive import fts
    from processes.archive_models import ArchiveEntry
    from processes.models import Base, utcnow

    tables = Base.metadata.tables
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(tables["users"].insert(), [
            {"id": i, "name": f"u{i:04d}", "display_name": f"用户{i}", "active": True,
             "created_at": EPOCH} for i in range(1, USERS + 1)])
        groups = [(d + 1, f"dept{d + 1}", range(d + 1, USERS + 1, DEPARTMENTS), HEADS[d])
                  for d in range(DEPARTMENTS)]
        groups += [(LEGAL_GROUP, "legal", LEGAL, None), (COMMITTEE_GROUP, "committee",
                                                         COMMITTEE, None)]
        conn.execute(tables["groups"].insert(), [
            {"id": g, "key": key, "name": key, "head_id": head} for g, key, _m, head in groups])
        conn.execute(tables["memberships"].insert(), [
            {"user_id": u, "group_id": g} for g, _k, members, _h in groups for u in members])
        conn.execute(tables["seals"].insert(), [
            {"id": s, "name": f"印章{s}", "type": "合同专用章", "status": "active",
             "system": False, "cert_pem": b"-", "key_pem": b"-", "key_storage": "software",
             "certificate_serial": f"{s:x}", "appearance_pdf": b"-", "appearance_png": b"-",
             "created_at": EPOCH} for s in range(1, SEALS + 1)])
        conn.execute(tables["process_definitions"].insert(), [{
            "id": 1, "key": "contract_seal", "version": 1, "name": "合同用印", "sha256": "0" * 64,
            "files": {}, "authorized_end": "end", "start_form": [], "tasks": {},
            "deployed_at": EPOCH}])
        conn.execute(tables["documents"].insert(), [{
            "id": 1, "sha256": "1" * 64, "size": 1000, "pages": 1, "created_at": EPOCH}])
        conn.execute(tables["seal_custodians"].insert(), [
            {"seal_id": 1, "user_id": CUSTODIAN}])
    if pg:  # the GIN index is built once after the load: far faster than row by row
        with engine.begin() as conn:
            conn.execute(sql("DROP INDEX ix_archive_entries_search"))
    rnd = random.Random(7)
    batch: list[tuple[dict, dict, list[str]]] = []
    started = time.perf_counter()

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(tables["requests"].insert(), [r for r, _e, _t in batch])
            for name in ("tasks", "task_candidates", "task_actions"):
                if around[name]:
                    conn.execute(tables[name].insert(), around[name])
                    around[name].clear()
            if pg:
                cols = [c for c in batch[0][1]] + ["search"]
                raw = conn.connection.driver_connection
                with raw.cursor().copy(f"COPY archive_entries ({', '.join(cols)}) "
                                       "FROM STDIN") as copy:
                    for _r, e, found in batch:
                        key = id(found)
                        if key not in literals:
                            literals[key] = fts.tsvector_literal(found)
                        copy.write_row([e[c] for c in cols[:-1]] + [literals[key]])
            else:
                conn.execute(ArchiveEntry.__table__.insert(), [e for _r, e, _t in batch])
                conn.execute(sql("INSERT INTO archive_fts (rowid, tokens) VALUES (:id, :t)"),
                             [{"id": e["id"], "t": " ".join(found)} for _r, e, found in batch])
        batch.clear()

    literals: dict[int, str] = {}  # a pooled text's tsvector literal, made once
    around: dict[str, list[dict]] = {"tasks": [], "task_candidates": [], "task_actions": []}
    involved = random.Random(11)
    for i, body, found in _texts(n, distinct):
        requester = rnd.randint(1, USERS)
        at = EPOCH + timedelta(minutes=10 * i + rnd.randint(0, 9))
        seal = rnd.randint(1, SEALS)
        _people(around, involved, i, requester, at)
        batch.append(({
            "id": i, "status": "sealed", "process_id": 1, "business_type": "contract",
            "seal_id": seal, "requester_id": requester,
            "created_by_id": requester, "document_id": 1, "filename": f"合同{i}.pdf",
            "data": {}, "state": "{}", "state_version": "1", "created_at": at,
            "updated_at": at, "sealed_at": at}, {
            "id": i, "request_id": i, "document_sha256": "1" * 64,
            "sealed_sha256": f"{i:064x}", "size": 100_000, "filename": f"合同{i}.pdf",
            "title": f"合同{i}", "pages": 3, "seal_id": seal,
            "requester_id": requester, "business_type": "contract", "sealed_at": at,
            "timestamp_at": at, "filed_at": utcnow(), "text": body, "searchable": True,
            "retention_until": date(2050, 1, 1), "legal_hold": False},
            found))
        if len(batch) >= 5_000:
            flush()
            log(f"{i:,} rows ({time.perf_counter() - started:.0f} s)")
    if batch:
        flush()
    with engine.begin() as conn:
        if pg:
            # Memory for the build: with the default 64 MB it merges for half an hour.
            conn.execute(sql("SET LOCAL maintenance_work_mem = '1GB'"))
            conn.execute(sql("CREATE INDEX ix_archive_entries_search ON archive_entries "
                             "USING gin (search)"))
            for name in ("users", "groups", "seals", "requests", "archive_entries",
                         "task_candidates", "task_actions"):
                conn.execute(sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                 f"(SELECT max(id) FROM {name}))"))
        conn.execute(sql("ANALYZE"))
    log(f"filled {n:,} rows in {time.perf_counter() - started:.0f} s")


def _timed(app: Any, runs: int, call) -> tuple[Stats, int]:
    from app.extensions import db

    samples, found = [], 0
    for i in range(runs + 2):
        with app.app_context():
            started = time.perf_counter()
            found = call(db.session)
            elapsed = time.perf_counter() - started
            db.session.remove()
        if i >= 2:  # warm-up: statement caches and the database's pages
            samples.append(elapsed)
    return Stats("", samples), found


def _search(user_id: int, q: str):
    from processes.archive import search
    from processes.models import User
    from processes.people.directory import Identity

    def call(session) -> int:
        who = Identity(session.get(User, user_id))
        return len(search.search(session, who, search.Filters(q=q), limit=50).hits)
    return call


def _sees(session, user_id: int) -> int:
    """How many documents the user may see (the one rule, row by row: the count is slow)."""
    from sqlalchemy import func, select

    from processes.archive_models import ArchiveEntry
    from processes.requests import visibility

    return session.execute(select(func.count()).where(visibility.sees_clause(
        user_id, ArchiveEntry.request_id, ArchiveEntry.requester_id, ArchiveEntry.seal_id))
    ).scalar_one()


def _like(q: str):
    """The baseline: the same first page by a LIKE scan of the text, newest first."""
    from sqlalchemy import select

    from processes.archive_models import ArchiveEntry

    def call(session) -> int:
        rows = session.execute(
            select(ArchiveEntry.id).where(ArchiveEntry.text.like(f"%{q}%"))
            .order_by(ArchiveEntry.sealed_at.desc(), ArchiveEntry.id.desc()).limit(50)).all()
        return len(rows)
    return call


def body(args: argparse.Namespace, data_dir: Path, database: Database) -> None:
    from app import create_app
    from app.extensions import db
    from config import TestConfig
    from processes.models import Base, Role, UserRole

    url = database.url or f"sqlite:///{data_dir / 'sealflow.db'}"
    app = create_app(TestConfig(data_dir, url))
    with app.app_context():
        Base.metadata.create_all(db.engine)
        fill(db.engine, args.rows, args.distinct)
        with db.engine.begin() as conn:
            conn.execute(UserRole.__table__.insert(), [{"user_id": AUDITOR,
                                                         "role": Role.auditor}])
        seen = {who: _sees(db.session, user_id) for who, user_id in WHO[1:]}
        db.session.remove()
    print(f"# bench/archive_search.py on {database.kind}\n# {machine()}; "
          f"load {load_average()}\n# {args.rows:,} documents of 1,300-1,700 characters, "
          f"half Chinese; first page of 50, newest first; {args.runs} runs each\n"
          f"# may see: auditor all, "
          + ", ".join(f"{who} {count:,}" for who, count in seen.items()))
    print(f"{'query':<26} {'who':<10} {'found':>5} {'median ms':>10} {'p90 ms':>8} "
          f"{'LIKE ms':>9} {'ratio':>7}")
    worst = 0.0
    for label, q in QUERIES:
        for who, user_id in WHO:
            stats, found = _timed(app, args.runs, _search(user_id, q))
            like = _timed(app, max(3, args.runs // 5), _like(q))[0] if who == "auditor" \
                else None
            worst = max(worst, stats.median)
            print(f"{label:<26} {who:<10} {found:>5} {stats.median:>10.2f} "
                  f"{stats.pct(90):>8.2f} "
                  + (f"{like.median:>9.1f} {like.median / stats.median:>6.1f}x" if like
                     else f"{'':>9} {'':>7}"))
    print(f"slowest median: {worst:.1f} ms (goal under 100 ms): "
          f"{'met' if worst < 100 else 'NOT met'}; load {load_average()}")
    with app.app_context():
        db.engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_options(p)
    p.add_argument("--rows", type=int, default=100_000, help="archived documents")
    p.add_argument("--runs", type=int, default=20, help="timed first pages per query")
    p.add_argument("--distinct", type=int, default=2_000,
                   help="distinct texts dealt out to the rows (tokenised once each)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, lambda data_dir, database: body(args, data_dir, database))


if __name__ == "__main__":
    sys.exit(main())
