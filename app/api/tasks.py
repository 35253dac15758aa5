"""Tasks, the API's side (the pages are app/web/tasks.py, the domain
processes/requests/tasks.py): ``/api/v1/tasks``, claim, unclaim, complete."""

from flask import jsonify, request

from app.api import blueprint, commits, json_body, page_args, parse_json
from app.context import env, identity
from app.extensions import db
from processes.errors import BadInput
from processes.requests import inbox, tasks, views

RECENT_HISTORY = 20


@blueprint.get("/tasks")
def list_tasks():
    who = identity()
    limit, offset = page_args()
    found = inbox.open_tasks(db.session, who.user, limit=limit, offset=offset)
    return jsonify([views.describe_task(t) for t in found])


@blueprint.get("/tasks/<task_id>")
def get_task(task_id: str):
    return jsonify(views.describe_task(tasks.get_visible(db.session, identity(), task_id)))


@blueprint.post("/tasks/<task_id>/claim")
@commits
def claim_task(task_id: str):
    task = tasks.claim(db.session, identity(), task_id)
    return jsonify(views.describe_task(task))


@blueprint.post("/tasks/<task_id>/unclaim")
@commits
def unclaim_task(task_id: str):
    task = tasks.unclaim(db.session, identity(), task_id)
    return jsonify(views.describe_task(task))


@blueprint.post("/tasks/<task_id>/complete")
@commits
def complete_task(task_id: str):
    who = identity()
    if request.mimetype == "multipart/form-data" or request.form:
        body = dict(request.form)
        if "data" in body:
            try:
                body["data"] = parse_json(body["data"])
            except ValueError as exc:
                raise BadInput(f"data is not usable JSON: {exc}") from None
    else:
        body = json_body()
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadInput("data must be a JSON object")
    upload = request.files.get("document")
    revision = tasks.Revision(env(), upload.read(), upload.filename) if upload else None
    req = tasks.complete(db.session, who, task_id, decision=body.get("decision"),
                         comment=body.get("comment"), data=data, revision=revision,
                         seen_sha256=body.get("document_sha256"))
    # The latest history only: GET /api/v1/requests/<id> has all of it.
    return jsonify({"request": views.describe(db.session, req, recent=RECENT_HISTORY)})
