"""``/admin/incidents`` (administrators; the domain is processes/requests/incidents.py): the
requests of every flow stopped by an incident or a failed sealing, with the reason, and
retrying one (an incident's variable corrected first if need be, as on a flow's page)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.api import parse_json
from app.context import identity
from app.errors import message_of, translate
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import status_label
from processes.requests import incidents


@blueprint.get("/admin/incidents")
@login_required
def admin_incidents():
    found, total, page = incidents.stopped(db.session, identity(),
                                           request.args.get("page", 1, type=int))
    pages = max(1, -(-total // incidents.PER_PAGE))
    return render_template("admin_incidents.html", found=found, total=total, page=page,
                           pages=pages)


@blueprint.post("/admin/incidents/<int:request_id>/retry")
@login_required
def retry_stopped(request_id: int):
    who = identity()
    name = request.form.get("variable", "").strip()
    corrections = {name: corrected_value(request.form.get("value", ""))} if name else None
    req, error = attempt(lambda: incidents.retry(db.session, who, request_id, corrections))
    flash_retried(request_id, req, error)
    return redirect(url_for("web.admin_incidents"))


def flash_retried(request_id: int, req, error) -> None:
    """What a retry came to, flashed (here and on a flow's page, /processes/<key>)."""
    if error is not None or req is None:
        flash(message_of(error) if error else "", "error")
    elif req.status.value == "incident":
        flash(_("Request #%(id)s stopped again: %(failure)s", id=request_id,
                failure=translate(req.failure_reason)),
              "error")
    else:
        flash(_("Request #%(id)s retried: now %(status)s", id=request_id,
                status=status_label(req.status)), "success")


def corrected_value(text: str):
    """A corrected variable's value as typed: JSON (a number, true, "text"...), else the text
    (as a flow's incidents on /processes/<key> read it)."""
    try:
        return parse_json(text)
    except ValueError:
        return text
