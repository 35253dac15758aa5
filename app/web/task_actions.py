"""The task page's other actions (the domain is processes/requests/task_actions.py, the API
app/api/task_actions.py): delegate (转办), add an approver before or after me (加签), copy people
on the request (抄送). Each is a form POST with one commit; a refusal shows the task page again
with the form open, what was entered kept and the reason beside its field."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import identity
from app.extensions import db
from app.web import attempt, blueprint
from app.web.tasks import inbox_tab, onward, refused
from processes.people import choices
from processes.requests import inbox_lists, task_actions


@blueprint.post("/tasks/<task_id>/delegate")
@login_required
def delegate_task(task_id: str):
    """转办: the task goes to the person chosen; then my next task opens."""
    who = identity()
    tab = inbox_tab()
    to = request.form.get("to", "").strip()

    def hand_over():
        task = task_actions.delegate(db.session, who, task_id, to=to,
                                     reason=request.form.get("reason"))
        following = inbox_lists.next_task(db.session, who.user,
                                          inbox_lists.InboxQuery(tab=tab), task_id)
        return (task.request_id, choices.labelled(db.session, [to])[0],
                following.id if following is not None else None)

    result, error = attempt(hand_over)
    if error is not None or result is None:
        return refused(task_id, error, "delegate")
    request_id, person, following = result
    flash(_("Request #%(id)s's task was delegated to %(to)s.", id=request_id, to=person),
          "success")
    return onward(following, tab)


@blueprint.post("/tasks/<task_id>/add-approver")
@login_required
def add_approver(task_id: str):
    """加签: the person chosen approves before me (I decide once they have) or after me."""
    user = request.form.get("user", "").strip()
    position = request.form.get("position")

    def add() -> str:
        task_actions.add_approver(db.session, identity(), task_id, user=user,
                                  position=position, reason=request.form.get("reason"))
        return choices.labelled(db.session, [user])[0]

    person, error = attempt(add)
    if error is not None:
        return refused(task_id, error, "add_approver")
    flash(_("%(user)s approves before you: you decide once they have.", user=person)
          if position == "before" else
          _("%(user)s approves after you, before the flow goes on.", user=person), "success")
    return redirect(url_for("web.task", task_id=task_id, tab=request.form.get("tab") or None))


@blueprint.post("/tasks/<task_id>/cc")
@login_required
def copy_task(task_id: str):
    """抄送: the people chosen are told, and may read the request; they decide nothing."""
    users = [u.strip() for u in request.form.getlist("users") if u.strip()]

    def copy() -> list[str]:
        names = task_actions.copy_to(db.session, identity(), task_id, users=users,
                                     note=request.form.get("note"))
        return choices.labelled(db.session, names)

    copied, error = attempt(copy)
    if error is not None:
        return refused(task_id, error, "cc")
    flash(_("Copied to %(people)s.", people=", ".join(copied)) if copied
          else _("They were copied on this request already."), "success")
    return redirect(url_for("web.task", task_id=task_id, tab=request.form.get("tab") or None))
