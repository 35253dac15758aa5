"""Tasks, the pages' side (the API is app/api/tasks.py, the domain
processes/requests/tasks.py): ``/tasks/<id>``, one task with its request's document, flow and
history, and the forms that claim it and decide it (approve, reject, return for revision); after
a decision the next task of the inbox opens. Delegating, adding an approver and copying people
are app/web/task_actions.py."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import env, identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint, data_fields
from app.web.present import decision_label, problems_by_field
from processes.errors import InvalidContent, NotAllowed, SealflowError, msg
from processes.models import TaskStatus
from processes.people import choices
from processes.requests import inbox, inbox_lists, task_actions, tasks, views
from processes.requests.placement import DEFAULT_MARGIN, DEFAULT_SEAL_SIZE


@blueprint.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return task_page(task_id)


@blueprint.post("/tasks/<task_id>")
@login_required
def complete_task(task_id: str):
    """Approve, reject (a reason and a confirmation) or return for revision (a reason, and where
    to among the flow's return paths); then the next task of the inbox tab the task was opened
    from, or the inbox when none is left."""
    who = identity()
    decision = request.form.get("decision") or None
    comment = request.form.get("comment", "").strip() or None
    tab = inbox_tab()

    def decide():
        if decision == "return":
            req = task_actions.send_back(db.session, who, task_id,
                                         to=request.form.get("return_to") or None, reason=comment)
        else:
            if decision == "reject":  # a task no longer open says so first
                decided = tasks.get_visible(db.session, who, task_id)
                tasks.require_open(decided, decided.request)
                _check_rejection(comment)
            upload = request.files.get("document")
            revision = (tasks.Revision(env(), upload.read(), upload.filename)
                        if upload is not None and upload.filename else None)
            req = tasks.complete(
                db.session, who, task_id, decision=decision, comment=comment, data=data_fields(),
                revision=revision, seen_sha256=request.form.get("document_sha256") or None)
        following = inbox_lists.next_task(db.session, who.user,
                                          inbox_lists.InboxQuery(tab=tab), task_id)
        return req, (following.id if following is not None else None)

    result, error = attempt(decide)
    if error is not None or result is None:
        return refused(task_id, error, "decide")
    req, following = result
    done = decision_label(decision) if decision else _("Confirmed done")
    flash(_("%(done)s: request #%(id)s.", done=done, id=req.id) + " " + (
        _("The next task is open.") if following else _("No task is left in your inbox.")),
        "success")
    return onward(following, tab)


def _check_rejection(comment: str | None) -> None:
    """A rejection ends the request: it needs a reason and the box ticked that confirms it."""
    problems = []
    if not comment:
        problems.append({"field": "comment", "message": msg("say why you reject the request")})
    if request.form.get("confirm_reject") != "yes":
        problems.append({"field": "confirm_reject",
                         "message": msg("tick the box to confirm the rejection")})
    if problems:
        raise InvalidContent(msg("A rejection needs a reason and your confirmation."), problems)


@blueprint.post("/tasks/<task_id>/claim")
@login_required
def claim_task(task_id: str):
    _task, error = attempt(lambda: tasks.claim(db.session, identity(), task_id))
    if error is not None:
        return refused(task_id, error)
    flash(_("You claimed the task: only you can decide it now."), "success")
    return redirect(url_for("web.task", task_id=task_id, tab=request.form.get("tab") or None))


@blueprint.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim_task(task_id: str):
    _task, error = attempt(lambda: tasks.unclaim(db.session, identity(), task_id))
    if error is not None:
        return refused(task_id, error)
    flash(_("You released the task: its other candidates can take it again."), "success")
    return redirect(url_for("web.task", task_id=task_id, tab=request.form.get("tab") or None))


def refused(task_id: str, error: SealflowError | None, action: str | None = None):
    """The task page again, with the refusal's message and the refused form (``action``) open
    with what was entered."""
    assert error is not None
    flash(message_of(error), "error")
    return task_page(task_id, error=error, action=action), status_of(error)


def inbox_tab() -> str:
    """The inbox tab the task was opened from (``tab``), whose next task opens after it."""
    tab = request.values.get("tab") or "all"
    return tab if tab in inbox_lists.TABS else "all"


def onward(following: str | None, tab: str):
    """To the next task (of the same inbox tab), or to the inbox when none is left."""
    if following is None:
        return redirect(url_for("web.inbox"))
    return redirect(url_for("web.task", task_id=following, tab=None if tab == "all" else tab))


def task_page(task_id: str, error: SealflowError | None = None, action: str | None = None):
    """The task page; 404 if the user cannot see the request, 403 if they may not work an
    open task (the requester of the request, someone who is not a candidate), unless they are
    an admin (who may delegate it, add approvers and copy people, not decide it). ``action``: the
    form that was refused (``decide``, ``delegate``, ``add_approver``, ``cc``), shown open with
    what was entered and the problems beside its fields."""
    who = identity()
    task = tasks.get_visible(db.session, who, task_id)
    req = task.request
    is_open = task.status == TaskStatus.open
    may_work = is_open
    if is_open:
        try:
            inbox.check_may_work(db.session, who.user, task, req)
        except NotAllowed:
            # an admin may delegate, add approvers and copy people, not decide for others
            if not who.has_role("admin"):
                raise
            may_work = False
    meta = req.process.tasks.get(task.element_id) or {}
    details = views.describe(db.session, req)
    # a task the deploy kept nothing of is a manual task of a flow deployed before manual
    # tasks were offered to people
    manual = bool(meta.get("manual", not meta))
    may_act = is_open and not manual and not task.requester_may_work
    return render_template(
        "task.html", task=task, req=req, is_open=is_open, may_work=may_work, details=details,
        # an added approver's task (加签) takes a decision and a comment only
        form=[] if task.parent_id else meta.get("form", []),
        return_targets=task_actions.return_targets(task), manual=manual, may_act=may_act,
        may_delegate=may_act and task.parent_id is None,  # and add approvers to
        people=choices.active_people(db.session, but=who.user.id) if may_act else [],
        tab=inbox_tab(), overdue=is_open and inbox_lists.describe_row(task)["overdue"],
        seal_square={"margin": DEFAULT_MARGIN, "size": DEFAULT_SEAL_SIZE},
        values=request.form if error is not None else {}, action=action,
        problems=problems_by_field(error))
