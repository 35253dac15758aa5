"""Sealflow deployed as its parts: `sealflow serve` (gunicorn) for the web, `sealflow worker`
for the jobs, real processes on one database and one data directory (the test's: SQLite in
the first pass of .ci/run, PostgreSQL in the second).

One request goes through the web and is sealed by the worker alone; then thirty requests reach
their authorized end together while the web (job mode thread) and two workers race for the
grants: each is sealed exactly once, and the quota counts each use once."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from processes import audit_verify
from processes.models import AuditEvent, Document, GrantStatus, Request, SigningGrant
from processes.seal_models import SealUsage
from tests.conftest import make_pdf
from tests.pdfcheck import assert_sealed
from tests.processes_live import Http, Server, Worker, environment, started, until

SEALED_LOG = re.compile(r"request (\d+) sealed \(grant \d+\)")


def _submit(alice: Http, seal_id: int, document: bytes) -> int:
    resp = alice.post("/api/v1/requests", data={
        "process": "contract_seal", "seal": str(seal_id),
        "data": json.dumps({"amount": 50000, "purpose": "采购合同"})},
        files={"document": ("contract.pdf", document, "application/pdf")})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _approve(who: Http, task: dict) -> dict:
    resp = who.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"decision": "approve", "comment": "同意"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _tasks(who: Http, count: int) -> list[dict]:
    tasks = who.get("/api/v1/tasks", params={"limit": 100}).json()
    assert len(tasks) == count, tasks
    return tasks


def _sealed_by(*processes) -> dict[str, list[int]]:
    """Which process logged sealing which request."""
    return {p.name: [int(m) for m in SEALED_LOG.findall(p.log())] for p in processes}


def _stored_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "documents").rglob("*.pdf"))


def test_the_web_takes_the_request_and_the_worker_seals_it(app, org, tmp_path):
    """`sealflow serve` with SEALFLOW_JOB_MODE=external never seals: `sealflow worker` does,
    and the sealed PDF comes back over HTTP, valid to pdfsig and pyHanko."""
    env = environment(app, JOB_MODE="external")
    web = Server(env, tmp_path / "serve.log")
    worker = Worker(env, tmp_path / "worker.log")
    with started(web, worker):
        alice, bob, carol = (Http(web.url, c.token) for c in (org.alice, org.bob, org.carol))
        document = make_pdf(pages=2, text="Purchase contract 2026-077")
        rid = _submit(alice, org.seal_id, document)
        _approve(bob, _tasks(bob, 1)[0])
        authorized = _approve(carol, _tasks(carol, 1)[0])["request"]
        assert authorized["status"] == "authorized", authorized

        def sealed() -> dict | None:
            worker.check_alive()
            body = alice.get(f"/api/v1/requests/{rid}").json()
            assert body["status"] in ("authorized", "sealed"), body
            return body if body["status"] == "sealed" else None

        body = until(sealed, timeout=120, what=f"request {rid} to be sealed by the worker")
        # Filed in the archive by the worker that sealed it (its filing lane, once sealing
        # is quiet), its text searchable.
        hits = until(lambda: alice.get("/api/v1/archive", params={"q": "2026-077"}).json(),
                     timeout=60, what=f"request {rid} to be filed")
        assert [hit["request_id"] for hit in hits] == [rid]
        download = alice.get(f"/api/v1/requests/{rid}/sealed")
        assert download.status_code == 200
        assert download.headers["Content-Type"] == "application/pdf"
        roots = [requests.get(f"{web.url}/pki/ca", timeout=30).content]
        logs = _sealed_by(web, worker)
    sealed_pdf = download.content
    assert sealed_pdf.startswith(document)  # an incremental update of the approved bytes
    assert body["sealed_document"]["sha256"] == hashlib.sha256(sealed_pdf).hexdigest()
    assert body["failure"] is None
    assert_sealed(sealed_pdf, roots)
    assert logs == {"sealflow serve": [], "sealflow worker": [rid]}


RACERS = 30


@pytest.fixture
def quota(app, org) -> int:
    """The seal may be used RACERS times in all, set as the administrator does."""
    out = app.test_cli_runner().invoke(
        args=["seal", "policy", str(org.seal_id), "--max-uses", str(RACERS)])
    assert out.exit_code == 0, out.output
    return RACERS


def test_the_web_and_two_workers_racing_seal_each_request_exactly_once(
        app, org, quota, tmp_path):
    """The last approvals of RACERS requests land together; the web seals right after each
    commit (job mode thread, two gunicorn workers) while two `sealflow worker` processes sweep
    every second for the same grants."""
    web = Server(environment(app, JOB_MODE="thread"), tmp_path / "serve.log")
    workers = [Worker(environment(app, JOB_MODE="external"), tmp_path / f"worker{n}.log",
                      name=f"sealflow worker {n}") for n in (1, 2)]
    with started(web, *workers):
        alice, bob, carol = (Http(web.url, c.token) for c in (org.alice, org.bob, org.carol))
        # Each document its own bytes, so each sealed file is one of its own.
        ids = [_submit(alice, org.seal_id, make_pdf(text=f"Contract 2026-{n:03d}"))
               for n in range(quota)]
        for task in _tasks(bob, quota):
            _approve(bob, task)
        with ThreadPoolExecutor(max_workers=10) as pool:
            finals = list(pool.map(lambda t: _approve(carol, t), _tasks(carol, quota)))
        assert {f["request"]["id"] for f in finals} == set(ids)

        def settled() -> list[dict] | None:
            for p in (web, *workers):
                p.check_alive()
            found = alice.get("/api/v1/requests", params={"limit": 100}).json()
            assert not [r for r in found if r["status"] == "failed"], found
            return found if all(r["status"] == "sealed" for r in found) else None

        found = until(settled, timeout=240, what=f"{quota} requests to be sealed", every=0.5)
        usage = carol.get(f"/api/v1/seals/{org.seal_id}/usage").json()
        logs = _sealed_by(web, *workers)
    print("sealed by:", {name: len(rids) for name, rids in logs.items()})

    assert sorted(r["id"] for r in found) == sorted(ids)
    assert usage["counters"]["total"] == quota
    with app.app_context():
        grants = db.session.execute(select(SigningGrant).where(
            SigningGrant.request_id.in_(ids))).scalars().all()
        assert len(grants) == quota
        assert {g.status for g in grants} == {GrantStatus.consumed}
        # Each grant leased once, so signed once: no process signed what another held.
        assert {g.attempts for g in grants} == {1}
        sealed_docs = {g.sealed_document_id for g in grants}
        assert None not in sealed_docs and len(sealed_docs) == quota
        reqs = db.session.execute(select(Request).where(Request.id.in_(ids))).scalars()
        assert {r.id: r.sealed_document_id for r in reqs} == {
            g.request_id: g.sealed_document_id for g in grants}
        # Documents: the RACERS originals and one sealed PDF each, in rows and in files.
        assert db.session.execute(select(func.count(Document.id))).scalar_one() == 2 * quota
        stored = {p.stem for p in _stored_files(Path(app.config["DATA_DIR"]))}
        rows = set(db.session.execute(select(Document.sha256)).scalars())
        assert stored == rows
        # Every counted period counts each use once.
        counters = dict(db.session.execute(select(SealUsage.period, SealUsage.used).where(
            SealUsage.seal_id == org.seal_id)).all())
        assert set(counters.values()) == {quota}, counters
        sealed_events = Counter(db.session.execute(select(AuditEvent.request_id).where(
            AuditEvent.action == "request.sealed")).scalars())
        assert sealed_events == dict.fromkeys(ids, 1)
        assert not db.session.execute(select(AuditEvent.request_id).where(
            AuditEvent.action.in_(("request.failed", "grant.dropped")))).first()
        # Three processes appended to the audit chain at once: it is whole.
        verified = audit_verify.verify(db.session)
        assert verified["ok"] is True, verified
    # Each request sealed by one process, whichever won its grant.
    assert sorted(sum(logs.values(), [])) == sorted(ids), logs
