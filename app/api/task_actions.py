"""Task actions, the API's side (the domain is processes/requests/task_actions.py, the
pages app/web/task_actions.py):
``/api/v1/tasks/<id>/return``, ``/delegate``, ``/add-approver``, ``/cc``."""

from flask import jsonify

from app.api import blueprint, commits, described, json_body
from app.api.tasks import RECENT_HISTORY
from app.context import identity
from app.extensions import db
from processes.requests import task_actions, views


@blueprint.post("/tasks/<task_id>/return")
@commits
def return_task(task_id: str):
    body = json_body()
    req = task_actions.send_back(db.session, identity(), task_id, to=body.get("to"),
                                 reason=body.get("reason"))
    return jsonify({"request": described(req, recent=RECENT_HISTORY)})


@blueprint.post("/tasks/<task_id>/delegate")
@commits
def delegate_task(task_id: str):
    body = json_body()
    task = task_actions.delegate(db.session, identity(), task_id, to=body.get("to"),
                                 reason=body.get("reason"))
    return jsonify(views.describe_task(task))


@blueprint.post("/tasks/<task_id>/add-approver")
@commits
def add_approver(task_id: str):
    body = json_body()
    task = task_actions.add_approver(db.session, identity(), task_id, user=body.get("user"),
                                     position=body.get("position"), reason=body.get("reason"))
    return jsonify(views.describe_task(task))


@blueprint.post("/tasks/<task_id>/cc")
@commits
def copy_task(task_id: str):
    body = json_body()
    copied = task_actions.copy_to(db.session, identity(), task_id, users=body.get("users"),
                                  note=body.get("note"))
    return jsonify({"copied": copied})
