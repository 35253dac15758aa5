"""``bench/engine.py --profile``: the API completions of engine.py against an in-process app
(Flask test client): N timed by phase on the wall clock (engine_phases.py), then N under
cProfile; prints the top entries, Sealflow's own frames, logging, the SQL statements one
completion sends, and the phases."""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import re
import time
from pathlib import Path
from typing import Any

import common
import engine_phases
import live_server
from common import ROOT, Database, make_pdf
from engine_flow import (
    HEAD,
    REQUESTER,
    check_after_approval,
    first_task_id,
    request_form,
    setup_with_cli,
)


def run_profile(args: argparse.Namespace, data_dir: Path, db: Database) -> None:
    env = common.app_env(data_dir, db)
    setup = setup_with_cli(env)

    # The app logs at INFO; send that to a file, as the server's log goes to a file.
    handler = logging.FileHandler(data_dir / "app.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)

    from app import create_app
    from app.extensions import db as flask_db
    from config import TestConfig

    class BenchConfig(TestConfig):
        """TestConfig on the CLI-initialised database, with the CLI's secrets."""

        def __init__(self) -> None:
            super().__init__(data_dir, db.url)
            self.SECRET_KEY = common.SECRET_KEY
            self.KEY_PASSPHRASE = common.PASSPHRASE
            self.JOB_MODE = "external"

    app = create_app(BenchConfig())
    client = app.test_client()
    pdf = make_pdf()
    alice = {"Authorization": f"Bearer {setup.tokens[REQUESTER]}"}
    bob = {"Authorization": f"Bearer {setup.tokens[HEAD]}"}
    # Warm-up, the one whose statements are listed, N timed by phase, N profiled.
    total = args.warmup + 1 + 2 * args.n
    task_ids = []
    for i in range(total):
        form: dict[str, Any] = dict(request_form(setup.seal_id))
        form["document"] = (io.BytesIO(pdf), f"contract-{i}.pdf")
        resp = client.post("/api/v1/requests", data=form, headers=alice,
                           content_type="multipart/form-data")
        if resp.status_code != 201:
            raise live_server.fail_response("POST /api/v1/requests", resp.status_code, resp.data)
        task_ids.append(first_task_id(resp.get_json()))

    def complete(task_id: str):
        resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve"},
                           headers=bob)
        if resp.status_code != 200:
            raise live_server.fail_response(f"POST /api/v1/tasks/{task_id}/complete",
                                            resp.status_code, resp.data)
        return resp

    for task_id in task_ids[:args.warmup]:
        complete(task_id)
    # The statements of the last warm-up-like completion, outside the profiler.
    statements = _statements_of(app, lambda: complete(task_ids[args.warmup]))
    phased = task_ids[args.warmup + 1:args.warmup + 1 + args.n]
    responses = []
    with app.app_context():
        engine = flask_db.engine
    with engine_phases.timed(engine) as timers:
        t0 = time.perf_counter()
        for task_id in phased:
            responses.append((task_id, complete(task_id)))
        phases_wall = time.perf_counter() - t0
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for task_id in task_ids[args.warmup + 1 + args.n:]:
        responses.append((task_id, complete(task_id)))
    profiler.disable()
    wall = time.perf_counter() - t0
    for task_id, resp in responses:
        check_after_approval(resp.get_json(), task_id)
    with app.app_context():
        flask_db.session.remove()
        flask_db.engine.dispose()
    logging.getLogger().removeHandler(handler)
    handler.close()

    print()
    print("Sealflow API completion profile (in-process app, Flask test client, cProfile)")
    print(f"  machine : {common.machine()}")
    print(f"  database: {db.kind}")
    print(f"  code    : {args.code}")
    n = len(responses) - len(phased)
    print(f"  N       : {n} profiled completions (+{args.warmup + 1} warm-up); "
          f"{wall:.2f} s under the profiler = {wall / n * 1000:.2f} ms per completion "
          "(inflated by profiling)")
    sections = (("top 25 by cumulative", "cumulative", ()),
                ("top 15 by tottime", "tottime", ()),
                ("Sealflow's own code (app/, processes/): top 25 by cumulative", "cumulative",
                 (rf"{re.escape(str(ROOT))}/(app|processes)/",)),
                ("logging: top 5 by cumulative", "cumulative", (r"logging/__init__",)))
    common.print_profile(profiler, sections)
    engine_phases.print_phases(timers, len(phased), phases_wall)
    print(f"\n--- SQL statements of one completion: {len(statements)} ---")
    for statement in statements:
        print(f"  {statement}")


def _statements_of(app: Any, work: Any) -> list[str]:
    """The SQL statements ``work()`` sends, each shortened to one line."""
    from sqlalchemy import event

    from app.extensions import db as flask_db
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:160])

    with app.app_context():
        engine = flask_db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


