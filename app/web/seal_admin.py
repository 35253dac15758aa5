"""Seal administration, the pages' side (the domain is processes/seals/administration.py, with
the command line's checks): a seal's usage policy with the proof of each flow it allows, a
change of custodians or appearance (its 印章变更 flow started, or made directly by an
administrator), and a new seal (its 制章申请 flow started, or made directly by an
administrator: the bootstrap)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import env, identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import problems_by_field
from app.web.seals import seal_page
from processes.errors import NotAllowed, SealflowError
from processes.flows import definitions
from processes.requests import intake
from processes.requests.intake import NewRequest
from processes.seals import (
    administration,
    authority,
    lifecycle,
    policy,
    policy_form,
    registry,
)

MAX_PNG_BYTES = 2 * 1024 * 1024
KEY_TYPES = ("rsa2048", "rsa3072", "p256")
SEAL_TYPES = ("公章", "合同专用章", "财务专用章", "人事专用章")


def _timezone() -> str:
    return current_app.config.get("TIMEZONE") or "UTC"


def _form_values() -> dict:
    values = request.form.to_dict()
    values["business_types"] = request.form.getlist("business_types")
    return values


@blueprint.get("/seals/<int:seal_id>/policy")
@login_required
def seal_policy(seal_id: int):
    administration.require_seal_admin(identity())  # before the seal: ids cannot be probed
    seal = registry.get_seal(db.session, seal_id)
    return _policy_page(seal, policy_form.values(
        policy.describe(policy.get(db.session, seal.id)), _timezone()))


@blueprint.post("/seals/<int:seal_id>/policy")
@login_required
def seal_policy_save(seal_id: int):
    who = identity()
    administration.require_seal_admin(who)
    seal = registry.get_seal(db.session, seal_id)
    result, error = attempt(lambda: administration.set_policy(
        db.session, who, seal, policy_form.parse(db.session, _form_values(), _timezone())))
    if error is not None:
        flash(message_of(error), "error")
        return _policy_page(registry.get_seal(db.session, seal_id), _form_values(), error), \
            status_of(error)
    refused = [f for f in (result or {}).get("flows", []) if not f["ok"]]
    if refused:
        flash(_("Policy saved. %(count)s flow(s) cannot be used with this seal: see the proof "
                "below.", count=len(refused)), "error")
    else:
        flash(_("Policy saved. Every flow it allows passes the proof."), "success")
    return redirect(url_for("web.seal_policy", seal_id=seal_id))


def _policy_page(seal, values: dict, error: SealflowError | None = None):
    return render_template(
        "seal_policy.html", seal=seal, values=values, problems=problems_by_field(error),
        business_types=definitions.business_types(db.session),
        proofs=administration.proofs(db.session, seal))


@blueprint.post("/seals/<int:seal_id>/change-request")
@login_required
def seal_change_request(seal_id: int):
    """Start the seal's 印章变更 flow: new custodians, a new appearance or a renewed
    certificate, approved as the flow says; then its page."""
    who = identity()
    seal = lifecycle.managed_seal(db.session, who, seal_id)
    if not lifecycle.may_manage(db.session, who, seal):
        raise NotAllowed(_("only the seal's custodians and seal administrators change it"))
    data = {k: request.form.get(k, "").strip() for k in ("change", "custodians", "serial",
                                                         "reason")}
    return _start(authority.flow_start(db.session, "change"), seal_id,
                  {k: v for k, v in data.items() if v})


@blueprint.post("/seals/<int:seal_id>/change")
@login_required
def seal_change(seal_id: int):
    """An administrator changes the custodians or the appearance directly, with a reason."""
    who = identity()
    administration.require_admin(who)
    seal = registry.get_seal(db.session, seal_id)
    upload = request.files.get("png")
    png = upload.read(MAX_PNG_BYTES) if upload is not None and upload.filename else None
    _seal, error = attempt(lambda: administration.change_directly(
        db.session, env(), who, seal, change=request.form.get("change", ""),
        reason=request.form.get("reason"), custodians=request.form.get("custodians"),
        png=png, serial=request.form.get("serial")))
    if error is not None:
        flash(message_of(error), "error")
        return seal_page(seal_id, error, "direct")
    flash(_("The seal is changed; the change and its reason are recorded."), "success")
    return redirect(url_for("web.seal_detail", seal_id=seal_id))


@blueprint.get("/seals/new")
@login_required
def seal_new():
    who = identity()
    if not administration.manages_seals(db.session, who):
        raise NotAllowed(_("only the custodians of a seal and seal administrators ask for "
                           "a new seal"))
    return _new_page(None, {})


def _new_page(error: SealflowError | None, values: dict, form: str = ""):
    return render_template(
        "seal_new.html", values=values, problems=problems_by_field(error), form=form,
        flow=authority.flow_start(db.session, "make"),
        direct=identity().has_role("admin"), seal_types=SEAL_TYPES, key_types=KEY_TYPES)


@blueprint.post("/seals/new/request")
@login_required
def seal_new_request():
    """Start the 制章申请 flow; the seal is made when it is approved."""
    who = identity()
    if not administration.manages_seals(db.session, who):
        raise NotAllowed(_("only the custodians of a seal and seal administrators ask for "
                           "a new seal"))
    data = {k: request.form.get(k, "").strip() for k in ("seal_name", "new_seal_type",
                                                         "custodians", "ca", "reason")}
    return _start(authority.flow_start(db.session, "make"), None,
                  {k: v for k, v in data.items() if v})


@blueprint.post("/seals/new")
@login_required
def seal_create():
    """An administrator makes a seal directly (the bootstrap), as `sealflow seal create`."""
    who = identity()
    administration.require_admin(who)
    form = request.form
    seal, error = attempt(lambda: administration.create_directly(
        db.session, env(), who, name=form.get("name", ""), custodians=form.get("custodians"),
        seal_type=form.get("type", ""), key_type=form.get("key_type") or "rsa2048",
        key_storage=form.get("key_storage") or "software",
        external_ca=form.get("external_ca") == "on", reason=form.get("reason")))
    if error is not None or seal is None:
        flash(message_of(error), "error")
        return _new_page(error, form.to_dict(), "direct"), status_of(error)
    flash(_("Seal %(name)s made.", name=seal.name), "success")
    return redirect(url_for("web.seal_detail", seal_id=seal.id))


def _start(flow: tuple[str, dict[str, str]] | None, seal_id: int | None, data: dict):
    """File a lifecycle request (no document: its approvers approve its data), as the API
    does; then its page. A refusal goes back with the message."""
    if flow is None:
        flash(_("No lifecycle flow for this is deployed: ask an administrator."), "error")
        return redirect(url_for("web.seal_detail", seal_id=seal_id) if seal_id
                        else url_for("web.seal_new"))
    new = NewRequest(seal_id=seal_id, document=None, filename="", data=data, **flow[1])
    req, error = attempt(lambda: intake.create(db.session, env(), identity(), new))
    if error is not None or req is None:
        flash(message_of(error), "error")
        if seal_id is None:
            return _new_page(error, request.form.to_dict(), "flow"), status_of(error)
        return seal_page(seal_id, error, "change-request")
    flash(_("Request #%(id)s submitted", id=req.id), "success")
    return redirect(url_for("web.request_detail", request_id=req.id))
