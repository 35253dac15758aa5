"""The request page's download of the evidence package, as the API's (app/api/evidence.py)
for a signed-in user; app/evidence.py exports it, processes/evidence builds it."""

from __future__ import annotations

from flask_login import login_required

from app.context import identity
from app.evidence import zip_response
from app.web import blueprint


@blueprint.get("/requests/<int:request_id>/evidence")
@login_required
def request_evidence(request_id: int):
    return zip_response(request_id, identity())
