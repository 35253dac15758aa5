"""Requests, the pages' side (the API is app/api/requests.py, the domain processes/requests/):
``/requests``, my requests, a new request, one request, its files, withdrawing it."""

import secrets
from dataclasses import replace
from datetime import datetime

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required

from app.api.requests import new_request_from_form
from app.context import env, identity
from app.errors import message_of, status_of
from app.extensions import db
from app.transactions import reads_first
from app.web import attempt, blueprint, data_fields
from app.web.present import STATUS_LABELS, localtime, problems_by_field, status_label
from processes.errors import SealflowError
from processes.flows import definitions
from processes.models import RequestStatus, SealStatus, utcnow
from processes.requests import (
    copies,
    holders,
    incidents,
    intake,
    queries,
    reminders,
    views,
    withdrawal,
)
from processes.requests.intake import NewRequest
from processes.seals import registry

PLACEMENT = ("page", "x", "y")


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


@blueprint.get("/requests/new")
@login_required
def new_request():
    copy_of = request.args.get("copy_of", type=int)
    if copy_of is not None:  # copy and resubmit: the form filled in as the copied request was
        prefill = copies.prefill_from(db.session, identity(), copy_of)
        return _new_request_page(prefill["business_type"] or prefill["process"],
                                 prefill=_form_values(prefill))
    return _new_request_page(request.args.get("business_type") or request.args.get("process"))


@blueprint.post("/requests/new")
@login_required
@reads_first
def create_request():
    # The form and its PDF are read, the request checked and its instance started, holding
    # no write lock; then the request is filed.
    new, error = attempt(_new_request, write=False)
    req = None
    if new is not None:
        prepared, error = attempt(lambda: intake.prepare(db.session, env(), identity(), new),
                                  write=False)
        if prepared is not None:
            req, error = attempt(lambda: intake.create(db.session, env(), identity(), new,
                                                       prepared))
    if error is not None or req is None:
        flash(message_of(error), "error")
        chosen = request.form.get("business_type") or request.form.get("process")
        return _new_request_page(chosen, error), status_of(error)
    flash(_("Request #%(id)s submitted", id=req.id), "success")
    return redirect(url_for("web.request_detail", request_id=req.id))


def _new_request() -> NewRequest:
    """The API's multipart fields (process, business_type, seal, document), with ``data`` and
    ``placement`` built from the page's individual inputs."""
    placement = {k: request.form.get(f"placement_{k}", "").strip() for k in PLACEMENT}
    placement = {k: v for k, v in placement.items() if v}
    return replace(new_request_from_form(), data=data_fields(), placement=placement or None,
                   idempotency_key=request.form.get("idempotency_key") or None)


def _choices() -> list[dict]:
    """What a requester picks: the business types (合同用印...), or the flows if none is mapped;
    only flows with a version not retired (which new requests start on)."""
    live = [f for f in definitions.listing(db.session) if f["current"]]
    types = definitions.business_types(db.session)
    if types:
        keys = {f["key"] for f in live}
        return [{"param": "business_type", "key": bt.key, "name": bt.name,
                 "process": bt.process_key} for bt in types if bt.process_key in keys]
    return [{"param": "process", "key": f["key"], "name": f["name"], "process": f["key"]}
            for f in live]


def _form_values(prefill: dict) -> dict[str, str]:
    """:func:`prefill_from` as the new-request form's inputs (``seal``, ``data.<id>``,
    ``placement_page``..., ``copy_of``), each a string."""
    values = {"copy_of": str(prefill["copy_of"]),
              "seal": "" if prefill["seal"] is None else str(prefill["seal"])}
    for key, value in (prefill["data"] or {}).items():
        if value is not None and not isinstance(value, dict | list):
            values[f"data.{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    for key, value in (prefill["placement"] or {}).items():
        values[f"placement_{key}"] = f"{value:g}" if isinstance(value, float) else str(value)
    return values


def _new_request_page(chosen: str | None, error: SealflowError | None = None,
                      prefill: dict | None = None):
    flows = _choices()
    choice = next((c for c in flows if c["key"] == chosen), flows[0] if flows else None)
    definition = definitions.current(db.session, choice["process"]) if choice else None
    # A lifecycle flow (resume, void...) may be for a suspended seal; the seal page links here
    # with the seal chosen.
    statuses = (SealStatus.active,) if definition is None or definition.seal_action is None \
        else (SealStatus.active, SealStatus.suspended)
    usable = [s for s in registry.listing(db.session) if s.status in statuses]
    values = request.form if error is not None else (
        prefill or {"seal": request.args.get("seal", "")})
    return render_template(
        "request_new.html", flows=flows, choice=choice, definition=definition, seals=usable,
        values=values, refilled=error is not None,
        problems=problems_by_field(error),
        # One key per filled-in form: a double submit returns the first request.
        idempotency_key=values.get("idempotency_key") or secrets.token_urlsafe(16))


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
def request_document(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=False)
    return send_file(path, mimetype="application/pdf", download_name=name)


@blueprint.get("/requests/<int:request_id>/sealed")
@login_required
def request_sealed(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=True)
    return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)
