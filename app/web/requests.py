"""Requests, the pages' side (the API is app/api/requests.py, the domain processes/requests/):
``/requests``, my requests, one request, its files, withdrawing it (a new request:
app/web/new_request.py)."""

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import env, identity
from app.errors import message_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import STATUS_LABELS, status_label
from processes.models import RequestStatus
from processes.requests import incidents, queries, views, withdrawal


@blueprint.get("/requests")
@login_required
def my_requests():
    who = identity()
    status = request.args.get("status") or None
    may_see_all = who.has_role("auditor")
    scope = "all" if may_see_all and request.args.get("scope") == "all" else None
    found = queries.listing(db.session, who, status=status, mine_only=scope != "all",
                             limit=200)
    return render_template("requests.html", requests=found, status=status,
                           statuses=STATUS_LABELS, scope=scope, may_see_all=may_see_all)


@blueprint.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    who = identity()
    req = queries.get_visible(db.session, who, request_id)
    return render_template("request.html", req=req, details=views.describe(db.session, req),
                           may_withdraw=req.requester_id == who.user.id and req.status in (
                               RequestStatus.running, RequestStatus.halted),
                           may_retry=who.has_role("admin") and req.status in (
                               RequestStatus.incident, RequestStatus.failed))


@blueprint.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw_request(request_id: int):
    _req, error = attempt(lambda: withdrawal.withdraw(db.session, identity(), request_id))
    if error is not None:
        flash(message_of(error), "error")
    else:
        flash(_("Request #%(id)s withdrawn", id=request_id), "success")
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
def request_document(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=False)
    return send_file(path, mimetype="application/pdf", download_name=name)


@blueprint.get("/requests/<int:request_id>/sealed")
@login_required
def request_sealed(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=True)
    return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)
