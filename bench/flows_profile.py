"""``bench/flows.py --profile``: one full flow's stages, in process, under cProfile.

The same set-up (CLI), then an in-process app (``create_app``, Flask test client, jobs left to
this script) runs ``--n`` flows stage by stage: creation, the first approval, the second, and
the sealing job (``app.jobs.seal_grant``, as the worker runs it). Each stage has a profiler of
its own; the report gives its ms per flow (inflated by profiling) and its top entries by
cumulative time, so the floor of a flow shows stage by stage."""

from __future__ import annotations

import cProfile
import io
import logging
import time
from pathlib import Path

import common
from common import BenchError, Database
from engine_flow import (
    CUSTODIAN,
    HEAD,
    NEXT_TASK,
    REQUESTER,
    first_task_id,
    request_form,
    setup_with_cli,
)
from flows_setup import make_pdf

STAGES = ("create", "approval 1", "approval 2", "sealing (worker)")


def run_profile(args, data_dir: Path, db: Database) -> None:
    env = common.app_env(data_dir, db)
    setup = setup_with_cli(env)
    setup.tokens[CUSTODIAN] = common.cli_token(env, CUSTODIAN)
    handler = logging.FileHandler(data_dir / "app.log")  # the app logs at INFO: to a file
    logging.getLogger().addHandler(handler)

    from sqlalchemy import select

    from app import create_app
    from app.context import env as app_env
    from app.extensions import db as flask_db
    from app.jobs import seal_grant
    from config import TestConfig
    from processes.models import SigningGrant

    class BenchConfig(TestConfig):
        def __init__(self) -> None:
            super().__init__(data_dir, db.url)
            self.SECRET_KEY, self.KEY_PASSPHRASE = common.SECRET_KEY, common.PASSPHRASE
            self.JOB_MODE = "external"

    app = create_app(BenchConfig())
    client = app.test_client()
    pdf = make_pdf(args.pages)
    auth = {name: {"Authorization": f"Bearer {token}"} for name, token in setup.tokens.items()}
    profilers = {stage: cProfile.Profile() for stage in STAGES}
    spent = dict.fromkeys(STAGES, 0.0)

    def timed(stage: str, call):
        t0 = time.perf_counter()
        profilers[stage].enable()
        try:
            return call()
        finally:
            profilers[stage].disable()
            spent[stage] += time.perf_counter() - t0

    def post(who: str, path: str, **kw):
        resp = client.post(path, headers=auth[who], **kw)
        if resp.status_code not in (200, 201):
            raise BenchError(f"POST {path}: {resp.status_code} {resp.data[:1000]!r}")
        return resp.get_json()

    def flow(i: int, profiled: bool) -> None:
        def run(stage, call):
            return timed(stage, call) if profiled else call()
        form = {**request_form(setup.seal_id), "document": (io.BytesIO(pdf), f"c-{i}.pdf")}
        created = run("create", lambda: post(REQUESTER, "/api/v1/requests", data=form,
                                             content_type="multipart/form-data"))
        body = run("approval 1", lambda: post(
            HEAD, f"/api/v1/tasks/{first_task_id(created)}/complete", json={"decision": "approve"}))
        second = [t["id"] for t in body["request"]["tasks"] if t["element_id"] == NEXT_TASK][0]
        run("approval 2", lambda: post(CUSTODIAN, f"/api/v1/tasks/{second}/complete",
                                       json={"decision": "approve"}))
        with app.app_context():
            grant_id = flask_db.session.execute(select(SigningGrant.id).where(
                SigningGrant.request_id == created["id"])).scalar_one()
            flask_db.session.rollback()
            if not run("sealing (worker)", lambda: seal_grant(flask_db.session, app_env(),
                                                               grant_id)):
                raise BenchError(f"request {created['id']} did not seal")
            flask_db.session.remove()

    for i in range(args.warmup):
        flow(-1 - i, profiled=False)
    for i in range(args.n):
        flow(i, profiled=True)
    with app.app_context():
        flask_db.session.remove()
        flask_db.engine.dispose()
    logging.getLogger().removeHandler(handler)

    print(f"\n== bench/flows.py --profile: {args.n} flows ({args.pages}-page PDF), stage by "
          f"stage, in process ==\nmachine  {common.machine()}\nload     {common.load_average()}"
          f"\ndatabase {db.kind}\ncode     {common.code_version()}")
    total = sum(spent.values())
    for stage in STAGES:
        print(f"  {stage:<18} {spent[stage] / args.n * 1000:7.1f} ms per flow (profiled)")
    print(f"  {'total':<18} {total / args.n * 1000:7.1f} ms per flow (profiled)")
    for stage in STAGES:
        common.print_profile(profilers[stage], (
            (f"{stage}: top {args.top} by cumulative", "cumulative", ()),
            (f"{stage}: top {args.top} by own time", "tottime", ())))
