#!/usr/bin/env python
"""What a task completion costs through the real API, against the bare SpiffWorkflow engine.

One run:

1. API path, the main figure: the production server, ``sealflow serve --workers 2`` (gunicorn's
   threaded workers, ``SEALFLOW_JOB_MODE=external``) in a subprocess (its own data dir, or a
   throw-away PostgreSQL database), set up with the ``sealflow`` CLI (init, groups, users,
   tokens, seal, contract_seal flow). N + warm-up requests are created over HTTP (not timed);
   then N approvals by the department head are timed, one
   ``POST /api/v1/tasks/<id>/complete`` after the other, from one keep-alive client that counts
   the connections it opens. Then the same against the development server, ``sealflow run``
   (werkzeug, Connection: close; each connection opened before the clock starts), as a second
   line (``--no-run`` leaves it out).
2. Bare engine, in this process, same N: SpiffWorkflow in memory with the stock serializer
   (CAMUNDA_CONFIG, full JSON with the spec, as SpiffArena-style apps store it):
   deserialize -> set script engine -> complete the user task -> run -> serialize.
   The same with Sealflow's spec-free serializer (processes.flows.engine) as an informational line.
3. A table: API median, bare median, and their ratio (goal: <= 2x; SpiffArena's reference
   figure is 127 ms per completion, 82x the bare engine).

``--profile`` instead runs the API completions against an in-process app (Flask test client)
under cProfile and prints the top entries and one completion's SQL (bench/engine_profile.py).

    .venv/bin/python bench/engine.py --n 300
    .venv/bin/python bench/engine.py --database-url postgresql://127.0.0.1:5432/test
    .venv/bin/python bench/engine.py --profile

Exits non-zero if anything fails (a non-2xx response prints its body).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import bare_engine
import common
import engine_profile
import engine_report
import live_server
from common import BenchError, Database, Setup, Stats, log, make_pdf
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
from engine_report import ApiResult, BareResult

# -- the API path: a real server and one HTTP client -----------------------------------------

def run_api(args: argparse.Namespace, env: dict[str, str], data_dir: Path, setup: Setup,
            kind: str) -> ApiResult:
    """N timed completions against ``sealflow serve`` (kind "serve") or ``sealflow run``."""
    with live_server.running_server(env, data_dir, setup.tokens[REQUESTER],
                                    kind) as (server, client):
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
        return ApiResult(kind, Stats(f"API ({kind}): POST /api/v1/tasks/<id>/complete", samples),
                         Stats(f"info: API ({kind}) GET /api/v1/me (auth only)", me),
                         connects, requests_, closed, total, create_s, server.note)


# -- the bare engine, in this process ---------------------------------------------------------

def engine_variables(seal_id: int) -> dict[str, Any]:
    """What processes.requests.intake.create hands the engine for alice's request (data and
    built-ins)."""
    return {**REQUEST_DATA, "requester": REQUESTER, "requester_groups": ["sales"],
            "requester_heads": [HEAD], "business_type": None, "seal": seal_id,
            "seal_type": SEAL_TYPE, "seal_custodians": [CUSTODIAN], "document_pages": 1}


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
    p.add_argument("--no-run", action="store_true", help="leave out the development server's "
                   "line (sealflow run)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
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
            engine_profile.run_profile(args, data_dir, db)
            return
        env = common.app_env(data_dir, db)
        setup = setup_with_cli(env)
        apis = [run_api(args, env, data_dir, setup, kind)
                for kind in ("serve",) + (() if args.no_run else ("run",))]
        bare = run_bare(args, seal_id=setup.seal_id)
        engine_report.print_report(args, db, apis, bare)

    return common.run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
