"""Requests, the API's side (the pages are app/web/requests.py, the domain processes/requests/):
``/api/v1/requests`` and one request, its files, withdrawing, retrying, messages."""

from flask import jsonify, request, send_file

from app.api import blueprint, commits, described, int_arg, json_body, json_field, page_args
from app.context import env, identity
from app.extensions import db
from app.transactions import fetched, reads_first, writes
from processes.db import unit_of_work
from processes.errors import BadInput, InvalidContent, PolicyRefused, msg
from processes.models import utcnow
from processes.requests import (
    copies,
    incidents,
    intake,
    messages,
    queries,
    reminders,
    withdrawal,
)
from processes.requests.intake import NewRequest


def _int_field(name: str, required: bool = False) -> int | None:
    raw = request.form.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidContent(msg("%(name)s is required", name=name),
                                 [{"field": name, "message": msg("required")}])
        return None
    try:
        return int_arg(raw, name, low=1)
    except BadInput:
        raise InvalidContent(msg("%(name)s must be an integer id", name=name),
                             [{"field": name, "message": msg("must be an integer id")}]) from None


def new_request_from_form() -> NewRequest:
    """Parse the multipart body shared by the API and the web form."""
    upload = request.files.get("document")
    data = json_field("data")
    if data is not None and not isinstance(data, dict):
        raise InvalidContent(msg("data must be a JSON object"),
                             [{"field": "data", "message": msg("must be a JSON object")}])
    return NewRequest(
        seal_id=_int_field("seal"),
        document=upload.read() if upload is not None and upload.filename is not None else None,
        filename=(upload.filename if upload is not None else None) or "document.pdf",
        process=request.form.get("process") or None,
        business_type=request.form.get("business_type") or None,
        data=data,
        placement=json_field("placement"),
        on_behalf_of=request.form.get("on_behalf_of") or None,
        from_request=_int_field("from_request"),
        idempotency_key=request.headers.get("Idempotency-Key") or None,
        copy_of=_int_field("copy_of"),
    )


@blueprint.post("/requests")
@reads_first
def create_request():
    # The PDF read, the checks and the engine's first run hold no write lock.
    try:
        with unit_of_work(db.session, write=False):
            who = identity()
            new = new_request_from_form()
            prepared = intake.prepare(db.session, env(), who, new)
        with unit_of_work(db.session):
            req = intake.create(db.session, env(), who, new, prepared)
            return jsonify(described(req)), 201
    except PolicyRefused as exc:  # raised by prepare or create: who and new are known
        with unit_of_work(db.session):  # the refusal recorded (nothing else was written)
            intake.record_refused(db.session, who, new, exc)
        raise


def _summary(req) -> dict:
    return {"id": req.id, "status": req.status.value,
            "process": {"key": req.process.key, "version": req.process.version},
            "business_type": req.business_type, "seal": req.seal_id,
            "requester_id": req.requester_id,
            "document": ({"sha256": req.document.sha256, "filename": req.filename,
                          "pages": req.document.pages} if req.document is not None else None),
            "created_at": req.created_at.isoformat(), "updated_at": req.updated_at.isoformat()}


@blueprint.get("/requests")
def list_requests():
    who = identity()
    limit, offset = page_args()
    seal = int_arg(request.args.get("seal"), "seal", low=1)
    found = queries.listing(db.session, who, status=request.args.get("status"),
                             seal=seal, requester=request.args.get("requester"),
                             search=request.args.get("q"),
                             sort=request.args.get("sort") or "newest", limit=limit,
                             offset=offset)
    return jsonify([_summary(r) for r in found])


@blueprint.get("/requests/<int:request_id>")
def get_request(request_id: int):
    req = queries.get_visible(db.session, identity(), request_id)
    return jsonify(described(req))


@blueprint.get("/requests/<int:request_id>/document")
@writes
@commits
def request_document(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=False,
                                  record=fetched())
    return send_file(path, mimetype="application/pdf", download_name=name)


@blueprint.get("/requests/<int:request_id>/sealed")
@writes
@commits
def request_sealed(request_id: int):
    path, name = queries.download(db.session, env(), identity(), request_id, sealed=True,
                                  record=fetched())
    return send_file(path, mimetype="application/pdf", download_name=name)


@blueprint.post("/requests/<int:request_id>/withdraw")
@commits
def withdraw_request(request_id: int):
    """JSON ``{reason}`` (required): why the requester withdraws it."""
    req = withdrawal.withdraw(db.session, identity(), request_id, json_body().get("reason"),
                              required=False)
    return jsonify(described(req))


@blueprint.post("/requests/<int:request_id>/remind")
@commits
def remind_request(request_id: int):
    """催办: tell the people holding the request's open steps; at most once an hour."""
    told = reminders.remind(db.session, identity(), request_id)
    return jsonify({"reminded": told,
                    "next_at": (reminders.next_allowed(db.session, request_id)
                                or utcnow()).isoformat()})


@blueprint.get("/requests/<int:request_id>/copy")
def copy_request(request_id: int):
    """What a new request copied from this rejected or withdrawn one starts with."""
    return jsonify(copies.prefill_from(db.session, identity(), request_id))


@blueprint.post("/requests/<int:request_id>/retry")
@commits
def retry_request(request_id: int):
    """Admins; optional JSON ``{variables: {name: value}}``: an incident's corrections."""
    who = identity()
    variables = json_body().get("variables") if request.mimetype == "application/json" else None
    if variables is not None and not isinstance(variables, dict):
        raise BadInput(msg("variables must be a JSON object of the values to correct"))
    req = incidents.retry(db.session, who, request_id, variables)
    return jsonify(described(req))


@blueprint.post("/requests/<int:request_id>/messages/<name>")
@commits
def deliver_message(request_id: int, name: str):
    payload = json_body()
    req = messages.deliver_message(db.session, identity(), request_id, name, payload)
    return jsonify(described(req))
