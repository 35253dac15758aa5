#!/usr/bin/env python
"""Does a step of the revision loop cost more as its history grows? Step 2 against step 500.

The loop (bench/data/revision_loop.bpmn, a copy of the e2e test's flow): the custodian's
``review`` task -> decision ``return`` -> the requester's ``revise`` task (assignee
``${requester}``) -> decision ``approve`` (resubmit) -> ``review`` again. A *step* is one round
of it: two completions, return + resubmit.

One run:

1. API path: a real ``sealflow run`` server in a subprocess (its own data dir, or a throw-away
   PostgreSQL database), set up with the ``sealflow`` CLI (init, alice the requester, carol the
   seal's custodian, the seal, the flow). First ``--warmup`` untimed rounds on a request of
   their own (the server's and the database's first-use costs would otherwise land on step 2).
   Then ONE request is created over HTTP (not timed) and R rounds run on it, each
   ``POST /api/v1/tasks/<id>/complete`` by carol (``return``) and by alice (``approve``), on the
   task id the previous response gave (``request.tasks[0].id``; no other calls). Each
   completion is timed client side (its connection opened before the clock); after it,
   untimed, the length of ``requests.state`` is read straight from the database.
2. Bare engine, in this process, same flow and rounds: processes.flows.engine load/complete/dump
   (which compacts finished history), and as the baseline SpiffWorkflow's stock serializer
   without compaction (full JSON, CAMUNDA_CONFIG), which stalls once the task tree is 1000 deep:
   the run reports how far it got.
3. For each path: the time of step 2 and step R (the median over 10 rounds: 2..11 and
   R-9..R), the persisted bytes after them, and the ratios. The goal: at most 1.5x.

    .venv/bin/python bench/engine_growth.py
    .venv/bin/python bench/engine_growth.py --database-url postgresql://127.0.0.1:5432/test

Exits non-zero if anything fails (a non-2xx response prints its body).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bare_engine
import common
import live_server
from common import BenchError, Database, Setup, cli, log, make_pdf

BPMN = Path(__file__).resolve().parent / "data" / "revision_loop.bpmn"
PROCESS_KEY = "revision_loop"
REQUESTER, CUSTODIAN = "alice", "carol"
GOAL_RATIO = 1.5
WINDOW = 10  # rounds per median
CHECKPOINTS = (2, 50, 100, 200, 300, 400, 500)
# One round: (task, who completes it, decision, the task that opens next).
ROUND = (("review", CUSTODIAN, "return", "revise"), ("revise", REQUESTER, "approve", "review"))


# -- what a path measured ---------------------------------------------------------------------

@dataclass
class Curve:
    """Per completion: seconds, and the persisted state's bytes after it."""

    label: str
    times: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    stalled: str | None = None

    @property
    def rounds(self) -> int:
        return len(self.times) // 2

    def round_ms(self, r: int) -> float:
        return (self.times[2 * r - 2] + self.times[2 * r - 1]) * 1000.0

    def window(self, r: int) -> range:
        """WINDOW rounds around round r, within 2..rounds (round 1 warms up)."""
        lo = max(2, min(r - WINDOW // 2, self.rounds - WINDOW + 1))
        return range(lo, min(self.rounds, lo + WINDOW - 1) + 1)

    def step_ms(self, r: int) -> float:
        return statistics.median(self.round_ms(k) for k in self.window(r))

    def step_min_ms(self, r: int) -> float:
        """The fastest round of the window: what other processes' CPU use cannot inflate."""
        return min(self.round_ms(k) for k in self.window(r))

    def step_bytes(self, r: int) -> int:
        return self.sizes[2 * r - 1]


def expect_next(body: dict, element: str, what: str) -> str:
    req = body.get("request") or {}
    tasks = req.get("tasks") or []
    if req.get("status") != "running" or [t.get("element_id") for t in tasks] != [element]:
        raise BenchError(f"after {what} the request should wait at {element}: "
                         f"{json.dumps(body, ensure_ascii=False)[:2000]}")
    return tasks[0]["id"]


# -- the API path -----------------------------------------------------------------------------

def setup_with_cli(env: dict[str, str]) -> Setup:
    """init, the requester and the custodian, their tokens, the seal, the loop flow."""
    t0 = time.perf_counter()
    cli(env, "init")
    cli(env, "user", "add", REQUESTER)
    cli(env, "user", "add", CUSTODIAN)
    tokens = {name: common.cli_token(env, name) for name in (REQUESTER, CUSTODIAN)}
    seal_id = common.cli_seal(env, "测试合同专用章", CUSTODIAN)
    common.cli_deploy(env, [BPMN], PROCESS_KEY)
    log(f"set up with the CLI in {time.perf_counter() - t0:.1f} s (seal {seal_id})")
    return Setup(tokens, seal_id)


class StateSize:
    """``requests.state`` length in bytes, read straight from the bench database."""

    def __init__(self, db: Database) -> None:
        if db.url:
            import psycopg

            self.conn: Any = psycopg.connect(db.url, autocommit=True)
            self.sql = "SELECT octet_length(state) FROM requests WHERE id = %s"
        else:
            import sqlite3

            self.conn = sqlite3.connect(db.sqlite_path, isolation_level=None)
            self.sql = "SELECT length(CAST(state AS BLOB)) FROM requests WHERE id = ?"

    def __call__(self, request_id: int) -> int:
        row = self.conn.execute(self.sql, (request_id,)).fetchone()
        if row is None:
            raise BenchError(f"request {request_id} is not in the database")
        return int(row[0])

    def close(self) -> None:
        self.conn.close()


@dataclass
class ApiResult:
    curve: Curve
    response_sizes: list[int]
    connects: int
    requests: int
    seal_id: int
    server: str


def run_api(args: argparse.Namespace, data_dir: Path, db: Database) -> ApiResult:
    env = common.app_env(data_dir, db)
    setup = setup_with_cli(env)
    auth = {name: f"Bearer {token}" for name, token in setup.tokens.items()}
    bodies = {d: json.dumps({"decision": d}).encode() for d in ("return", "approve")}
    pdf = make_pdf()
    curve = Curve("API: POST /api/v1/tasks/<id>/complete")
    response_sizes: list[int] = []
    state_size = StateSize(db)
    with live_server.running_server(env, data_dir, setup.tokens[REQUESTER]) as (server, client):

        def create() -> tuple[int, str]:
            form = {"process": PROCESS_KEY, "seal": str(setup.seal_id), "data": "{}"}
            body, ctype = common.multipart(
                form, {"document": ("contract.pdf", pdf, "application/pdf")})
            client.ensure_open()
            status, data = client.call("POST", "/api/v1/requests", body,
                                       {"Authorization": auth[REQUESTER], "Content-Type": ctype})
            if status != 201:
                raise live_server.fail_response("POST /api/v1/requests", status, data)
            created = json.loads(data)
            return created["id"], expect_next({"request": created}, "review", "creating it")

        def complete(task_id: str, r: int, element: str, who: str, decision: str,
                     next_element: str) -> tuple[float, bytes, str]:
            path = f"/api/v1/tasks/{task_id}/complete"
            client.ensure_open()  # untimed: connection setup is not measured
            t = time.perf_counter()
            status, data = client.call("POST", path, bodies[decision],
                                       {"Authorization": auth[who],
                                        "Content-Type": "application/json"})
            elapsed = time.perf_counter() - t
            if status != 200:
                raise live_server.fail_response(f"POST {path} (round {r}, {element})", status, data)
            return elapsed, data, expect_next(json.loads(data), next_element,
                                              f"{element} -> {decision} in round {r}")

        try:
            if args.warmup:  # the server's and the database's first-use costs, not timed
                _, task_id = create()
                for r in range(1, args.warmup + 1):
                    for step in ROUND:
                        task_id = complete(task_id, r, *step)[2]
                log(f"warmed up: {args.warmup} rounds on another request (not timed)")
            request_id, task_id = create()
            connects0, requests0 = client.connects, client.requests
            for r in range(1, args.rounds + 1):
                for step in ROUND:
                    elapsed, data, task_id = complete(task_id, r, *step)
                    curve.times.append(elapsed)
                    curve.sizes.append(state_size(request_id))  # untimed
                    response_sizes.append(len(data))
                if r % 100 == 0:
                    log(f"API: round {r}, step {curve.round_ms(r):.1f} ms, "
                        f"state {curve.step_bytes(r)} B")
        except (OSError, http.client.HTTPException) as exc:
            raise BenchError(f"HTTP failed: {type(exc).__name__}: {exc}\n"
                             f"{server.log_tail()}") from None
        finally:
            state_size.close()
        return ApiResult(curve, response_sizes, client.connects - connects0,
                         client.requests - requests0, setup.seal_id, server.note)


# -- the bare engine, in this process ---------------------------------------------------------

def engine_variables(seal_id: int) -> dict[str, Any]:
    """What processes.requests.intake.create hands the engine for alice's request (no data)."""
    return {"requester": REQUESTER, "requester_groups": [], "requester_heads": [],
            "business_type": None, "seal": seal_id, "seal_type": "合同专用章",
            "seal_custodians": [CUSTODIAN], "document_pages": 1}


def stall_note(wf: Any, completion: int, round_: int, element: str) -> str:
    """Why the loop found no next task (SpiffWorkflow's iterator stops at depth 1000)."""
    from SpiffWorkflow.task import TaskState

    hidden = wf.get_tasks(state=TaskState.READY, max_depth=10**6)
    depth = max((t.depth for t in hidden), default=None)
    return (f"stalled at completion {completion} (round {round_}, {element}): no READY user "
            f"task found; with max_depth=10**6: {len(hidden)} READY at tree depth {depth}; "
            f"{len(wf.tasks)} tasks in the tree; is_completed()={wf.is_completed()}")


def run_engine(engine: Any, label: str, variables: dict[str, Any], rounds: int) -> Curve:
    """The loop on one instance: each completion is load -> complete -> run -> dump."""
    curve = Curve(label)
    state, wf = engine.start(variables)
    ready = engine.ready(wf)
    if [element for _, element in ready] != ["review"]:
        raise BenchError(f"{label}: expected review, got {ready}")
    task_id = ready[0][0]
    for r in range(1, rounds + 1):
        for element, _, decision, next_element in ROUND:
            completion = len(curve.times) + 1
            t = time.perf_counter()
            try:
                state, wf = engine.complete(state, task_id,
                                            {"decision": decision, "comment": None})
            except Exception as exc:  # noqa: BLE001 - the baseline may break; report it
                curve.stalled = (f"failed at completion {completion} (round {r}, {element}): "
                                 f"{type(exc).__name__}: {exc}")
                break
            curve.times.append(time.perf_counter() - t)
            curve.sizes.append(len(state.encode()))
            ready = engine.ready(wf)
            if [e for _, e in ready] != [next_element]:
                curve.stalled = stall_note(wf, completion, r, element)
                break
            task_id = ready[0][0]
        if curve.stalled:
            del curve.times[2 * (r - 1):], curve.sizes[2 * (r - 1):]  # whole rounds only
            log(f"{label}: {curve.stalled}")
            break
        if r % 100 == 0:
            log(f"{label}: round {r}, step {curve.round_ms(r):.2f} ms, "
                f"state {curve.step_bytes(r)} B")
    return curve


# -- report -----------------------------------------------------------------------------------

def ratio_cells(curve: Curve, rounds: int) -> tuple[str, ...]:
    """ms, ms, ratio, ratio of the window minimums, bytes, bytes, ratio, goal verdict."""
    if curve.rounds < 2:
        return ("-",) * 8
    last = min(rounds, curve.rounds)
    t2, tl = curve.step_ms(2), curve.step_ms(last)
    b2, bl = curve.step_bytes(2), curve.step_bytes(last)
    ok = tl / t2 <= GOAL_RATIO and bl / b2 <= GOAL_RATIO and last == rounds
    at = "" if last == rounds else f" @{last}"  # stalled: its last step instead
    return (f"{t2:.3f}", f"{tl:.3f}{at}", f"{tl / t2:.3f}x",
            f"{curve.step_min_ms(last) / curve.step_min_ms(2):.3f}x", f"{b2}", f"{bl}{at}",
            f"{bl / b2:.3f}x", ("met" if ok else "NOT met") + (f" (stalled at step {last + 1})"
                                                               if at else ""))


def print_report(args: argparse.Namespace, db: Database, api: ApiResult,
                 curves: list[Curve]) -> None:
    n = args.rounds
    early, late = api.curve.window(2), api.curve.window(n)
    print()
    print(f"Sealflow engine growth benchmark: the revision loop, step 2 against step {n}")
    print(f"  machine     : {common.machine()}")
    print(f"  database    : {db.kind}")
    print(f"  code        : {args.code}")
    print(f"  server      : {api.server}")
    print(f"  versions    : {common.versions()}")
    print(f"  flow        : {BPMN.relative_to(common.ROOT)}: {CUSTODIAN}'s review (decision "
          f"return) -> {REQUESTER}'s revise (decision approve: resubmit) -> review")
    print(f"  step        : one round = 2 completions (return + resubmit), {n} rounds = "
          f"{2 * n} completions on ONE request (created over HTTP, not timed); before it, "
          f"{args.warmup} untimed warm-up rounds on another request")
    print(f"  time        : a step's two completions summed; median over rounds "
          f"{early[0]}..{early[-1]} (step 2) and {late[0]}..{late[-1]} (step {n})")
    print("  bytes       : persisted state after the step: API = length of requests.state "
          "read from the database after each completion (untimed); bare = the JSON dumped")
    print(f"  API client  : sequential, one client, http.client; {api.connects} TCP connects "
          f"for {api.requests} timed requests, each opened before its clock started")
    print(f"  load        : 1-minute load average {args.load:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} now, on {common.nproc()} CPUs; other processes inflate "
          "medians, not the fastest round of a window (column min x, informational)")
    print()
    rows = [(api.curve, ratio_cells(api.curve, n))] + [(c, ratio_cells(c, n)) for c in curves]
    heads = ("ms step 2", f"ms step {n}", "time x", "min x", "B step 2", f"B step {n}",
             "bytes x", f"goal <= {GOAL_RATIO}x")
    w = max(len(c.label) for c, _ in rows)
    widths = [max(len(h), 8) for h in heads]
    line = f"  {'path':<{w}}  " + "  ".join(f"{h:>{wd}}" for h, wd in zip(heads, widths,
                                                                           strict=True))
    print(line)
    print("  " + "-" * (len(line) - 2))
    for curve, cells in rows:
        print(f"  {curve.label:<{w}}  " + "  ".join(f"{c:>{wd}}" for c, wd in zip(
            cells, widths, strict=True)))
    print()
    print("  progression: a step's median ms (10 rounds around it) and the state bytes after it "
          "(engine: processes.flows.engine; stock: no compaction)")
    marks = sorted({c for c in CHECKPOINTS if c <= n} | {n})
    short = ("API", "engine", "stock")
    print(f"  {'step':>5}  " + "  ".join(f"{s + ' ms':>10}  {s + ' B':>10}" for s in short))
    for m in marks:
        cells = []
        for curve in [api.curve, *curves]:
            if m <= curve.rounds:
                cells.append(f"{curve.step_ms(m):>10.3f}  {curve.step_bytes(m):>10}")
            else:
                cells.append(f"{'stalled':>10}  {'-':>10}")
        print(f"  {m:>5}  " + "  ".join(cells))
    print()
    sizes, times = api.response_sizes, api.curve.times
    print(f"  API response body (the request with its history): {sizes[3]} B at step 2 -> "
          f"{sizes[2 * n - 1]} B at step {n} (informational)")
    for i, (element, _, decision, _) in enumerate(ROUND):
        t2 = statistics.median(times[2 * (k - 1) + i] for k in early) * 1000
        tl = statistics.median(times[2 * (k - 1) + i] for k in late) * 1000
        print(f"  API {element} -> {decision:<8}: {t2:8.3f} ms at step 2, {tl:8.3f} ms at step "
              f"{n} ({tl / t2:.3f}x)")
    for curve in curves:
        if curve.stalled:
            print(f"  {curve.label}: {curve.stalled}")
    cells = ratio_cells(api.curve, n)
    print()
    print(f"  goal (API)  : time(step {n}) / time(step 2) = {cells[2]} (window minimums: "
          f"{cells[3]}), bytes(step {n}) / bytes(step 2) = {cells[6]}; goal <= {GOAL_RATIO}x "
          f"(on the medians): {cells[7]}")


# -- main -------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=500,
                   help="rounds of the loop, each return + resubmit (500)")
    p.add_argument("--warmup", type=int, default=20, help="untimed rounds on another request "
                   "first, so that step 2 is not the server's first use (20)")
    p.add_argument("--database-url", help="PostgreSQL server URL; the bench creates and drops "
                   "its own database there (default: SQLite in a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    args = p.parse_args(argv)
    if args.rounds < 2 or args.warmup < 0:
        p.error("--rounds must be at least 2 and --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.code = common.code_version()  # at the start: what the server and this process import
    args.load = os.getloadavg()[0]

    def body(data_dir: Path, db: Database) -> None:
        api = run_api(args, data_dir, db)
        variables = engine_variables(api.seal_id)
        curves = [run_engine(bare_engine.SealflowEngine([BPMN], PROCESS_KEY),
                             "processes.flows.engine load/complete/dump (compacts)", variables,
                             args.rounds),
                  run_engine(bare_engine.StockEngine([BPMN], PROCESS_KEY),
                             "stock serializer, full JSON, no compaction", variables,
                             args.rounds)]
        print_report(args, db, api, curves)

    return common.run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
