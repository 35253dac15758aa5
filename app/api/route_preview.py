"""``POST /api/v1/requests/route-preview`` (the domain: processes/requests/route_preview.py):
who would approve a request with this data, in what order, for any signed-in user and a flow
they may start. It writes nothing: it runs in a reading transaction (no write lock). A dry run
costs tens of ms: limited per client address (SEALFLOW_ROUTE_PREVIEW_RATE)."""

from flask import jsonify
from flask_babel import gettext as _

from app.api import blueprint, json_body
from app.context import env, identity
from app.errors import translate
from app.extensions import db
from app.ratelimit import rate_limited
from app.transactions import reads_first
from processes.db import unit_of_work
from processes.errors import BadInput
from processes.requests import route_preview


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    return value


def _seal(body: dict) -> int | None:
    value = body.get("seal")
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or value < 1:
        raise BadInput("seal must be a seal's id")
    return value


@blueprint.post("/requests/route-preview")
@rate_limited("route_preview", "ROUTE_PREVIEW_RATE")
@reads_first
def preview_route():
    body = json_body()
    with unit_of_work(db.session, write=False):
        result = route_preview.preview(
            db.session, env(), identity(), process=_text(body, "process"),
            business_type=_text(body, "business_type"), seal=_seal(body),
            data=body.get("data") or {})
    result["problems"] = [translate(p) for p in result["problems"]]
    result["note"] = _("A deputy standing in for someone who is away, or an approver added to "
                       "a step, never satisfies a seal policy's demand for a role they do not "
                       "hold: the custodian's approval stays the custodian's.")
    return jsonify(result)
