"""Sealflow as real processes, for the tests that need them: `sealflow serve` (gunicorn) and
`sealflow worker` on a test's own database and data directory, run from this checkout's code
(not whichever checkout the virtualenv's `sealflow` script was installed from).

Every wait has a deadline; a process that dies early fails the test with its log; whatever a
test started is stopped (its process group, by id) when it ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def command(*args: str) -> list[str]:
    """``sealflow ARGS...`` with this checkout's ``app`` (cwd and PYTHONPATH are ROOT)."""
    return [sys.executable, "-c", "from app.cli import main; main()", *args]


def environment(app: Any, **settings: Any) -> dict[str, str]:
    """The environment of a process that shares ``app``'s database, data directory and keys;
    ``settings`` are more ``SEALFLOW_*`` values (``JOB_MODE="external"``). Any SEALFLOW_*
    variable of the test run itself is left out."""
    c = app.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALFLOW_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SEALFLOW_DATABASE_URL": c["SQLALCHEMY_DATABASE_URI"],
        "SEALFLOW_DATA_DIR": str(c["DATA_DIR"]),
        "SEALFLOW_SECRET_KEY": c["SECRET_KEY"],
        "SEALFLOW_KEY_PASSPHRASE": c["KEY_PASSPHRASE"],
        "SEALFLOW_AUDIT_KEY": c["AUDIT_KEY"],
        "SEALFLOW_ORG_NAME": c["ORG_NAME"],
        "SEALFLOW_JOB_POLL_SECONDS": "1",
    })
    env.update({f"SEALFLOW_{k}": str(v) for k, v in settings.items()})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(check: Callable[[], T], *, timeout: float, what: str,
          every: float = 0.2) -> T:
    """Poll ``check`` until it returns something true, or fail naming ``what`` at the
    deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Running:
    """One started process (in a session of its own, so its children stop with it), its
    output in ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n"
                                 f"{self.log()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL if it is not gone within 20 seconds."""
        if self.process.poll() is None:
            pgid = self.process.pid  # its own session: the group id is its pid
            try:
                os.killpg(pgid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.process.wait(timeout=20)
            except ProcessLookupError:
                pass
        self._log.close()


class Listening(Running):
    """A server process, ready once its API answers on ``url``."""

    url: str

    def wait_ready(self, timeout: float = 90) -> None:
        def answers() -> bool:
            self.check_alive()
            try:
                return requests.get(f"{self.url}/api/v1/me", timeout=2).status_code == 401
            except requests.RequestException:
                return False
        until(answers, timeout=timeout, what=f"{self.name} to answer on {self.url}")


class Server(Listening):
    """`sealflow serve`: gunicorn with ``workers`` processes on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__("sealflow serve", command(
            "serve", "--workers", str(workers), "--port", str(self.port)),
            {**env, "SEALFLOW_BASE_URL": env.get("SEALFLOW_BASE_URL", self.url)}, log_path)


class Worker(Running):
    """`sealflow worker`: the scheduler and the job runner in a process of their own."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str = "sealflow worker") -> None:
        super().__init__(name, command("worker"), env, log_path)

    def wait_ready(self, timeout: float = 90) -> None:
        def running() -> bool:
            self.check_alive()
            return "worker running" in self.log()
        until(running, timeout=timeout, what=f"{self.name} to start")


@contextmanager
def started(*processes: Running) -> Iterator[tuple[Running, ...]]:
    """Wait until each of ``processes`` is ready; stop them all on the way out, whatever
    happened."""
    with ExitStack() as stack:
        for p in processes:
            stack.callback(p.stop)
        for p in processes:
            p.wait_ready()
        yield processes


class Http:
    """A user of the real server: requests with that user's bearer token."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=60, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.session.post(self.base + path, timeout=60, **kw)
