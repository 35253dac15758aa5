"""A new request, the page's side (the API is app/api/requests.py, the domain
processes/requests/intake.py and filing_choices.py): ``/requests/new``. The kind of request
first; then the seals its policy allows this requester, the PDF, the flow's fields, the seal
dragged onto the page preview (app/static/request_new.js) and the route preview.

The page's script submits the form with fetch (``Accept: application/json``), so that a refused
form keeps everything entered, the chosen file too: the answer is then JSON, the problems by
field. Without the script the form is a plain POST and a refusal renders the page again."""

import secrets
from dataclasses import replace

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.api.requests import new_request_from_form
from app.context import env, identity
from app.errors import message_of, problems_of, status_of
from app.extensions import db
from app.transactions import reads_first
from app.web import attempt, blueprint, data_fields
from app.web.present import problems_by_field
from processes.errors import PolicyRefused, SealflowError
from processes.flows import definitions
from processes.requests import copies, filing_choices, intake
from processes.requests.intake import NewRequest
from signer import DEFAULT_SEAL_SIZE

PLACEMENT = ("page", "x", "y", "size")


@blueprint.get("/requests/new")
@login_required
def new_request():
    copy_of = request.args.get("copy_of", type=int)
    if copy_of is not None:  # copy and resubmit: the form filled in as the copied request was
        prefill = copies.prefill_from(db.session, identity(), copy_of)
        return _new_request_page(prefill["business_type"] or prefill["process"],
                                 prefill=_form_values(prefill))
    return _new_request_page(request.args.get("business_type") or request.args.get("process"))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


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
        if isinstance(error, PolicyRefused):  # recorded (nothing else was written)
            refused, filed = error, new
            attempt(lambda: intake.record_refused(db.session, identity(), filed, refused))
    if error is not None or req is None:
        assert error is not None
        if _wants_json():
            return jsonify({"error": {"code": error.code, "message": message_of(error),
                                      "problems": problems_of(error)}}), status_of(error)
        flash(message_of(error), "error")
        chosen = request.form.get("business_type") or request.form.get("process")
        return _new_request_page(chosen, error), status_of(error)
    flash(_("Request #%(id)s submitted", id=req.id), "success")
    where = url_for("web.request_detail", request_id=req.id)
    if _wants_json():
        return jsonify({"id": req.id, "location": where}), 201
    return redirect(where)


def _new_request() -> NewRequest:
    """The API's multipart fields (process, business_type, seal, document), with ``data`` and
    ``placement`` built from the page's individual inputs."""
    placement = {k: request.form.get(f"placement_{k}", "").strip() for k in PLACEMENT}
    placement = {k: v for k, v in placement.items() if v}
    if set(placement) <= {"size"}:
        placement = {}  # a size alone (the seal's own, the script's default): the default spot
    return replace(new_request_from_form(), data=data_fields(), placement=placement or None,
                   idempotency_key=request.form.get("idempotency_key") or None)


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
                      prefill: dict[str, str] | None = None):
    who = identity()
    flows = filing_choices.choices(db.session, who)
    choice = next((c for c in flows if c.key == chosen), flows[0] if flows else None)
    definition = definitions.current(db.session, choice.process) if choice else None
    seals = filing_choices.seals_for(db.session, who, definition,
                                     choice.key if choice and choice.param == "business_type"
                                     else None)
    values = (request.form if error is not None
              else prefill or {"seal": request.args.get("seal", "")})
    return render_template(
        "request_new.html", flows=flows, choice=choice, definition=definition, seals=seals,
        values=values, refilled=error is not None, problems=problems_by_field(error),
        max_bytes=env().max_document_bytes, seal_size=DEFAULT_SEAL_SIZE,
        # One key per filled-in form: a double submit returns the first request.
        idempotency_key=values.get("idempotency_key") or secrets.token_urlsafe(16))
