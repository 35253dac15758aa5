"""Tasks, the pages' side (the API is app/api/tasks.py, the domain
processes/requests/tasks.py): ``/tasks/<id>``, one task, its request, and the form that
completes it."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import env, identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint, data_fields
from app.web.present import decision_label, problems_by_field
from processes.errors import SealflowError
from processes.models import TaskStatus
from processes.requests import inbox, tasks, views


@blueprint.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return _task_page(task_id)


@blueprint.post("/tasks/<task_id>")
@login_required
def complete_task(task_id: str):
    decision = request.form.get("decision")
    upload = request.files.get("document")
    revision = (tasks.Revision(env(), upload.read(), upload.filename)
                if upload is not None and upload.filename else None)
    req, error = attempt(lambda: tasks.complete(
        db.session, identity(), task_id, decision=decision,
        comment=request.form.get("comment", "").strip() or None, data=data_fields(),
        revision=revision, seen_sha256=request.form.get("document_sha256") or None))
    if error is not None:
        flash(message_of(error), "error")
        return _task_page(task_id, error=error), status_of(error)
    done = decision_label(decision) if decision else _("Confirmed done")
    flash(_("Submitted: %(done)s · request #%(id)s", done=done, id=req.id), "success")
    return redirect(url_for("web.request_detail", request_id=req.id))


def _task_page(task_id: str, error: SealflowError | None = None):
    """The task page; 404 if the user cannot see the request, 403 if they may not work an
    open task (the requester of the request, someone who is not a candidate)."""
    who = identity()
    task = tasks.get_visible(db.session, who, task_id)
    req = task.request
    is_open = task.status == TaskStatus.open
    if is_open:
        inbox.check_may_work(db.session, who.user, task, req)
    meta = req.process.tasks.get(task.element_id) or {}
    return render_template("task.html", task=task, req=req, is_open=is_open,
                           form=meta.get("form", []), can_return=meta.get("can_return", False),
                           # a task the deploy kept nothing of is a manual task of a flow
                           # deployed before manual tasks were offered to people
                           manual=meta.get("manual", not meta),
                           details=views.describe(db.session, req),
                           values=request.form if error is not None else {},
                           problems=problems_by_field(error))
