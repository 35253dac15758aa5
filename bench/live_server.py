"""The benchmarks' real servers in a subprocess on a free port: the production server
(``sealflow serve``, gunicorn's threaded workers, keep-alive) or the development server
(``sealflow run``, werkzeug, which closes every connection); and their one keep-alive HTTP
client, which counts the connections it opens."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import common
from common import ROOT, RUN_IGNORED, BenchError, RunIgnored, free_port, log, sealflow_executable

# -- a real server and one HTTP client -------------------------------------------------------

SERVE_WORKERS = 2


class Server:
    """``sealflow serve`` (kind "serve") or ``sealflow run`` (kind "run") in a subprocess;
    stopped by its own pid only (serve's pid is gunicorn's master, which stops its workers)."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path,
                 command: list[str] | None = None, kind: str = "run") -> None:
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.kind = kind
        where = ["--host", "127.0.0.1", "--port", str(port)]
        if kind == "serve":
            self.note = (f"`sealflow serve --workers {SERVE_WORKERS}` (gunicorn gthread, "
                         "serve's default threads and keep-alive)")
            default = [sealflow_executable(), "serve", "--workers", str(SERVE_WORKERS), *where]
        else:
            self.note = f"`sealflow run --port {port}` (werkzeug, threaded)"
            default = [sealflow_executable(), "run", *where]
        self.command = command or default
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
def running_server(env: dict[str, str], data_dir: Path, token: str,
                   kind: str = "run") -> Iterator[tuple[Server, HttpClient]]:
    """``sealflow serve`` (kind "serve") or ``sealflow run`` (or the stand-in, see
    RUN_IGNORED) on a free port, and a client; both are closed on the way out. ``server.note``
    says which server runs."""
    port = free_port()
    log_path = data_dir / f"{kind}.log"
    server = Server(env, port, log_path, kind=kind)
    client = HttpClient("127.0.0.1", port)
    try:
        try:
            ready_s = server.wait_ready(token)
        except RunIgnored as exc:
            print(f"\nWARNING: `sealflow run` exited 0 without serving; its output:\n"
                  f"{exc}\n", file=sys.stderr)
            server.stop()
            # The same body as app/cli.py run_command, outside FlaskGroup (see serve_direct).
            server = Server(env, port, log_path,
                            [sys.executable, str(Path(common.__file__).resolve()), "--serve-port",
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
