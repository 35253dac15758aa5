"""The flows pages (designers, managers, admins; the API is app/api/processes.py and
app/api/process_versions.py, the domain processes/flows/): ``/processes``, one flow's versions
with their history, instances and incidents, retiring a version, and the business types."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.admin_incidents import corrected_value, flash_retried
from processes.design import catalog, manage
from processes.errors import NotAllowed, msg
from processes.flows import definitions
from processes.people.directory import Identity
from processes.requests import incidents

STUDIO_ROLES = ("designer", "manager")


def studio_identity() -> Identity:
    """The caller, if the flows pages are theirs (designers, managers, admins)."""
    who = identity()
    if not who.has_role(*STUDIO_ROLES):
        raise NotAllowed(msg("the flows pages are for process designers, managers and admins"))
    return who


@blueprint.get("/processes")
@login_required
def processes():
    studio_identity()
    return render_template("processes.html", flows=catalog.flows(db.session))


@blueprint.get("/processes/business-types")
@login_required
def business_types():
    who = studio_identity()
    return render_template("business_types.html", types=definitions.business_types(db.session),
                           flows=catalog.flows(db.session), may_map=who.has_role("manager"),
                           values={})


@blueprint.post("/processes/business-types")
@login_required
def map_business_type():
    who = studio_identity()
    form = request.form
    key, process = form.get("key", ""), form.get("process", "")
    bt, error = attempt(lambda: manage.map_business_type(
        db.session, who, key, process, form.get("name")))
    if error is not None or bt is None:
        assert error is not None
        flash(message_of(error), "error")
        return render_template(
            "business_types.html", types=definitions.business_types(db.session),
            flows=catalog.flows(db.session), may_map=True, values=form), status_of(error)
    flash(_("Business type %(key)s now routes to %(flow)s", key=bt.key, flow=bt.process_key),
          "success")
    return redirect(url_for("web.business_types"))


@blueprint.get("/processes/<key>")
@login_required
def process_detail(key: str):
    who = studio_identity()
    return render_template("process.html", flow=catalog.flow(db.session, key),
                           may_retire=who.has_role("manager"), may_retry=who.has_role("admin"))


@blueprint.post("/processes/<key>/versions/<int:version>/retire")
@login_required
def retire_version(key: str, version: int):
    who = studio_identity()
    _done, error = attempt(lambda: manage.retire(db.session, who, key, version))
    if error is not None:
        flash(message_of(error), "error")
    else:
        flash(_("Version %(version)s is retired; running requests finish on it", version=version),
              "success")
    return redirect(url_for("web.process_detail", key=key))


@blueprint.post("/processes/<key>/versions/<int:version>/reinstate")
@login_required
def reinstate_version(key: str, version: int):
    who = studio_identity()
    _done, error = attempt(lambda: manage.reinstate(db.session, who, key, version))
    if error is not None:
        flash(message_of(error), "error")
    else:
        flash(_("Version %(version)s is in use again", version=version), "success")
    return redirect(url_for("web.process_detail", key=key))


@blueprint.post("/processes/<key>/incidents/<int:request_id>/retry")
@login_required
def retry_incident(key: str, request_id: int):
    who = studio_identity()
    name = request.form.get("variable", "").strip()
    corrections = {name: corrected_value(request.form.get("value", ""))} if name else None
    req, error = attempt(lambda: incidents.retry(db.session, who, request_id, corrections,
                                                        process_key=key))
    flash_retried(request_id, req, error)
    return redirect(url_for("web.process_detail", key=key))
