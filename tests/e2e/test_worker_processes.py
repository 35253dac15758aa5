"""`sealflow worker` seals in SEALFLOW_SEAL_PROCESSES processes (one per core by default): the
requests are sealed, each once, and the processes it forked end with it, even when it is
killed outright (none is left behind sealing on its own)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from processes.models import GrantStatus, SigningGrant
from tests.conftest import make_pdf
from tests.e2e.test_workers import _approve, _submit, _tasks
from tests.processes_live import Http, Server, Worker, environment, started, until


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def test_the_worker_seals_in_its_processes_and_they_end_with_it(app, org, tmp_path):
    env = environment(app, JOB_MODE="external", SEAL_PROCESSES=3)
    web = Server(env, tmp_path / "serve.log")
    worker = Worker(env, tmp_path / "worker.log")
    with started(web, worker):
        sealers = until(lambda: _children(worker.process.pid) if len(
            _children(worker.process.pid)) == 2 else None, timeout=30,
            what="the worker's two more sealing processes")
        assert "sealing in 3 processes" in worker.log()
        alice, bob, carol = (Http(web.url, c.token) for c in (org.alice, org.bob, org.carol))
        ids = [_submit(alice, org.seal_id, make_pdf(text=f"Contract 2026-{n:03d}"))
               for n in range(6)]
        for task in _tasks(bob, 6):
            _approve(bob, task)
        for task in _tasks(carol, 6):
            _approve(carol, task)

        def sealed() -> list[dict] | None:
            worker.check_alive()
            found = alice.get("/api/v1/requests", params={"limit": 100}).json()
            return found if all(r["status"] == "sealed" for r in found) else None

        until(sealed, timeout=120, what="6 requests to be sealed by the worker")
        os.kill(worker.process.pid, signal.SIGKILL)  # the worker alone, not its group
        worker.process.wait(timeout=20)
        until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in sealers) or None,
              timeout=30, what="the worker's sealing processes to end with it")
    with app.app_context():
        grants = db.session.execute(select(SigningGrant).where(
            SigningGrant.request_id.in_(ids))).scalars().all()
        assert {g.status for g in grants} == {GrantStatus.consumed}
        assert {g.attempts for g in grants} == {1}  # each leased once: sealed once
