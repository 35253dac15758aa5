"""What the benchmarks share: a throw-away database (SQLite in a temp dir, or a PostgreSQL
database created and dropped on a given server), setup with the ``sealflow`` CLI, a real
``sealflow run`` server in a subprocess, one HTTP client, and small helpers (timing statistics,
the PDF, the code version).

``python bench/common.py --serve-port N`` is the stand-in server used when ``sealflow run``
exits without serving (see ``RUN_IGNORED``).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import itertools
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

SECRET_KEY = "bench-secret-key-not-for-production"
PASSPHRASE = "bench-passphrase"

# Flask prints this and returns from app.run() when FLASK_RUN_FROM_CLI is set, which FlaskGroup
# (the `sealflow` command) always sets: `sealflow run` then exits 0 without serving.
RUN_IGNORED = "Ignoring a call to 'app.run()'"


class BenchError(Exception):
    """Something failed: the run exits non-zero with this message."""


class RunIgnored(Exception):
    """`sealflow run` exited at once without serving (see RUN_IGNORED)."""


# -- small helpers ----------------------------------------------------------------------------

def make_pdf(text: str = "Bench contract 2026-001") -> bytes:
    """A small 1-page PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica", 14)
    c.drawString(72, 760, f"{text} page 1")
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


def machine() -> str:
    return f"nproc={nproc()}, {platform.platform()}, Python {platform.python_version()}"


def versions() -> str:
    from importlib.metadata import version

    return (f"SpiffWorkflow {version('SpiffWorkflow')}, Flask {version('Flask')}, "
            f"SQLAlchemy {version('SQLAlchemy')}, Werkzeug {version('Werkzeug')}")


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
    samples_s: list[float] = field(default_factory=list)
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


def print_profile(profiler: Any, sections: tuple[tuple[str, str, tuple[str, ...]], ...]) -> None:
    """pstats sections ``(title with "top N", sort key, restrictions)``, paths shortened."""
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


# -- database: SQLite in the temp dir, or a throw-away PostgreSQL database ---------------------

@dataclass
class Database:
    url: str | None  # None: SQLite in the data dir (the app's default)
    kind: str
    admin_url: str | None = None
    name: str | None = None
    sqlite_path: Path | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, database_url: str | None, data_dir: Path) -> Iterator[Database]:
        if not database_url:
            import sqlite3
            yield cls(None, f"SQLite {sqlite3.sqlite_version} "
                            f"(sealflow.db in the temp dir {data_dir})",
                      sqlite_path=data_dir / "sealflow.db")
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


def run_main(args, body: Callable[[Path, Database], None]) -> int:
    """``body`` on a fresh temp data dir and database; 1 with a message on BenchError."""
    data_dir = Path(tempfile.mkdtemp(prefix="sealflow-bench-"))
    try:
        with Database.open(args.database_url, data_dir) as db:
            body(data_dir, db)
            return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


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


def cli_token(env: dict[str, str], name: str) -> str:
    out = cli(env, "user", "token", name).split()
    if not out or not out[-1].startswith("sf_"):
        raise BenchError(f"`sealflow user token {name}` printed no token: {out!r}")
    return out[-1]


def cli_seal(env: dict[str, str], name: str, custodian: str) -> int:
    out = cli(env, "seal", "create", name, "--custodian", custodian).split()
    try:
        return int(out[-1])
    except (IndexError, ValueError):
        raise BenchError(f"`sealflow seal create` printed no seal id: {out!r}") from None


def cli_deploy(env: dict[str, str], files: list[Path], key: str) -> None:
    """``sealflow process deploy``: the flow first, then the DMN deployed with it."""
    out = cli(env, "process", "deploy", *map(str, files))
    if key not in out:
        raise BenchError(f"`sealflow process deploy` said: {out!r}")


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


# -- a real server and one HTTP client -------------------------------------------------------

class Server:
    """``sealflow run`` in a subprocess; stopped by its own pid only."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path,
                 command: list[str] | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.note = f"`sealflow run --port {port}` (werkzeug, threaded)"
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


@contextlib.contextmanager
def running_server(env: dict[str, str], data_dir: Path,
                   token: str) -> Iterator[tuple[Server, HttpClient]]:
    """``sealflow run`` on a free port (or the stand-in, see RUN_IGNORED) and a client; both
    are closed on the way out. ``server.note`` says which server runs."""
    port = free_port()
    server = Server(env, port, data_dir / "server.log")
    client = HttpClient("127.0.0.1", port)
    try:
        try:
            ready_s = server.wait_ready(token)
        except RunIgnored as exc:
            print(f"\nWARNING: `sealflow run` exited 0 without serving; its output:\n"
                  f"{exc}\n", file=sys.stderr)
            server.stop()
            # The same body as app/cli.py run_command, outside FlaskGroup (see serve_direct).
            server = Server(env, port, data_dir / "server.log",
                            [sys.executable, str(Path(__file__).resolve()), "--serve-port",
                             str(port)])
            server.note = ("BROKEN `sealflow run` (exits 0: Flask ignores app.run() under "
                           "FlaskGroup); used bench's stand-in with run_command's body: "
                           "create_app, scheduler + sweep, app.run(threaded=True)")
            ready_s = server.wait_ready(token)
        log(f"server up on port {port} after {ready_s:.1f} s (log: {server.log_path.name})")
        yield server, client
    finally:
        client.close()
        server.stop()
        if server.proc.returncode not in (0, -15, None):
            log(f"server exited with {server.proc.returncode}:\n{server.log_tail()}")


# -- the bare engine, in this process ---------------------------------------------------------

class StockEngine:
    """SpiffWorkflow as shipped, as SpiffArena-style apps store it: the spec parsed once (with
    processes.spiff.SealflowParser), the stock serializer (CAMUNDA_CONFIG, plus converters for
    Sealflow's own task specs such as DMN tasks; full JSON with the spec) per instance, nothing
    compacted. ``complete`` is one round trip: deserialize -> set the script engine -> complete
    the user task -> run -> serialize."""

    def __init__(self, files: list[Path], key: str) -> None:
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
        from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
        from SpiffWorkflow.camunda.serializer.event_definition import (
            MessageEventDefinitionConverter,
        )

        from processes import spiff
        from processes.bpmn import build_spec

        self.spec, self.subprocess_specs = build_spec(
            {f.name: f.read_text("utf-8") for f in files}, key)  # SealflowParser
        config = dict(CAMUNDA_CONFIG)
        config.update({spiff.MessageDefinition: MessageEventDefinitionConverter,
                       spiff.VotingParallelTask: MultiInstanceTaskConverter,
                       spiff.VotingSequentialTask: MultiInstanceTaskConverter,
                       spiff.DecisionTableTask: spiff.DecisionTableTaskConverter})
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self.scripts = spiff.script_engine()

    def start(self, variables: dict[str, Any]) -> tuple[str, Any]:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.task import TaskState

        wf = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.scripts)
        for task in wf.get_tasks(state=TaskState.READY):
            task.set_data(**variables)
        wf.do_engine_steps()
        return self.serializer.serialize_json(wf), wf

    def complete(self, state: str, task_id: str, values: dict[str, Any]) -> tuple[str, Any]:
        wf = self.load(state)
        task = wf.get_task_from_id(uuid.UUID(task_id))
        task.set_data(**values)
        task.run()
        wf.do_engine_steps()
        return self.serializer.serialize_json(wf), wf

    def load(self, state: str) -> Any:
        wf = self.serializer.deserialize_json(state)
        wf.script_engine = self.scripts
        return wf

    @staticmethod
    def ready(wf: Any, **kwargs: Any) -> list[tuple[str, str]]:
        """(task id, element id) of the READY user tasks (``kwargs`` go to get_tasks)."""
        from SpiffWorkflow.camunda.specs.user_task import UserTask
        from SpiffWorkflow.task import TaskState

        return [(str(t.id), t.task_spec.bpmn_id)
                for t in wf.get_tasks(state=TaskState.READY, spec_class=UserTask, **kwargs)]


class SealflowEngine:
    """processes.engine as the app runs it: the spec cache, spec-free state, finished history
    compacted at each dump. ``complete`` is load -> complete -> dump."""

    _ids = itertools.count(os.getpid() + 1)

    def __init__(self, files: list[Path], key: str) -> None:
        from processes import engine

        self.engine = engine
        # A negative id: never one of a database's definitions (the spec cache's key).
        self.definition = SimpleNamespace(id=-next(self._ids), key=key,
                                          files={f.name: f.read_text("utf-8") for f in files})

    def start(self, variables: dict[str, Any]) -> tuple[str, Any]:
        wf = self.engine.start(self.definition, variables)
        return self.engine.dump(wf)[0], wf

    def complete(self, state: str, task_id: str, values: dict[str, Any]) -> tuple[str, Any]:
        wf = self.engine.load(self.definition, state)
        self.engine.complete(wf, task_id, values)
        return self.engine.dump(wf)[0], wf

    def load(self, state: str) -> Any:
        return self.engine.load(self.definition, state)

    def ready(self, wf: Any) -> list[tuple[str, str]]:
        return [(r.id, r.element_id) for r in self.engine.ready_user_tasks(wf)]


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


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-port":
        serve_direct(int(sys.argv[2]))
    else:
        sys.exit("usage: common.py --serve-port PORT (the stand-in server)")
