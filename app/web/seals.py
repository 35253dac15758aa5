"""Seals, the pages' side (the API is app/api/seals.py, the domain processes/seals/):
``/seals``, the organisation's seals, their images, and one seal's page."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.api.seals import MAX_CERTIFICATE_BYTES, csr_download
from app.context import env, identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import problems_by_field, seal_status_label
from processes.errors import SealflowError
from processes.flows import definitions
from processes.models import SealStatus
from processes.seals import (
    administration,
    authority,
    external_ca,
    lifecycle,
    registry,
    usage_log,
)


@blueprint.get("/seals")
@login_required
def seals():
    who = identity()
    return render_template("seals.html", seals=registry.listing(db.session),
                           may_ask=administration.manages_seals(db.session, who),
                           may_read_usage=bool(usage_log.readable_seals(db.session, who)))


@blueprint.get("/seals/<int:seal_id>")
@login_required
def seal_detail(seal_id: int):
    return seal_page(seal_id)


def seal_page(seal_id: int, error: SealflowError | None = None, form: str = ""):
    """The seal's page; after a refused form (``form`` names it), with the values entered and
    the problems by field, answered with the error's status."""
    seal = registry.get_seal(db.session, seal_id)
    who = identity()
    page = render_template(
        "seal.html", **lifecycle.seal_view(db.session, who, seal),
        is_admin=who.has_role("admin"), is_seal_admin=who.has_role("seal_admin"),
        change_flow=authority.flow_start(db.session, "change"),
        type_names={t.key: t.name for t in definitions.business_types(db.session)},
        values=request.form if error is not None else {}, form=form,
        problems=problems_by_field(error))
    return (page, status_of(error)) if error is not None else page


@blueprint.post("/seals/<int:seal_id>/status")
@login_required
def seal_transition(seal_id: int):
    """Suspend, resume, void or revoke, with the reason (recorded like every transition)."""
    target = request.form.get("to", "")
    if target not in {s.value for s in SealStatus}:
        flash(_("Unknown status"), "error")
        return redirect(url_for("web.seal_detail", seal_id=seal_id))
    who = identity()
    seal = lifecycle.managed_seal(db.session, who, seal_id)  # who first: see app/api/seals.py
    _seal, error = attempt(lambda: administration.transition(
        db.session, who, seal, SealStatus(target), reason=request.form.get("reason", ""),
        typed_name=request.form.get("confirm_name")))
    if error is not None:
        flash(message_of(error), "error")
        if SealStatus(target) in administration.IRREVERSIBLE:
            return seal_page(seal_id, error, "irreversible")
    else:
        flash(_("The seal is now %(status)s", status=seal_status_label(target)), "success")
    return redirect(url_for("web.seal_detail", seal_id=seal_id))


@blueprint.get("/seals/<int:seal_id>/seal.csr")
@login_required
def seal_csr(seal_id: int):
    return csr_download(seal_id)


@blueprint.post("/seals/<int:seal_id>/certificate")
@login_required
def seal_certificate(seal_id: int):
    """The external CA's certificate, uploaded by a custodian or seal admin."""
    who = identity()
    seal = lifecycle.managed_seal(db.session, who, seal_id)  # who first: see app/api/seals.py
    upload = request.files.get("certificate")
    bundle = upload.read(MAX_CERTIFICATE_BYTES) if upload is not None else b""
    _seal, error = attempt(lambda: external_ca.import_certificate(
        db.session, env(), who, seal, bundle))
    if error is not None:
        flash(message_of(error), "error")
    else:
        flash(_("Certificate imported; the seal is active"), "success")
    return redirect(url_for("web.seal_detail", seal_id=seal_id))


@blueprint.get("/seals/<int:seal_id>/image.png")
@login_required
def seal_image(seal_id: int):
    seal = registry.get_seal(db.session, seal_id)
    response = Response(seal.appearance_png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
