"""The request page's download of the evidence package (the API's, for a signed-in user)."""

from __future__ import annotations

from flask_login import login_required

from app.context import identity
from app.evidence import zip_response
from app.web import blueprint


@blueprint.get("/requests/<int:request_id>/evidence")
@login_required
def request_evidence(request_id: int):
    return zip_response(request_id, identity())
