"""One unit of work per entry point: a failure inside an API call, a page's form POST, a CLI
command or a job step rolls back everything it wrote and drops what waited for its commit. The
signal that would have started the sealing job is never sent, not even by the next commit on the
same session, and the audit chain goes on from the last event committed.

Each entry point runs the same real work, then fails: carol gives the last approval of alice's
request, which authorizes it, writes its grant and queues ``grant_created`` (in the tests'
inline job mode the sealing job would then seal it). The entry point's calls run inside one app
context, so they share one database session, as the jobs of one sweep of ``sealflow worker``
do: a failure the entry point left to Flask's teardown would still be pending there, and the
next commit would write it and send its signal."""

from __future__ import annotations

import click
import pytest
from flask import Blueprint, request

from app.extensions import db
from app.jobs import runner
from app.transactions import commits
from app.web import attempt
from processes import audit_verify, signals
from processes.errors import NotAllowed, WorkflowStateError
from processes.people.directory import Identity, get_user
from processes.requests import tasks
from tests.conftest import approve, only_task, submit

ERRORS = {"fixable": lambda: WorkflowStateError("then a conflict the user can fix"),
          "not fixable": lambda: NotAllowed("then a refusal")}


def _last_approval_then(session, task_id: str, error: str):
    """The real last approval, by carol (authorized, grant written, signal queued); then the
    error named."""
    tasks.complete(session, Identity(get_user(session, "carol")), task_id, decision="approve",
                   comment="同意")
    raise ERRORS[error]()


@pytest.fixture
def entry_points(app):
    """An API view, a page's POST and a CLI command that do the work above, each through the
    app's own unit of work (registered before the app's first request)."""
    harness = Blueprint("uow_harness", __name__)

    @harness.post("/api/v1/uow-harness/<task_id>")
    @commits
    def api_view(task_id: str):
        _last_approval_then(db.session, task_id, "fixable")

    @harness.post("/uow-harness/<task_id>")
    def page_view(task_id: str):
        _result, error = attempt(lambda: _last_approval_then(db.session, task_id,
                                                             request.form["error"]))
        return f"the form again: {error.message}", 422

    app.register_blueprint(harness)

    from app.cli import transactional

    @click.command("uow-harness")
    @click.argument("task_id")
    @transactional
    def command(task_id: str) -> None:
        _last_approval_then(db.session, task_id, "fixable")

    app.cli.add_command(command)
    return app


@pytest.fixture
def granted(app):
    """The ids of the grants whose ``grant_created`` was sent."""
    sent: list[int] = []

    def receiver(_sender, grant_id, **_kw):
        sent.append(grant_id)

    signals.grant_created.connect(receiver, weak=False)
    yield sent
    signals.grant_created.disconnect(receiver)


def _waiting_for_carol(org, pdf) -> tuple[int, str]:
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    assert approve(org.bob).status_code == 200
    return rid, only_task(org.carol)["id"]


def _then_the_real_approval_seals_it(app, org, rid: int, task_id: str, granted: list[int]):
    """Nothing of the failed unit was written or sent; then carol's real approval, on the same
    session, seals the request (the signal is seen when it is due) and the audit chain holds."""
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "running"
    assert only_task(org.carol)["id"] == task_id
    assert granted == []
    assert approve(org.carol).status_code == 200
    assert len(granted) == 1
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "sealed"
    verdict = audit_verify.verify(db.session)
    assert verdict["ok"] is True, verdict


def test_a_failed_api_call_is_rolled_back_and_starts_no_job(entry_points, org, pdf, granted):
    rid, task_id = _waiting_for_carol(org, pdf)
    with entry_points.app_context():
        resp = org.carol.post(f"/api/v1/uow-harness/{task_id}")
        assert resp.status_code == 409, resp.get_json()
        assert org.alice.post("/api/v1/notices/read").status_code == 200  # the next commit
        _then_the_real_approval_seals_it(entry_points, org, rid, task_id, granted)


@pytest.mark.parametrize("error", ["fixable", "not fixable"])
def test_a_failed_form_post_is_rolled_back_and_starts_no_job(entry_points, org, pdf, granted,
                                                            error):
    rid, task_id = _waiting_for_carol(org, pdf)
    with entry_points.app_context():
        resp = entry_points.test_client().post(f"/uow-harness/{task_id}",
                                               data={"error": error})
        assert resp.status_code == (422 if error == "fixable" else 403)
        assert org.alice.post("/api/v1/notices/read").status_code == 200
        _then_the_real_approval_seals_it(entry_points, org, rid, task_id, granted)


def test_a_failed_cli_command_is_rolled_back_and_starts_no_job(entry_points, org, pdf,
                                                              granted):
    rid, task_id = _waiting_for_carol(org, pdf)
    with entry_points.app_context():
        out = entry_points.test_cli_runner().invoke(args=["uow-harness", task_id])
        assert out.exit_code == 1 and "then a conflict" in out.output
        assert org.alice.post("/api/v1/notices/read").status_code == 200
        _then_the_real_approval_seals_it(entry_points, org, rid, task_id, granted)


def test_a_failed_job_step_is_rolled_back_and_starts_no_job(app, org, pdf, granted):
    rid, task_id = _waiting_for_carol(org, pdf)
    jobs = runner(app)
    with app.app_context():
        assert jobs.run_step(lambda s: _last_approval_then(s, task_id, "not fixable"),
                             "approving %s", task_id) is False
        assert jobs.run_step(lambda s: None, "the next job step") is True
        _then_the_real_approval_seals_it(app, org, rid, task_id, granted)
