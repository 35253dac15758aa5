"""What the benchmarks share: a throw-away database (SQLite in a temp dir, or a PostgreSQL
database created and dropped on a given server), setup with the ``sealflow`` CLI, a real
``sealflow run`` server in a subprocess, one HTTP client, and small helpers (timing statistics,
the PDF, the code version).

``python bench/common.py --serve-port N`` is the stand-in server used when ``sealflow run``
exits without serving (see ``RUN_IGNORED``).
"""

from __future__ import annotations

import contextlib
import io
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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET_KEY = "bench-secret-key-not-for-production"
PASSPHRASE = "bench-passphrase"
AUDIT_KEY = "bench-audit-key-not-for-production"

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


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    return (f"nproc={nproc()}, {cpu_model()}, {platform.platform()}, "
            f"Python {platform.python_version()}")


ENGINE_PACKAGES = ("SpiffWorkflow", "Flask", "SQLAlchemy", "Werkzeug")


def versions(names: tuple[str, ...] = ENGINE_PACKAGES) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in names:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


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


def database_options(parser: Any, keep_help: str = "keep the temp dir") -> None:
    """The options every bench on a database of its own takes: ``--database-url`` (PostgreSQL;
    default SQLite in a temp dir) and ``--keep``, as :func:`run_main` reads them."""
    parser.add_argument("--database-url", help="PostgreSQL server URL; the bench creates and "
                        "drops a database of its own there (default: SQLite in a temp dir)")
    parser.add_argument("--keep", action="store_true", help=keep_help)


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
               SEALFLOW_AUDIT_KEY=AUDIT_KEY,
               PYTHONUNBUFFERED="1")
    # The CLI and the servers import this tree's code, whichever tree `sealflow` was installed
    # from (an editable install points at one checkout).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
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
