"""Full two-step flows with a real PDF against the production server: flows/s, latencies, and
the CPU each stage costs.

Set-up as bench/engine.py (a temp data dir or a throw-away PostgreSQL database; the sealflow
CLI: init, the cast, tokens, the seal, the contract flow), then ``sealflow serve --workers 2``
and ``sealflow worker`` with ``SEALFLOW_JOB_MODE=external`` (what seals in production). Two
phases:

1. **Stages**, one client, ``--stage-n`` flows stage by stage: all creations (alice, a
   ``--pages``-page PDF), then all first approvals (bob, the department head), then all second
   approvals (carol, the custodian), then the sealing. The CPU time of the server's processes
   and of the worker's (from /proc) over each stage, divided by its flows, is the CPU ms per
   stage.
2. **Load**, ``--clients`` threads each running whole flows (create, approve, approve) until
   ``--flows`` are done. Flows/s authorized is counted by the clients; flows/s sealed, the flow
   latency (the creation call's start to ``sealed_at``) and approval-to-sealed (the grant's
   creation, committed with the last approval, to ``sealed_at``) come from the database after
   the run, so the clients never poll.

Goals (issue 10): 75 flows/s, at least 30; approval-to-sealed p95 under 250 ms at that load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import common
from common import BenchError, Database, Stats, log
from engine_flow import (
    COMPLETE_BODY,
    CUSTODIAN,
    HEAD,
    NEXT_TASK,
    REQUESTER,
    first_task_id,
    request_form,
    setup_with_cli,
)
from flows_setup import Production, Records, make_pdf, sqlite_url
from live_server import HttpClient, fail_response

GOAL_FLOWS, LEAST_FLOWS, GOAL_SEAL_P95_MS = 75.0, 30.0, 250.0


class Flow:
    """One client's calls, on its own keep-alive connection."""

    def __init__(self, port: int, tokens: dict[str, str], seal_id: int, pdf: bytes) -> None:
        self.client = HttpClient("127.0.0.1", port)
        self.auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        self.seal_id, self.pdf = seal_id, pdf

    def _call(self, what: str, method: str, path: str, body: bytes | None,
              headers: dict[str, str], expect: int) -> dict:
        self.client.ensure_open()
        try:
            status, data = self.client.call(method, path, body, headers)
        except (ConnectionError, OSError):  # the server closed a kept connection: once more
            self.client.close()
            self.client.ensure_open()
            status, data = self.client.call(method, path, body, headers)
        if status != expect:
            raise fail_response(what, status, data)
        return json.loads(data)

    def create(self, n: int) -> tuple[int, str]:
        body, ctype = common.multipart(request_form(self.seal_id), {
            "document": (f"contract-{n}.pdf", self.pdf, "application/pdf")})
        created = self._call("POST /api/v1/requests", "POST", "/api/v1/requests", body,
                             {**self.auth[REQUESTER], "Content-Type": ctype}, 201)
        return created["id"], first_task_id(created)

    def complete(self, who: str, task_id: str) -> dict:
        return self._call(f"POST /api/v1/tasks/{task_id}/complete", "POST",
                          f"/api/v1/tasks/{task_id}/complete", COMPLETE_BODY,
                          {**self.auth[who], "Content-Type": "application/json"}, 200)

    def approve_first(self, task_id: str) -> str:
        body = self.complete(HEAD, task_id)
        tasks = [t for t in (body.get("request") or {}).get("tasks", [])
                 if t.get("element_id") == NEXT_TASK]
        if len(tasks) != 1:
            raise BenchError(f"after {task_id} no single {NEXT_TASK}: {str(body)[:1500]}")
        return tasks[0]["id"]

    def approve_last(self, task_id: str) -> None:
        status = (self.complete(CUSTODIAN, task_id).get("request") or {}).get("status")
        if status not in ("authorized", "sealed"):
            raise BenchError(f"after the custodian's approval the request is {status}")

    def close(self) -> None:
        self.client.close()


def stages(prod: Production, flow: Flow, records: Records, n: int) -> dict[str, float]:
    """CPU ms per flow of each stage, one client, stage by stage."""
    cpu: dict[str, float] = {}

    def measured(name: str, step) -> list:
        before = prod.cpu()
        out = step()
        after = prod.cpu()
        cpu[name] = (after[0] - before[0]) * 1000 / n
        cpu[f"{name} (worker)"] = (after[1] - before[1]) * 1000 / n
        return out

    created = measured("create", lambda: [flow.create(i) for i in range(n)])
    ids = [rid for rid, _task in created]
    seconds = measured("approval 1", lambda: [flow.approve_first(t) for _r, t in created])
    idle = prod.cpu()[1]
    time.sleep(1.0)
    idle_worker_ms_s = (prod.cpu()[1] - idle) * 1000
    before = prod.cpu()
    for task_id in seconds:
        flow.approve_last(task_id)
    mid = prod.cpu()
    records.wait_sealed(ids)
    after = prod.cpu()
    waited = records.wait_filed(ids)
    filed = prod.cpu()
    cpu["approval 2"] = (mid[0] - before[0]) * 1000 / n
    cpu["sealing (worker)"] = (after[1] - before[1]) * 1000 / n
    # Filing follows, once sealing is quiet (app/filing_lane.py): the worker's CPU until all
    # are filed, less what it spends idle in that time.
    cpu["filing (worker)"] = ((filed[1] - after[1]) * 1000 - idle_worker_ms_s * waited) / n
    cpu["worker idle, ms per s"] = idle_worker_ms_s
    return cpu


def load(port: int, setup, pdf: bytes, clients: int, total: int,
         rate: float | None = None) -> tuple[list, float]:
    """``clients`` threads run whole flows until ``total`` are authorized; with ``rate``, flow
    n starts no sooner than n / rate seconds into the phase (an offered load below what the
    machine can do, so that queues do not hide the sealing path's own latency). Returns per
    flow (request id, start, authorized: wall-clock seconds) and the seconds the phase took."""
    done: list[tuple[int, float, float]] = []
    errors: list[BaseException] = []
    counter = iter(range(total))
    lock = threading.Lock()

    def client() -> None:
        flow = Flow(port, setup.tokens, setup.seal_id, pdf)
        try:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None or errors:
                    return
                if rate:
                    time.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
                start = time.time()
                rid, task = flow.create(n)
                flow.approve_last(flow.approve_first(task))
                with lock:
                    done.append((rid, start, time.time()))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            flow.close()

    threads = [threading.Thread(target=client, name=f"client-{i}") for i in range(clients)]
    t0 = time.perf_counter()  # read by the clients (rate): set before they start
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return done, time.perf_counter() - t0


def run(args: argparse.Namespace, data_dir: Path, db: Database) -> None:
    env = common.app_env(data_dir, db)
    setup = setup_with_cli(env)
    setup.tokens[CUSTODIAN] = common.cli_token(env, CUSTODIAN)
    if args.job_mode == "thread":  # the web processes seal, in a thread after the commit
        env["SEALFLOW_JOB_MODE"], args.sealers = "thread", 0
    if args.seal_processes:
        env["SEALFLOW_SEAL_PROCESSES"] = str(args.seal_processes)
    pdf = make_pdf(args.pages)
    records = Records(db.url.replace("postgresql://", "postgresql+psycopg://", 1)
                      if db.url else sqlite_url(data_dir))
    prod = Production(env, data_dir, args.workers, args.sealers)
    try:
        ready = prod.wait_ready(setup.tokens[REQUESTER])
        log(f"{prod.server.note} and {args.sealers} x `sealflow worker` up after {ready:.1f} s")
        flow = Flow(prod.port, setup.tokens, setup.seal_id, pdf)
        for i in range(args.warmup):  # first-use costs (imports, caches, prepared statements)
            rid, task = flow.create(-1 - i)
            flow.approve_last(flow.approve_first(task))
            records.wait_sealed([rid])
        cpu = stages(prod, flow, records, args.stage_n)
        flow.close()
        load_before = common.load_average()
        cpu_before, own_before = prod.cpu(), os.times()
        done, elapsed = load(prod.port, setup, pdf, args.clients, args.flows, args.rate)
        ids = sorted(rid for rid, _s, _a in done)
        records.wait_sealed(ids)
        cpu_after, own_after = prod.cpu(), os.times()
        times = records.sealing_times(ids)
        records.wait_filed(ids)
        filing_cpu = (prod.cpu()[1] - cpu_after[1]) * 1000 / len(ids)
        filed = records.filing_times(ids)
    finally:
        prod.stop()
        records.close()
    client_s = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    report(args, db, prod, cpu, done, elapsed, times, load_before,
           [(a - b) * 1000 / len(done) for a, b in zip(cpu_after, cpu_before, strict=True)]
           + [client_s * 1000 / len(done)])
    report_filing(filed, filing_cpu)


def report_filing(filed: dict[int, tuple[datetime, datetime]], filing_cpu: float) -> None:
    """When the load's requests were filed: filing waits for sealing to be quiet."""
    lag = Stats("sealed_at -> filed_at", [(f - s).total_seconds() for s, f in filed.values()])
    last_sealed = max(s for s, _f in filed.values())
    last_filed = max(f for _s, f in filed.values())
    print(f"\nFiling (after sealing, app/filing_lane.py): {len(filed)} filed, the last "
          f"{(last_filed - last_sealed).total_seconds():.1f} s after the last seal; worker CPU "
          f"after the last seal {filing_cpu:.1f} ms per flow")
    print(_line(lag))


def _line(stats: Stats) -> str:
    return (f"  {stats.label:<44} p50 {stats.median:8.1f}  p95 {stats.pct(95):8.1f}  "
            f"max {max(stats.ms):8.1f} ms")


def report(args, db, prod, cpu, done, elapsed, times, load_before, cpu_per_flow) -> None:
    starts = {rid: start for rid, start, _a in done}
    first = min(starts.values())
    sealed_end = max(sealed.timestamp() for _g, sealed in times.values())
    auth_end = max(auth for _r, _s, auth in done)
    flow_s = Stats("flow: create call -> sealed_at",
                   [times[rid][1].timestamp() - starts[rid] for rid in starts])
    authorized_s = Stats("flow: create call -> authorized (client)",
                         [auth - start for _r, start, auth in done])
    seal_s = Stats("approval -> sealed (grant created -> sealed_at)",
                   [(sealed - granted).total_seconds() for granted, sealed in times.values()])
    per_s_auth = len(done) / (auth_end - first)
    per_s_sealed = len(done) / (sealed_end - first)
    print("\n== bench/flows.py: full two-step flows against the production server ==")
    print(f"machine     {common.machine()}")
    print(f"load        {load_before} (1/5/15 min, before the load phase)")
    print(f"code        {common.code_version()}")
    print(f"database    {db.kind}")
    print(f"server      {prod.server.note} + {len(prod.workers)} x `sealflow worker` "
          f"(SEALFLOW_JOB_MODE={args.job_mode}, SEALFLOW_SEAL_PROCESSES="
          f"{args.seal_processes or 'default'})")
    print(f"document    {args.pages} pages; {args.clients} client threads in this process")
    print(f"\nCPU ms per flow by stage (one client, {args.stage_n} flows each; server = "
          "gunicorn master + workers, worker = `sealflow worker`):")
    for name, ms in cpu.items():
        print(f"  {name:<28} {ms:8.1f}")
    paced = f", started at most {args.rate:g}/s" if args.rate else " (closed loop: saturates)"
    print(f"\nLoad: {len(done)} flows, {args.clients} clients{paced}, {elapsed:.1f} s")
    print(f"  flows/s authorized   {per_s_auth:7.1f}")
    print(f"  flows/s sealed       {per_s_sealed:7.1f}   (goal {GOAL_FLOWS:.0f}, least "
          f"{LEAST_FLOWS:.0f})")
    print(f"  CPU ms per flow      server {cpu_per_flow[0]:.1f}, worker {cpu_per_flow[1]:.1f}, "
          f"clients {cpu_per_flow[2]:.1f}; total {sum(cpu_per_flow):.1f} = at most "
          f"{common.nproc() * 1000 / sum(cpu_per_flow):.0f} flows/s on {common.nproc()} cores")
    for stats in (authorized_s, flow_s, seal_s):
        print(_line(stats))
    seal_p95 = seal_s.pct(95)
    print(f"\napproval -> sealed p95 {seal_p95:.0f} ms (goal < {GOAL_SEAL_P95_MS:.0f}); "
          f"sealed flows/s {per_s_sealed:.1f} (goal {GOAL_FLOWS:.0f}, least {LEAST_FLOWS:.0f}): "
          f"{'MET' if per_s_sealed >= GOAL_FLOWS and seal_p95 < GOAL_SEAL_P95_MS else 'NOT MET'}")
    print(f"finished {datetime.now(UTC).isoformat(timespec='seconds')}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=4, help="client threads (4)")
    p.add_argument("--flows", type=int, default=200, help="flows in the load phase (200)")
    p.add_argument("--stage-n", type=int, default=20, help="flows in the stage phase (20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed flows first (3)")
    p.add_argument("--pages", type=int, default=17, help="pages of the PDF (17)")
    p.add_argument("--rate", type=float, help="start at most this many flows per second "
                   "(default: as fast as the clients go)")
    p.add_argument("--workers", type=int, default=2, help="`serve --workers` (2)")
    p.add_argument("--sealers", type=int, default=1, help="`sealflow worker` processes (1)")
    p.add_argument("--seal-processes", type=int, help="SEALFLOW_SEAL_PROCESSES of each worker "
                   "(default: one per core)")
    p.add_argument("--job-mode", choices=("external", "thread"), default="external",
                   help="thread: the web processes seal (no worker); default external")
    p.add_argument("--database-url", help="PostgreSQL server URL; the bench creates and drops "
                   "a database of its own there (default: SQLite in a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    p.add_argument("--profile", action="store_true", help="instead: --n flows in process, "
                   "each stage under cProfile (bench/flows_profile.py)")
    p.add_argument("--n", type=int, default=20, help="--profile: profiled flows (20)")
    p.add_argument("--top", type=int, default=20, help="--profile: entries per table (20)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        from flows_profile import run_profile
        return common.run_main(args, lambda data_dir, db: run_profile(args, data_dir, db))
    return common.run_main(args, lambda data_dir, db: run(args, data_dir, db))


if __name__ == "__main__":
    sys.exit(main())
