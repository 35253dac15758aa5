#!/usr/bin/env python
"""What a task completion costs through the real API, against the bare SpiffWorkflow engine.

One run:

1. API path: a real ``sealflow run`` server in a subprocess (its own data dir, or a throw-away
   PostgreSQL database), set up with the ``sealflow`` CLI (init, groups, users, tokens, seal,
   contract_seal flow). N + warm-up requests are created over HTTP (not timed); then N approvals
   by the department head are timed, one ``POST /api/v1/tasks/<id>/complete`` after the other,
   from one client.
2. Bare engine, in this process, same N: SpiffWorkflow in memory with the stock serializer
   (CAMUNDA_CONFIG, full JSON with the spec, as SpiffArena-style apps store it):
   deserialize -> set script engine -> complete the user task -> run -> serialize.
   The same with Sealflow's spec-free serializer (processes.flows.engine) as an informational line.
3. A table: API median, bare median, and their ratio (goal: <= 2x; SpiffArena's reference
   figure is 127 ms per completion, 82x the bare engine).

``--profile`` instead runs the API completions against an in-process app (Flask test client)
under cProfile and prints the top entries.

    .venv/bin/python bench/engine.py --n 300
    .venv/bin/python bench/engine.py --database-url postgresql://127.0.0.1:5432/test
    .venv/bin/python bench/engine.py --profile

Exits non-zero if anything fails (a non-2xx response prints its body).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bare_engine
import common
import live_server
from common import ROOT, BenchError, Database, Stats, log, make_pdf
from engine_flow import (
    COMPLETE_BODY,
    CUSTODIAN,
    FILES,
    FIRST_TASK,
    HEAD,
    NEXT_TASK,
    PROCESS_KEY,
    REQUEST_DATA,
    REQUESTER,
    SEAL_TYPE,
    check_after_approval,
    first_task_id,
    request_form,
    setup_with_cli,
)

SPIFFARENA_MS = 127.0
SPIFFARENA_RATIO = 82.0
GOAL_RATIO = 2.0

# -- the API path: a real server and one HTTP client -----------------------------------------

@dataclass
class ApiResult:
    completions: Stats
    me: Stats
    connects: int
    requests: int
    closed_by_server: int
    created: int
    create_s: float
    seal_id: int
    server: str


def run_api(args: argparse.Namespace, data_dir: Path, db: Database) -> ApiResult:
    env = common.app_env(data_dir, db)
    setup = setup_with_cli(env)
    with live_server.running_server(env, data_dir, setup.tokens[REQUESTER]) as (server, client):
        pdf = make_pdf()
        alice = {"Authorization": f"Bearer {setup.tokens[REQUESTER]}"}
        bob = {"Authorization": f"Bearer {setup.tokens[HEAD]}",
               "Content-Type": "application/json"}

        # Requests: created over HTTP, not timed; their first task ids collected now.
        total = args.n + args.warmup
        task_ids: list[str] = []
        t0 = time.perf_counter()
        for i in range(total):
            body, ctype = common.multipart(request_form(setup.seal_id),
                                    {"document": (f"contract-{i}.pdf", pdf, "application/pdf")})
            client.ensure_open()
            status, data = client.call("POST", "/api/v1/requests", body,
                                       {**alice, "Content-Type": ctype})
            if status != 201:
                raise live_server.fail_response(f"POST /api/v1/requests (#{i + 1})", status, data)
            task_ids.append(first_task_id(json.loads(data)))
        create_s = time.perf_counter() - t0
        log(f"created {total} requests in {create_s:.1f} s "
            f"({create_s / total * 1000:.1f} ms each, not timed)")

        def complete(task_id: str) -> tuple[float, bytes]:
            client.ensure_open()  # untimed: connection setup is not measured
            path = f"/api/v1/tasks/{task_id}/complete"
            t = time.perf_counter()
            status, data = client.call("POST", path, COMPLETE_BODY, bob)
            elapsed = time.perf_counter() - t
            if status != 200:
                raise live_server.fail_response(f"POST {path}", status, data)
            return elapsed, data

        for task_id in task_ids[:args.warmup]:
            complete(task_id)
        connects0, requests0, closed0 = client.connects, client.requests, client.closed_by_server

        samples: list[float] = []
        bodies: list[tuple[str, bytes]] = []
        for task_id in task_ids[args.warmup:]:
            elapsed, data = complete(task_id)
            samples.append(elapsed)
            bodies.append((task_id, data))
        connects = client.connects - connects0
        requests_ = client.requests - requests0
        closed = client.closed_by_server - closed0
        for task_id, data in bodies:  # checked after the clock
            check_after_approval(json.loads(data), task_id)
        log(f"timed {len(samples)} completions over HTTP")

        # Informational: the floor of any authenticated API call on this server.
        me: list[float] = []
        for _ in range(args.n):
            client.ensure_open()
            t = time.perf_counter()
            status, data = client.call("GET", "/api/v1/me", None, bob)
            me.append(time.perf_counter() - t)
            if status != 200:
                raise live_server.fail_response("GET /api/v1/me", status, data)
        return ApiResult(Stats("API: POST /api/v1/tasks/<id>/complete", samples),
                         Stats("info: API GET /api/v1/me (auth only)", me),
                         connects, requests_, closed, total, create_s, setup.seal_id,
                         server.note)


# -- the bare engine, in this process ---------------------------------------------------------

def engine_variables(seal_id: int) -> dict[str, Any]:
    """What processes.requests.intake.create hands the engine for alice's request (data and
    built-ins)."""
    return {**REQUEST_DATA, "requester": REQUESTER, "requester_groups": ["sales"],
            "requester_heads": [HEAD], "business_type": None, "seal": seal_id,
            "seal_type": SEAL_TYPE, "seal_custodians": [CUSTODIAN], "document_pages": 1}


@dataclass
class BareResult:
    stock: Stats
    spec_free: Stats
    stock_bytes: int
    spec_free_bytes: int
    stock_bytes_after: int
    spec_free_bytes_after: int


def _bare_path(engine: Any, name: str, variables: dict[str, Any],
               args: argparse.Namespace) -> tuple[list[float], int, int]:
    """Timed approvals on fresh instances; (samples, state bytes before, after)."""
    approve = {"decision": "approve", "comment": None}

    def start() -> tuple[str, str]:
        state, wf = engine.start(variables)
        ready = engine.ready(wf)
        if [element for _, element in ready] != [FIRST_TASK]:
            raise BenchError(f"{name}: expected {FIRST_TASK}, got {ready}")
        return state, ready[0][0]

    states = [start() for _ in range(args.n + args.warmup)]
    for state, task_id in states[:args.warmup]:
        engine.complete(state, task_id, approve)
    samples, outputs = [], []
    for state, task_id in states[args.warmup:]:
        t = time.perf_counter()
        out = engine.complete(state, task_id, approve)[0]
        samples.append(time.perf_counter() - t)
        outputs.append(out)
    for out in outputs:
        if [element for _, element in engine.ready(engine.load(out))] != [NEXT_TASK]:
            raise BenchError(f"{name}: the approval did not reach {NEXT_TASK}")
    return samples, len(states[-1][0].encode()), len(outputs[-1].encode())


def run_bare(args: argparse.Namespace, seal_id: int) -> BareResult:
    variables = engine_variables(seal_id)
    stock = _bare_path(bare_engine.StockEngine(FILES, PROCESS_KEY), "bare engine (stock)",
                       variables, args)
    ours = _bare_path(bare_engine.SealflowEngine(FILES, PROCESS_KEY), "processes.flows.engine",
                      variables, args)
    return BareResult(Stats("bare engine, stock serializer (full JSON)", stock[0]),
                      Stats("info: processes.flows.engine load/complete/dump (spec-free)", ours[0]),
                      stock[1], ours[1], stock[2], ours[2])


# -- report -----------------------------------------------------------------------------------

def print_report(args: argparse.Namespace, db: Database, api: ApiResult,
                 bare: BareResult) -> None:
    rows = [api.completions, bare.stock, bare.spec_free, api.me]
    ratio = api.completions.median / bare.stock.median
    ratio_mean = api.completions.mean / bare.stock.mean
    keepalive = ("yes" if api.closed_by_server == 0 else
                 f"no: the server closed {api.closed_by_server} of {api.requests} connections "
                 f"(Connection: close); each was reopened before its clock started")
    print()
    print("Sealflow engine benchmark: completing the department head's approval")
    print(f"  machine     : {common.machine()}")
    print(f"  database    : {db.kind}")
    print(f"  code        : {args.code}")
    print(f"  server      : {api.server}")
    print(f"  N           : {args.n} timed completions per path (+{args.warmup} warm-up, "
          f"untimed); {api.created} requests created over HTTP (not timed)")
    print(f"  versions    : {common.versions()}")
    print("  API client  : sequential, one client, http.client; "
          f"{api.connects} TCP connects for {api.requests} timed requests; keep-alive {keepalive}")
    print(f"  instance    : stock JSON {bare.stock_bytes} B -> {bare.stock_bytes_after} B; "
          f"spec-free {bare.spec_free_bytes} B -> {bare.spec_free_bytes_after} B "
          "(before -> after the approval)")
    print()
    w = max(len(r.label) for r in rows)
    head = (f"  {'path':<{w}}  {'median ms':>9}  {'mean ms':>8}  {'p90 ms':>7}  {'p99 ms':>7}  "
            f"{'min ms':>7}  {'per s':>7}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in rows:
        print(f"  {r.label:<{w}}  {r.median:>9.3f}  {r.mean:>8.3f}  {r.pct(90):>7.3f}  "
              f"{r.pct(99):>7.3f}  {min(r.ms):>7.3f}  {r.per_second:>7.1f}")
    print()
    print(f"  API median                 : {api.completions.median:8.3f} ms per completion "
          f"({api.completions.per_second:.1f} completions/s, mean {api.completions.mean:.3f} ms)")
    print(f"  bare-engine median (stock) : {bare.stock.median:8.3f} ms per completion")
    print(f"  ratio API / bare           : {ratio:8.1f}x median ({ratio_mean:.1f}x mean); goal "
          f"<= {GOAL_RATIO:.0f}x: {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    print(f"  ratio API / spec-free      : "
          f"{api.completions.median / bare.spec_free.median:8.1f}x median (informational)")
    print(f"  SpiffArena reference       : {SPIFFARENA_MS:8.1f} ms per completion, "
          f"{SPIFFARENA_RATIO:.0f}x the bare engine")


# -- --profile: the same completions, in process, under cProfile -----------------------------

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
    total = args.n + args.warmup
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
    profiler = cProfile.Profile()
    responses = []
    t0 = time.perf_counter()
    profiler.enable()
    for task_id in task_ids[args.warmup:]:
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
    print(f"  N       : {args.n} profiled completions (+{args.warmup} warm-up); "
          f"{wall:.2f} s under the profiler = {wall / args.n * 1000:.2f} ms per completion "
          "(inflated by profiling)")
    sections = (("top 25 by cumulative", "cumulative", ()),
                ("top 15 by tottime", "tottime", ()),
                ("Sealflow's own code (app/, processes/): top 25 by cumulative", "cumulative",
                 (rf"{re.escape(str(ROOT))}/(app|processes)/",)),
                ("logging: top 5 by cumulative", "cumulative", (r"logging/__init__",)))
    common.print_profile(profiler, sections)


# -- main -------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=300, help="timed completions per path (300)")
    p.add_argument("--warmup", type=int, default=20,
                   help="untimed completions before timing, per path (20)")
    p.add_argument("--database-url", help="PostgreSQL server URL; the bench creates and drops "
                   "its own database there (default: SQLite in a temp dir)")
    p.add_argument("--profile", action="store_true", help="profile the API completions "
                   "in-process under cProfile instead of timing")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    p.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # internal
    args = p.parse_args(argv)
    if args.n < 1 or args.warmup < 0:
        p.error("--n must be at least 1 and --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_port:
        common.serve_direct(args.serve_port)
        return 0
    args.code = common.code_version()  # at the start: what the server and this process import

    def body(data_dir: Path, db: Database) -> None:
        if args.profile:
            run_profile(args, data_dir, db)
            return
        api = run_api(args, data_dir, db)
        bare = run_bare(args, seal_id=api.seal_id)
        print_report(args, db, api, bare)

    return common.run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
