"""``POST /api/v1/processes/dry-run`` (the domain: processes/requests/dry_run.py): the route a
request would take, for designers, managers and admins. It writes nothing: it runs in a
reading transaction (no write lock)."""

from typing import Any

from flask import jsonify, request

from app.api import blueprint, int_arg, json_body, json_field
from app.context import env, identity
from app.errors import translated
from app.extensions import db
from app.transactions import reads_first
from processes.db import unit_of_work
from processes.errors import BadInput, InvalidContent, NotAllowed, msg
from processes.requests import dry_run
from processes.requests.dry_run_input import MAX_STEPS, DryRunInput


def _field(body: dict[str, Any], name: str) -> Any:
    """A JSON field: a member of a JSON body, or a multipart field holding JSON."""
    return body.get(name) if request.is_json else json_field(name)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name) if request.is_json else request.form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(msg("%(name)s must be a string", name=name))
    return value


def _number(body: dict[str, Any], name: str, *, low: int = 1) -> int | None:
    value = body.get(name) if request.is_json else request.form.get(name)
    if value is None or value == "":
        return None
    if type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise BadInput(msg("%(name)s must be a whole number", name=name))
    return int_arg(value, name, low=low)


def read_input() -> DryRunInput:
    """The dry run's input from a JSON body or a multipart one (``file`` parts: unsaved
    files); also a saved scenario's (app/api/scenarios.py)."""
    body = json_body() if request.is_json else {}
    files: dict[str, bytes] = {}
    for i, upload in enumerate(request.files.getlist("file")):
        name = (upload.filename or f"file{i}.bpmn").rsplit("/", 1)[-1]
        files[name if name not in files else f"{i}-{name}"] = upload.read()
    data = _field(body, "data")
    decisions = _field(body, "decisions")
    for name, value in (("data", data), ("decisions", decisions)):
        if value is not None and not isinstance(value, dict):
            raise InvalidContent(msg("%(name)s must be a JSON object", name=name),
                                 [{"field": name, "message": msg("must be a JSON object")}])
    return DryRunInput(
        files=files or None, authorized_end=_text(body, "authorized_end"),
        process=_text(body, "process"), version=_number(body, "version"),
        business_type=_text(body, "business_type"), requester=_text(body, "requester"),
        seal=_number(body, "seal"), data=data or {}, decisions=decisions or {},
        max_steps=_number(body, "max_steps") or MAX_STEPS,
        pages=_number(body, "pages") or 1)


@blueprint.post("/processes/dry-run")
@reads_first
def dry_run_process():
    with unit_of_work(db.session, write=False):
        who = identity()
        if not who.has_role("designer", "manager"):
            raise NotAllowed(msg("dry runs need the designer, manager or admin role"))
        result = dry_run.dry_run(db.session, env(), who, read_input())
    return jsonify({**result, "problems": translated(result["problems"])})
