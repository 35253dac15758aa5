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
   The same with Sealflow's spec-free serializer (processes.engine) as an informational line.
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
import contextlib
import cProfile
import http.client
import io
import json
import logging
import os
import platform
import pstats
import re
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BPMN = ROOT / "bpmn" / "contract_seal" / "contract_seal.bpmn"
PROCESS_KEY = "contract_seal"
FIRST_TASK = "dept_head_approve"
NEXT_TASK = "custodian_approve"
SECRET_KEY = "bench-secret-key-not-for-production"
PASSPHRASE = "bench-passphrase"
REQUEST_DATA = {"amount": 5000, "purpose": "bench"}
COMPLETE_BODY = json.dumps({"decision": "approve"}).encode()
SPIFFARENA_MS = 127.0
SPIFFARENA_RATIO = 82.0
GOAL_RATIO = 2.0

# The cast (as in tests/conftest.py): alice requests in sales, bob heads sales and approves
# first, lily is in Legal (法务部), carol keeps the seal.
REQUESTER, HEAD, LEGAL, CUSTODIAN = "alice", "bob", "lily", "carol"


class BenchError(Exception):
    """Something failed: the run exits non-zero with this message."""


# Flask prints this and returns from app.run() when FLASK_RUN_FROM_CLI is set, which FlaskGroup
# (the `sealflow` command) always sets: `sealflow run` then exits 0 without serving.
RUN_IGNORED = "Ignoring a call to 'app.run()'"


class RunIgnored(Exception):
    """`sealflow run` exited at once without serving (see RUN_IGNORED)."""


# -- small helpers ----------------------------------------------------------------------------

def make_pdf() -> bytes:
    """A small 1-page PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica", 14)
    c.drawString(72, 760, "Bench contract 2026-001 page 1")
    c.showPage()
    c.save()
    return buf.getvalue()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def code_version() -> str:
    """The commit measured, and the files changed in the working tree (bench/ aside)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = sorted(line[3:] for line in dirty.splitlines() if not line[3:].startswith("bench/"))
    return f"{head or 'unknown'}" + (f" + uncommitted changes in {', '.join(changed)}"
                                     if changed else " (clean)")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Stats:
    label: str
    samples_s: list[float]
    note: str = ""

    @property
    def ms(self) -> list[float]:
        return [s * 1000.0 for s in self.samples_s]

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.ms)

    def pct(self, p: float) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]

    @property
    def per_second(self) -> float:
        total = sum(self.samples_s)
        return len(self.samples_s) / total if total else float("inf")


# -- database: SQLite in the temp dir, or a throw-away PostgreSQL database ---------------------

@dataclass
class Database:
    url: str | None  # None: SQLite in the data dir (the app's default)
    kind: str
    admin_url: str | None = None
    name: str | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, database_url: str | None, data_dir: Path) -> Iterator[Database]:
        if not database_url:
            import sqlite3
            yield cls(None, f"SQLite {sqlite3.sqlite_version} "
                            f"(sealflow.db in the temp dir {data_dir})")
            return
        if not database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise BenchError("--database-url must be a postgresql:// URL (or omit it for SQLite)")
        import psycopg

        admin_url = re.sub(r"^(postgres|postgresql\+psycopg)://", "postgresql://", database_url)
        name = f"sealflow_bench_{os.getpid()}"
        parts = urlsplit(admin_url)
        bench_url = urlunsplit(parts._replace(path=f"/{name}"))
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            raise BenchError(f"cannot create the bench database on {admin_url}: {exc}") from None
        host = parts.hostname or "localhost"
        db = cls(bench_url, f"PostgreSQL {version} ({host}:{parts.port or 5432}, database {name})",
                 admin_url, name)
        try:
            yield db
        finally:
            db.drop()

    def drop(self) -> None:
        if not self.name:
            return
        import psycopg
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            log(f"dropped database {self.name}")
        except psycopg.Error as exc:
            log(f"could not drop database {self.name}: {exc}")


# -- setup through the sealflow CLI ----------------------------------------------------------

def sealflow_executable() -> str:
    beside = Path(sys.executable).parent / "sealflow"
    if beside.exists():
        return str(beside)
    found = shutil.which("sealflow")
    if not found:
        raise BenchError("the sealflow command is not installed in this environment")
    return found


def app_env(data_dir: Path, db: Database) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALFLOW_")}
    env.update(SEALFLOW_DATA_DIR=str(data_dir), SEALFLOW_SECRET_KEY=SECRET_KEY,
               SEALFLOW_KEY_PASSPHRASE=PASSPHRASE, SEALFLOW_JOB_MODE="external",
               PYTHONUNBUFFERED="1")
    if db.url:
        env["SEALFLOW_DATABASE_URL"] = db.url
    return env


@dataclass
class Setup:
    tokens: dict[str, str]
    seal_id: int


def cli(env: dict[str, str], *args: str) -> str:
    cmd = [sealflow_executable(), *args]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`sealflow {' '.join(args)}` timed out") from None
    if done.returncode != 0:
        raise BenchError(f"`sealflow {' '.join(args)}` failed (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")
    return done.stdout


def setup_with_cli(env: dict[str, str]) -> Setup:
    """init, departments and people, tokens, the seal, the contract flow."""
    t0 = time.perf_counter()
    cli(env, "init")
    cli(env, "group", "add", "sales", "--name", "销售部")
    cli(env, "group", "add", "legal", "--name", "法务部")
    cli(env, "user", "add", HEAD, "--display-name", "Bob (head of sales)")
    cli(env, "user", "add", REQUESTER, "--groups", "sales")
    cli(env, "user", "add", LEGAL, "--groups", "legal")
    cli(env, "user", "add", CUSTODIAN)
    cli(env, "group", "add", "sales", "--head", HEAD)
    tokens = {}
    for name in (REQUESTER, HEAD):
        out = cli(env, "user", "token", name).split()
        if not out or not out[-1].startswith("sf_"):
            raise BenchError(f"`sealflow user token {name}` printed no token: {out!r}")
        tokens[name] = out[-1]
    out = cli(env, "seal", "create", "测试合同专用章", "--custodian", CUSTODIAN).split()
    try:
        seal_id = int(out[-1])
    except (IndexError, ValueError):
        raise BenchError(f"`sealflow seal create` printed no seal id: {out!r}") from None
    out = cli(env, "process", "deploy", str(BPMN))
    if PROCESS_KEY not in out:
        raise BenchError(f"`sealflow process deploy` said: {out!r}")
    log(f"set up with the CLI in {time.perf_counter() - t0:.1f} s (seal {seal_id})")
    return Setup(tokens, seal_id)


def multipart(fields: dict[str, str],
              files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = f"----sealflow-bench-{uuid.uuid4().hex}"
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                  .encode())
        out.write(value.encode("utf-8") + b"\r\n")
    for name, (filename, data, ctype) in files.items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                  f"filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def request_form(seal_id: int) -> dict[str, str]:
    return {"process": PROCESS_KEY, "seal": str(seal_id), "data": json.dumps(REQUEST_DATA)}


def first_task_id(created: dict) -> str:
    ids = [t["id"] for t in created.get("tasks", []) if t.get("element_id") == FIRST_TASK]
    if created.get("status") != "running" or len(ids) != 1:
        raise BenchError(f"request {created.get('id')} did not wait at {FIRST_TASK}: "
                         f"{json.dumps(created, ensure_ascii=False)[:2000]}")
    return ids[0]


def check_after_approval(body: dict, task_id: str) -> None:
    req = body.get("request") or {}
    open_tasks = [t.get("element_id") for t in req.get("tasks", [])]
    if req.get("status") != "running" or open_tasks != [NEXT_TASK]:
        raise BenchError(f"after approving task {task_id} the request should wait at "
                         f"{NEXT_TASK}: {json.dumps(body, ensure_ascii=False)[:2000]}")


# -- the API path: a real server and one HTTP client -----------------------------------------

class Server:
    """``sealflow run`` in a subprocess; stopped by its own pid only."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path,
                 command: list[str] | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.command = command or [sealflow_executable(), "run", "--host", "127.0.0.1",
                                   "--port", str(port)]
        self.proc = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def wait_ready(self, token: str, timeout: float = 60.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                if self.proc.returncode == 0 and RUN_IGNORED in self.log_tail():
                    raise RunIgnored(self.log_tail())
                raise BenchError(f"the server exited with {self.proc.returncode} before it "
                                 f"answered:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    return time.perf_counter() - t0
                raise BenchError(f"GET /api/v1/me answered {resp.status}: {body[:2000]!r}")
            except (ConnectionError, OSError):
                time.sleep(0.1)
        raise BenchError(f"the server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


@dataclass
class HttpClient:
    """One HTTPConnection, reused while the server keeps it open. When the server closes it,
    the next connection is opened *before* the clock starts (see ``ensure_open``)."""

    host: str
    port: int
    conn: http.client.HTTPConnection = field(init=False)
    connects: int = 0
    requests: int = 0
    closed_by_server: int = 0

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def ensure_open(self) -> None:
        if self.conn.sock is None:
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        self.requests += 1
        if resp.will_close:
            self.closed_by_server += 1
        return resp.status, data

    def close(self) -> None:
        self.conn.close()


def fail_response(what: str, status: int, body: bytes) -> BenchError:
    text = body.decode("utf-8", "replace")
    print(f"{what}: HTTP {status}\n{text}", file=sys.stderr)
    return BenchError(f"{what} answered HTTP {status}")


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
    env = app_env(data_dir, db)
    setup = setup_with_cli(env)
    port = free_port()
    server = Server(env, port, data_dir / "server.log")
    client = HttpClient("127.0.0.1", port)
    server_note = f"`sealflow run --port {port}` (werkzeug, threaded)"
    try:
        try:
            ready_s = server.wait_ready(setup.tokens[REQUESTER])
        except RunIgnored as exc:
            print(f"\nWARNING: `sealflow run` exited 0 without serving; its output:\n"
                  f"{exc}\n", file=sys.stderr)
            server.stop()
            # The same body as app/cli.py run_command, outside FlaskGroup (see serve_direct).
            server = Server(env, port, data_dir / "server.log",
                            [sys.executable, str(Path(__file__).resolve()), "--serve-port",
                             str(port)])
            server_note = ("BROKEN `sealflow run` (exits 0: Flask ignores app.run() under "
                           "FlaskGroup); used bench's stand-in with run_command's body: "
                           "create_app, scheduler + sweep, app.run(threaded=True)")
            ready_s = server.wait_ready(setup.tokens[REQUESTER])
        log(f"server up on port {port} after {ready_s:.1f} s (log: {server.log_path.name})")
        pdf = make_pdf()
        alice = {"Authorization": f"Bearer {setup.tokens[REQUESTER]}"}
        bob = {"Authorization": f"Bearer {setup.tokens[HEAD]}",
               "Content-Type": "application/json"}

        # Requests: created over HTTP, not timed; their first task ids collected now.
        total = args.n + args.warmup
        task_ids: list[str] = []
        t0 = time.perf_counter()
        for i in range(total):
            body, ctype = multipart(request_form(setup.seal_id),
                                    {"document": (f"contract-{i}.pdf", pdf, "application/pdf")})
            client.ensure_open()
            status, data = client.call("POST", "/api/v1/requests", body,
                                       {**alice, "Content-Type": ctype})
            if status != 201:
                raise fail_response(f"POST /api/v1/requests (#{i + 1})", status, data)
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
                raise fail_response(f"POST {path}", status, data)
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
                raise fail_response("GET /api/v1/me", status, data)
        return ApiResult(Stats("API: POST /api/v1/tasks/<id>/complete", samples),
                         Stats("info: API GET /api/v1/me (auth only)", me),
                         connects, requests_, closed, total, create_s, setup.seal_id,
                         server_note)
    finally:
        client.close()
        server.stop()
        if server.proc.returncode not in (0, -15, None):
            log(f"server exited with {server.proc.returncode}:\n{server.log_tail()}")


# -- the bare engine, in this process ---------------------------------------------------------

def engine_variables(seal_id: int) -> dict[str, Any]:
    """What processes.requests.create hands the engine for alice's request (data + built-ins)."""
    return {**REQUEST_DATA, "requester": REQUESTER, "requester_groups": ["sales"],
            "requester_heads": [HEAD], "business_type": None, "seal": seal_id,
            "seal_custodians": [CUSTODIAN], "document_pages": 1}


def _timed_rounds(states: list[tuple[str, str]], warmup: int,
                  round_: Callable[[str, str], str]) -> tuple[list[float], list[str]]:
    for state, task_id in states[:warmup]:
        round_(state, task_id)
    samples, outputs = [], []
    for state, task_id in states[warmup:]:
        t = time.perf_counter()
        out = round_(state, task_id)
        samples.append(time.perf_counter() - t)
        outputs.append(out)
    return samples, outputs


@dataclass
class BareResult:
    stock: Stats
    spec_free: Stats
    stock_bytes: int
    spec_free_bytes: int
    stock_bytes_after: int
    spec_free_bytes_after: int


def run_bare(args: argparse.Namespace, seal_id: int) -> BareResult:
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
    from SpiffWorkflow.camunda.specs.user_task import UserTask
    from SpiffWorkflow.task import TaskState

    from processes import engine
    from processes.spiff import SealflowParser, script_engine

    variables = engine_variables(seal_id)
    total = args.n + args.warmup

    # Stock: spec parsed once; full JSON (spec included) per instance.
    parser = SealflowParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec(PROCESS_KEY)
    subprocess_specs = parser.get_subprocess_specs(PROCESS_KEY)
    stock = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(dict(CAMUNDA_CONFIG)))
    scripts = script_engine()

    def ready_user_tasks(wf: BpmnWorkflow) -> list:
        return wf.get_tasks(state=TaskState.READY, spec_class=UserTask)

    def start_stock() -> tuple[str, str]:
        wf = BpmnWorkflow(spec, subprocess_specs, script_engine=scripts)
        for task in wf.get_tasks(state=TaskState.READY):
            task.set_data(**variables)
        wf.do_engine_steps()
        ready = ready_user_tasks(wf)
        if [t.task_spec.bpmn_id for t in ready] != [FIRST_TASK]:
            raise BenchError(f"bare engine: expected {FIRST_TASK}, got {ready}")
        return stock.serialize_json(wf), str(ready[0].id)

    def round_stock(state: str, task_id: str) -> str:
        wf = stock.deserialize_json(state)
        wf.script_engine = scripts
        task = wf.get_task_from_id(uuid.UUID(task_id))
        task.set_data(decision="approve", comment=None)
        task.run()
        wf.do_engine_steps()
        return stock.serialize_json(wf)

    states = [start_stock() for _ in range(total)]
    samples, outputs = _timed_rounds(states, args.warmup, round_stock)
    for out in outputs:
        wf = stock.deserialize_json(out)
        if [t.task_spec.bpmn_id for t in ready_user_tasks(wf)] != [NEXT_TASK]:
            raise BenchError("bare engine (stock): the approval did not reach " + NEXT_TASK)
    stock_stats = Stats("bare engine, stock serializer (full JSON)", samples)
    stock_bytes, stock_after = len(states[-1][0].encode()), len(outputs[-1].encode())

    # Sealflow's own path: processes.engine with the spec-free serializer and the spec cache.
    definition = SimpleNamespace(id=-(os.getpid() + 1), key=PROCESS_KEY,
                                 files={BPMN.name: BPMN.read_text("utf-8")})

    def start_ours() -> tuple[str, str]:
        wf = engine.start(definition, variables)
        ready = engine.ready_user_tasks(wf)
        if [r.element_id for r in ready] != [FIRST_TASK]:
            raise BenchError(f"processes.engine: expected {FIRST_TASK}, got {ready}")
        return engine.dump(wf)[0], ready[0].id

    def round_ours(state: str, task_id: str) -> str:
        wf = engine.load(definition, state)
        engine.complete(wf, task_id, {"decision": "approve", "comment": None})
        return engine.dump(wf)[0]

    states = [start_ours() for _ in range(total)]
    samples, outputs = _timed_rounds(states, args.warmup, round_ours)
    for out in outputs:
        wf = engine.load(definition, out)
        if [r.element_id for r in engine.ready_user_tasks(wf)] != [NEXT_TASK]:
            raise BenchError("processes.engine: the approval did not reach " + NEXT_TASK)
    ours = Stats("info: processes.engine load/complete/dump (spec-free)", samples)
    return BareResult(stock_stats, ours, stock_bytes, len(states[-1][0].encode()), stock_after,
                      len(outputs[-1].encode()))


# -- report -----------------------------------------------------------------------------------

def print_report(args: argparse.Namespace, db: Database, api: ApiResult,
                 bare: BareResult) -> None:
    from importlib.metadata import version

    rows = [api.completions, bare.stock, bare.spec_free, api.me]
    ratio = api.completions.median / bare.stock.median
    ratio_mean = api.completions.mean / bare.stock.mean
    keepalive = ("yes" if api.closed_by_server == 0 else
                 f"no: the server closed {api.closed_by_server} of {api.requests} connections "
                 f"(Connection: close); each was reopened before its clock started")
    print()
    print("Sealflow engine benchmark: completing the department head's approval")
    print(f"  machine     : nproc={nproc()}, {platform.platform()}, Python "
          f"{platform.python_version()}")
    print(f"  database    : {db.kind}")
    print(f"  code        : {args.code}")
    print(f"  server      : {api.server}")
    print(f"  N           : {args.n} timed completions per path (+{args.warmup} warm-up, "
          f"untimed); {api.created} requests created over HTTP (not timed)")
    print(f"  versions    : SpiffWorkflow {version('SpiffWorkflow')}, Flask {version('Flask')}, "
          f"SQLAlchemy {version('SQLAlchemy')}, Werkzeug {version('Werkzeug')}")
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
    env = app_env(data_dir, db)
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
            self.SECRET_KEY = SECRET_KEY
            self.KEY_PASSPHRASE = PASSPHRASE
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
            raise fail_response("POST /api/v1/requests", resp.status_code, resp.data)
        task_ids.append(first_task_id(resp.get_json()))

    def complete(task_id: str):
        resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve"},
                           headers=bob)
        if resp.status_code != 200:
            raise fail_response(f"POST /api/v1/tasks/{task_id}/complete", resp.status_code,
                                resp.data)
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
    print(f"  machine : nproc={nproc()}, {platform.platform()}, Python "
          f"{platform.python_version()}")
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
    for title, sort, restrictions in sections:
        buf = io.StringIO()
        top = int(re.search(r"top (\d+)", title).group(1))
        pstats.Stats(profiler, stream=buf).sort_stats(sort).print_stats(*restrictions, top)
        print(f"\n--- {title} ---")
        print(_shorten_paths(buf.getvalue()).strip("\n"))


def _shorten_paths(text: str) -> str:
    prefixes = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                sysconfig.get_paths()["stdlib"], str(ROOT)}
    for p in sorted(prefixes, key=len, reverse=True):
        text = text.replace(p.rstrip("/") + "/", "")
    lines = text.splitlines()
    # Drop pstats' preamble up to the column header.
    for i, line in enumerate(lines):
        if line.lstrip().startswith("ncalls"):
            head = [ln for ln in lines[:i] if "function calls" in ln]
            return "\n".join(head + lines[i:])
    return text


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


def serve_direct(port: int) -> None:
    """What `sealflow run` (app/cli.py run_command) does, minus FlaskGroup: configured from
    the SEALFLOW_* environment, scheduler and sweep, then the threaded werkzeug server."""
    from app import create_app
    from app.jobs import runner

    app = create_app()
    with app.app_context():
        runner(app).start_scheduler()
        runner(app).sweep()
        app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False, threaded=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_port:
        serve_direct(args.serve_port)
        return 0
    args.code = code_version()  # at the start: what the server and this process import
    data_dir = Path(tempfile.mkdtemp(prefix="sealflow-bench-"))
    try:
        with Database.open(args.database_url, data_dir) as db:
            if args.profile:
                run_profile(args, data_dir, db)
                return 0
            api = run_api(args, data_dir, db)
            bare = run_bare(args, seal_id=api.seal_id)
            print_report(args, db, api, bare)
            return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
