"""The inbox, the pages' side (its lists are processes/requests/inbox_lists.py, who may work a
task processes/requests/inbox.py, the API app/api/tasks.py): ``/`` and ``/inbox``, a tab of
tasks with every tab's count, filters, search, sort and pages, all in the address (it works
without JavaScript); claiming and unclaiming a task from it; approving the selected tasks, each
in a transaction of its own, with a result per task; the unread notices, and their count in the
top bar of every page."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from app.api import int_arg, task_batches
from app.context import identity
from app.errors import message_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import request_title
from processes import notices
from processes.errors import BadInput
from processes.flows import definitions
from processes.models import utcnow
from processes.requests import inbox_lists, queries, tasks
from processes.seals import registry

logger = logging.getLogger(__name__)

PER_PAGE = 20
VIEW = ("tab", "business_type", "seal", "requester", "due", "q", "sort", "page")
"""The query parameters of a view of the inbox (the claim and bulk forms carry them along)."""
FILTERS = ("business_type", "seal", "requester", "due", "q")
MORE = ("business_type", "seal", "requester", "due", "sort")
"""The parameters under "Filters and order" (open when one is set)."""
WORKABLE = ("all", "mine", "groups", "claimed")
"""The tabs whose tasks the user may work now: claim, unclaim and select them."""
LATEST_REQUESTS = 5


@blueprint.get("/")
def index():
    return redirect(url_for("web.inbox"))


@blueprint.get("/inbox")
@login_required
def inbox():
    return _inbox_page(_view(request.args))


def _view(args: MultiDict[str, str]) -> dict[str, str]:
    """The view's parameters that are set, stripped."""
    found = {name: (args.get(name) or "").strip() for name in VIEW}
    return {name: value for name, value in found.items() if value}


def _query(view: dict[str, str]) -> inbox_lists.InboxQuery:
    """The view as the domain's query; BadInput for a value it does not take."""
    page = int_arg(view.get("page"), "page", default=1, low=1, high=100_000) or 1
    return inbox_lists.InboxQuery(
        tab=view.get("tab", "all"), business_type=view.get("business_type"),
        seal_id=int_arg(view.get("seal"), "seal", low=1), requester=view.get("requester"),
        due=view.get("due"), q=view.get("q"), sort=view.get("sort"),
        limit=PER_PAGE, offset=(page - 1) * PER_PAGE)


def _inbox_page(view: dict[str, str], *, results: list[dict] | None = None,
                comment: str = "", status: int = 200):
    who = identity()
    try:
        query = _query(view)
    except BadInput as exc:  # a hand-made address: say so, and show the inbox as it is
        flash(message_of(exc), "error")
        view, query = {}, inbox_lists.InboxQuery(limit=PER_PAGE)
    found = inbox_lists.tasks_page(db.session, who.user, query, counts=True)
    filtered = any(view.get(name) for name in FILTERS)
    # An empty tab (a requester's, most often) shows their latest requests instead.
    latest = (queries.listing(db.session, who, mine_only=True, limit=LATEST_REQUESTS)
              if not found.tasks and not filtered and query.offset == 0 else [])
    pages = max(1, -(-found.total // PER_PAGE))
    return render_template(
        "inbox.html", view=view, query=query, tasks=found.tasks, total=found.total,
        counts=found.counts, page=query.offset // PER_PAGE + 1, pages=pages,
        filtered=filtered, more_open=any(view.get(name) for name in MORE),
        workable=query.tab in WORKABLE, latest=latest,
        types={t.key: t.name for t in definitions.business_types(db.session)},
        seals=registry.names(db.session), results=results, comment=comment,
        notices=notices.mine(db.session, who.user, unread_only=True, limit=20),
        task_view={k: v for k, v in view.items() if k != "page"}, now=utcnow(),
        href=_href), status


def _href(view: dict[str, str], **changes: Any) -> str:
    """The inbox's address for ``view`` with ``changes`` (None removes a parameter)."""
    args = {**view, **changes}
    query = urlencode({k: v for k, v in args.items() if v})  # None, "" or undefined: left out
    return url_for("web.inbox") + ("?" + query if query else "")


def _back() -> Any:
    """Back to the view the form was sent from (its parameters are the form's)."""
    return redirect(_href(_view(request.form)))


@blueprint.post("/inbox/tasks/<task_id>/claim")
@login_required
def inbox_claim(task_id: str):
    return _task_action(task_id, tasks.claim, _("Claimed: only you can work it now."))


@blueprint.post("/inbox/tasks/<task_id>/unclaim")
@login_required
def inbox_unclaim(task_id: str):
    return _task_action(task_id, tasks.unclaim, _("Released: others can work it again."))


def _task_action(task_id: str, action: Any, done: str):
    """Claim or unclaim, then back to the inbox saying what happened; a task decided or
    released meanwhile is said there too. One the user may not touch is the error page (403,
    or 404 when they may not see it)."""
    _task, error = attempt(lambda: action(db.session, identity(), task_id))
    flash(message_of(error) if error is not None else done,
          "error" if error is not None else "success")
    return _back()


@blueprint.post("/inbox/approve")
@login_required
def inbox_bulk_approve():
    """Approve the selected tasks, each in a unit of work of its own (as
    ``POST /api/v1/tasks/bulk-complete``): the page lists each one's result."""
    view = _view(request.form)
    ids = list(dict.fromkeys(request.form.getlist("task")))
    comment = request.form.get("comment", "").strip()
    refusal = None
    if not ids:
        refusal = _("Select the tasks to approve first.")
    elif len(ids) > task_batches.MAX_TASKS:
        refusal = _("At most %(most)s tasks can be approved at once.",
                    most=task_batches.MAX_TASKS)
    else:
        try:
            ids, _comment = task_batches.parse({"tasks": ids, "comment": comment or None})
        except BadInput as exc:
            refusal = message_of(exc)
    if refusal is not None:
        flash(refusal, "error")
        return _inbox_page(view, comment=comment, status=400)
    who = identity()
    names = {task_id: _name(task) for task_id, task in
             inbox_lists.workable(db.session, who.user, ids).items()}
    results = []
    for task_id in ids:
        result = task_batches.approve_one(who, task_id, comment or None)
        results.append({**result, "name": names.get(task_id)})
    approved = sum(1 for r in results if r["ok"])
    flash(_("%(approved)s of %(asked)s approved.", approved=approved, asked=len(ids)),
          "success" if approved == len(ids) else "error")
    return _inbox_page(view, results=results)


def _name(task: Any) -> dict[str, Any]:
    """What a bulk result names a task by (read before approving it)."""
    return {"request_id": task.request_id, "title": request_title(task.request),
            "step": task.name}


@blueprint.post("/notices/read")
@login_required
def read_notices():
    attempt(lambda: notices.mark_read(db.session, identity().user))
    return _back()


@blueprint.post("/notices/<int:notice_id>/read")
@login_required
def read_notice(notice_id: int):
    attempt(lambda: notices.mark_read(db.session, identity().user, notice_id))
    return _back()


@blueprint.app_template_global()
def unread_notices() -> int:
    """How many unread notices the logged-in user has (the top bar's badge): one count on an
    index, once per page."""
    if "sealflow_unread" not in g:
        g.sealflow_unread = 0
        if current_user.is_authenticated:
            try:
                g.sealflow_unread = notices.unread_count(db.session, identity().user)
            except SQLAlchemyError:  # an error page after a failed statement: no badge
                logger.warning("the unread notices could not be counted", exc_info=True)
    return g.sealflow_unread
