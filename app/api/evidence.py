"""``GET /api/v1/requests/<id>/evidence``: a sealed request's evidence package (a ZIP), for
those who may see the request; each export is recorded in the audit log (app/evidence.py
exports it, processes/evidence builds it; the page's download: app/web/evidence.py)."""

from __future__ import annotations

from app.api import blueprint
from app.context import identity
from app.evidence import zip_response


@blueprint.get("/requests/<int:request_id>/evidence")
def request_evidence(request_id: int):
    return zip_response(request_id, identity())
