"""Requests, the pages' side (the API is app/api/requests.py, the domain processes/requests/):
``/requests``, my requests, one request, its files, withdrawing it, reminding its holders,
copying it (a new request: app/web/new_request.py)."""

from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required

from app.context import env, identity
from app.errors import message_of, status_of
from app.extensions import db
from app.transactions import commits, fetched, writes
from app.web import attempt, blueprint
from app.web.present import STATUS_LABELS, localtime, problems_by_field, status_label
from processes.models import RequestStatus, utcnow
from processes.requests import (
    copies,
    holders,
    incidents,
    queries,
    reminders,
    shares,
    views,
    withdrawal,
)

PER_PAGE = 20
MAX_PAGE = 10_000  # an offset the database can hold, far past any real list
SORT_LABELS = {"newest": _l("Newest first"), "oldest": _l("Oldest first"),
               "updated": _l("Last changed first")}


@blueprint.get("/requests")
@login_required
def my_requests():
    who = identity()
    status = request.args.get("status") or None
    sort = request.args.get("sort") if request.args.get("sort") in SORT_LABELS else "newest"
    search = (request.args.get("q") or "").strip()[:200]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    may_see_all = who.has_role("auditor")
    scope = "all" if may_see_all and request.args.get("scope") == "all" else None
    found = queries.listing(db.session, who, status=status, mine_only=scope != "all",
                             search=search or None, sort=sort, limit=PER_PAGE + 1,
                             offset=(page - 1) * PER_PAGE)
    shown = found[:PER_PAGE]
    return render_template("requests.html", requests=shown, status=status,
                           statuses=STATUS_LABELS, scope=scope, may_see_all=may_see_all,
                           steps=holders.current_steps(db.session, [r.id for r in shown]),
                           q=search, sort=sort, sorts=SORT_LABELS, page=page,
                           has_next=len(found) > PER_PAGE)


@blueprint.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    return _request_page(request_id)


def _request_page(request_id: int, reason: str = "", problems: dict | None = None,
                  status: int = 200):
    """One request; ``reason`` and ``problems``: a refused withdrawal's, shown again."""
    who = identity()
    req = queries.get_visible(db.session, who, request_id)
    details = views.describe(db.session, req)
    mine = req.requester_id == who.user.id
    done = [a for a in details.get("actions", []) if a["kind"] in ("withdraw", "remind")]
    reminded = [a["at"] for a in done if a["kind"] == "remind"]
    next_remind = None
    if reminded:
        after = datetime.fromisoformat(reminded[-1]) + reminders.INTERVAL
        next_remind = after if after > utcnow() else None
    return render_template(
        "request.html", req=req, details=details,
        may_withdraw=mine and req.status in (RequestStatus.running, RequestStatus.halted),
        may_retry=who.has_role("admin") and req.status in (
            RequestStatus.incident, RequestStatus.failed),
        may_remind=mine and req.status == RequestStatus.running and bool(details["tasks"]),
        next_remind=next_remind, may_copy=copies.may_copy(who, req),
        holding={step.task_id: step
                 for step in holders.current_steps(db.session, [req.id]).get(req.id, [])},
        withdrawal=next((a for a in reversed(done) if a["kind"] == "withdraw"), None),
        halt=queries.halt_reason(db.session, req) if req.status == RequestStatus.halted
        else None,
        # The page asks the API for the request's status (app/static/request.js) and reloads
        # when it changes: every 3 s while it waits for its seal, every 15 s while it waits
        # for its approvers.
        poll_ms={RequestStatus.authorized: 3000, RequestStatus.halted: 3000,
                 RequestStatus.running: 15000}.get(req.status),
        shares=shares.listing(db.session, req.id) if req.sealed_document_id else None,
        share_until=(utcnow() + timedelta(days=30)).date().isoformat(),
        reason=reason, problems=problems or {}), status


@blueprint.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw_request(request_id: int):
    reason = request.form.get("reason", "")
    _req, error = attempt(lambda: withdrawal.withdraw(db.session, identity(), request_id,
                                                      reason))
    if error is not None:
        flash(message_of(error), "error")
        return _request_page(request_id, reason, problems_by_field(error), status_of(error))
    flash(_("Request #%(id)s withdrawn", id=request_id), "success")
    return redirect(url_for("web.request_detail", request_id=request_id))


@blueprint.post("/requests/<int:request_id>/remind")
@login_required
def remind_request(request_id: int):
    told, error = attempt(lambda: reminders.remind(db.session, identity(), request_id))
    if isinstance(error, reminders.TooSoon):
        flash(_("A reminder was sent less than an hour ago; you may send the next one at "
                "%(at)s.", at=localtime(error.next_at)), "error")
    elif error is not None:
        flash(message_of(error), "error")
    else:
        flash(ngettext("Reminder sent to %(num)s person.", "Reminder sent to %(num)s people.",
                       told or 0), "success")
    return redirect(url_for("web.request_detail", request_id=request_id))


@blueprint.post("/requests/<int:request_id>/retry")
@login_required
def retry_request(request_id: int):
    req, error = attempt(lambda: incidents.retry(db.session, identity(), request_id))
    if error is not None:
        flash(message_of(error), "error")
    else:
        flash(_("Request #%(id)s retried: now %(status)s", id=request_id,
                status=status_label(req.status)), "success")
    return redirect(url_for("web.request_detail", request_id=request_id))


@blueprint.get("/requests/<int:request_id>/document")
@login_required
@writes
@commits
def request_document(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=False,
                                  record=fetched())
    return send_file(path, mimetype="application/pdf", download_name=name)


@blueprint.get("/requests/<int:request_id>/sealed")
@login_required
@writes
@commits
def request_sealed(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=True,
                                  record=fetched())
    return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)
