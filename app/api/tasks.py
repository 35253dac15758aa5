"""Tasks, the API's side (the pages are app/web/tasks.py, the domain
processes/requests/tasks.py): ``/api/v1/tasks``, claim, unclaim, complete."""

from flask import jsonify, request

from app.api import (
    blueprint,
    commits,
    described,
    int_arg,
    json_body,
    page_args,
    parse_json,
    task_batches,
)
from app.context import env, identity
from app.extensions import db
from processes.errors import BadInput, msg
from processes.requests import inbox_lists, tasks, views

RECENT_HISTORY = 20


def _inbox_query() -> inbox_lists.InboxQuery:
    """The tab, filters, search, sort and page of the query string (docs/api.md)."""
    limit, offset = page_args()
    args = request.args
    return inbox_lists.InboxQuery(
        tab=args.get("tab") or "all", business_type=args.get("business_type") or None,
        seal_id=int_arg(args.get("seal"), "seal", low=1), requester=args.get("requester") or None,
        due=args.get("due") or None, q=args.get("q") or None, sort=args.get("sort") or None,
        limit=limit, offset=offset)


def _describe(task) -> dict:
    return views.describe_task(task) | inbox_lists.describe_row(task)


@blueprint.get("/tasks")
def list_tasks():
    """A page of one inbox tab as a list (as before), its total in ``X-Total-Count``."""
    page = inbox_lists.tasks_page(db.session, identity().user, _inbox_query())
    response = jsonify([_describe(t) for t in page.tasks])
    response.headers["X-Total-Count"] = str(page.total)
    return response


@blueprint.get("/tasks/counts")
def task_counts():
    return jsonify(inbox_lists.tab_counts(db.session, identity().user))


@blueprint.get("/tasks/next")
def next_task():
    found = inbox_lists.next_task(db.session, identity().user, _inbox_query(),
                                  request.args.get("after") or None)
    return jsonify({"task": _describe(found) if found is not None else None})


@blueprint.post("/tasks/bulk-complete")
def bulk_complete():
    """Approve several tasks, each in a transaction of its own: one failing undoes no other."""
    ids, comment = task_batches.parse(json_body())
    return jsonify({"results": [task_batches.approve_one(identity(), task_id, comment)
                                for task_id in ids]})


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
                raise BadInput(msg("data is not usable JSON: %(error)s", error=exc)) from None
    else:
        body = json_body()
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadInput(msg("data must be a JSON object"))
    upload = request.files.get("document")
    revision = tasks.Revision(env(), upload.read(), upload.filename) if upload else None
    req = tasks.complete(db.session, who, task_id, decision=body.get("decision"),
                         comment=body.get("comment"), data=data, revision=revision,
                         seen_sha256=body.get("document_sha256"))
    # The latest history only: GET /api/v1/requests/<id> has all of it.
    return jsonify({"request": described(req, recent=RECENT_HISTORY)})
