"""Where a request is, on its flow's diagram (the request and task pages draw it with the
bpmn-js viewer): ``GET /api/v1/requests/<id>/diagram``."""

from flask import jsonify

from app.api import blueprint
from app.context import identity
from app.extensions import db
from processes.requests import diagram


@blueprint.get("/requests/<int:request_id>/diagram")
def request_diagram(request_id: int):
    """Whoever may see the request (404 otherwise): ``{process, file, xml, done, current,
    end}``, element ids of the BPMN file of the request's version."""
    return jsonify(diagram.of_request(db.session, identity(), request_id))
