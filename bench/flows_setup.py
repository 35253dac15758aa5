"""What bench/flows.py needs besides its clients: the production pair (``sealflow serve`` and
``sealflow worker``), their CPU time read from /proc, a many-page PDF, and read-only queries of
the bench database for when each request was authorized and sealed (server-side times, so the
clients do not poll)."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from common import BenchError, free_port, sealflow_executable
from live_server import Server

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def make_pdf(pages: int, text: str = "Bench contract 2026-001") -> bytes:
    """A text PDF of ``pages`` pages, a few lines each (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for page in range(1, pages + 1):
        c.setFont("Helvetica", 11)
        for line in range(40):
            c.drawString(60, 780 - 18 * line,
                         f"{text} page {page} clause {line + 1}: the parties agree to the terms.")
        c.showPage()
    c.save()
    return buf.getvalue()


def session_cpu_s(sid: int) -> float:
    """User + system CPU seconds of every live process in session ``sid`` (a server started
    with ``start_new_session``: gunicorn's master and its workers)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                raw = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])  # utime stime
    return total / CLK_TCK


class Production:
    """``sealflow serve --workers N`` and ``sealflow worker`` (SEALFLOW_JOB_MODE=external);
    each in a session of its own, stopped by its own pid."""

    def __init__(self, env: dict[str, str], data_dir: Path, workers: int,
                 sealers: int = 1) -> None:
        self.port = free_port()
        self.server = Server(env, self.port, data_dir / "server.log",
                             [sealflow_executable(), "serve", "--workers", str(workers),
                              "--host", "127.0.0.1", "--port", str(self.port)])
        self.server.note = f"`sealflow serve --workers {workers}`"
        self.workers = [Server(env, 0, data_dir / f"worker-{i}.log",
                               [sealflow_executable(), "worker"]) for i in range(sealers)]

    def wait_ready(self, token: str) -> float:
        ready = self.server.wait_ready(token)
        for worker in self.workers:
            if worker.proc.poll() is not None:
                raise BenchError(f"`sealflow worker` exited:\n{worker.log_tail()}")
        return ready

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (the server's processes, the workers')."""
        return (session_cpu_s(self.server.proc.pid),
                sum(session_cpu_s(worker.proc.pid) for worker in self.workers))

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.server.stop()


def _when(value) -> datetime:
    if isinstance(value, str):  # SQLite: ISO text, UTC without an offset
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Records:
    """Read-only queries of the bench database (SQLAlchemy Core, plain SQL)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        self.engine = create_engine(url)

    def _rows(self, sql: str, **params) -> list:
        from sqlalchemy import text
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def count(self, ids: list[int], status: str) -> int:
        if not ids:
            return 0
        return self._rows("SELECT COUNT(*) FROM requests WHERE status = :s AND id BETWEEN "
                          ":lo AND :hi", s=status, lo=min(ids), hi=max(ids))[0][0]

    def wait_sealed(self, ids: list[int], timeout: float = 300.0) -> float:
        """Wait until every request in ``ids`` is sealed (polling the database, not the
        server); the seconds waited. Raises when one failed or the time ran out."""
        t0 = time.perf_counter()
        while True:
            rows = self._rows("SELECT status, COUNT(*) FROM requests WHERE id BETWEEN :lo AND "
                              ":hi GROUP BY status", lo=min(ids), hi=max(ids))
            by = dict(rows)
            if by.get("failed"):
                failure = self._rows("SELECT id, failure FROM requests WHERE status = 'failed' "
                                     "AND id BETWEEN :lo AND :hi", lo=min(ids), hi=max(ids))
                raise BenchError(f"requests failed to seal: {failure[:3]}")
            if by.get("sealed", 0) >= len(ids):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise BenchError(f"not all sealed after {timeout:.0f} s: {by}")
            time.sleep(0.05)

    def sealing_times(self, ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
        """Per request: (its grant's creation, i.e. the last approval's commit; sealed_at)."""
        rows = self._rows(
            "SELECT r.id, g.created_at, r.sealed_at FROM requests r JOIN signing_grants g "
            "ON g.request_id = r.id WHERE r.id BETWEEN :lo AND :hi", lo=min(ids), hi=max(ids))
        return {rid: (_when(granted), _when(sealed)) for rid, granted, sealed in rows}

    def wait_filed(self, ids: list[int], timeout: float = 300.0) -> float:
        """Wait until every request in ``ids`` is in the archive (filed by the worker that
        sealed it, app/filing_lane.py); the seconds waited."""
        t0 = time.perf_counter()
        while True:
            filed = self._rows("SELECT COUNT(*) FROM archive_entries WHERE request_id BETWEEN "
                               ":lo AND :hi", lo=min(ids), hi=max(ids))[0][0]
            if filed >= len(ids):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise BenchError(f"{filed} of {len(ids)} filed after {timeout:.0f} s")
            time.sleep(0.05)

    def filing_times(self, ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
        """Per request: (sealed_at, filed_at)."""
        rows = self._rows(
            "SELECT r.id, r.sealed_at, a.filed_at FROM requests r JOIN archive_entries a "
            "ON a.request_id = r.id WHERE r.id BETWEEN :lo AND :hi", lo=min(ids), hi=max(ids))
        return {rid: (_when(sealed), _when(filed)) for rid, sealed, filed in rows}

    def close(self) -> None:
        self.engine.dispose()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'sealflow.db'}"
