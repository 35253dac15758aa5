"""Exporting an evidence package: its units of work, for ``sealflow evidence export``, the API's
GET /api/v1/requests/<id>/evidence (app/api/evidence.py) and the request page's download
(app/web/evidence.py); processes/evidence builds it.

In order: a reading check (the caller may see the request; it is sealed); an anchor of the
audit chain when none covers the request's last event yet (the TSA asked with no transaction
open); the system seal made if ``init`` has not; the files read and the report sealed in a
reading transaction (the built-in TSA writes its serial in one of its own); last, the export
recorded in the audit log, after the anchor, so the package proves what came before it."""

from __future__ import annotations

import hashlib
import io

from flask import Response, send_file

from app.audit_jobs import anchor_audit
from app.context import env
from app.extensions import db
from processes import audit
from processes.db import unit_of_work
from processes.evidence import contents, package
from processes.models import User
from processes.people.directory import Identity
from processes.requests.queries import get_visible
from processes.seals.registry import ensure_system_seal


def export(request_id: int, identity: Identity | None = None) -> bytes:
    """The package's ZIP. ``identity``: the caller, who must be able to see the request (the
    CLI's operator: None, anyone's).

    :raises NotFound: no such request (or not one the caller may see).
    :raises NotSealed: it is not sealed.
    :raises AnchorFailed: no anchor covers it and the TSA gives none now."""
    session, settings = db.session, env()
    with unit_of_work(session, write=False):
        if identity is not None:
            get_visible(session, identity, request_id)
        contents.sealed_request(session, request_id)
        anchored = contents.covering_anchor(session, request_id) is not None
        has_seal = package.system_seal(session) is not None
    if not anchored:
        anchor_audit(session, settings, force=True)
    if not has_seal:
        with unit_of_work(session):
            ensure_system_seal(session, settings)
    with unit_of_work(session, write=False):
        found = contents.gather(session, settings, request_id)
        report = package.seal_report(session, settings, found)
    zipped = package.write_zip(found, report)
    with unit_of_work(session):
        actor = session.get(User, identity.user.id) if identity is not None else None
        audit.record(session, "request.evidence_exported", actor=actor, request_id=request_id,
                     sha256=hashlib.sha256(zipped).hexdigest(), size=len(zipped),
                     anchor=found.summary["anchor"]["seq"])
    return zipped


def zip_response(request_id: int, identity: Identity) -> Response:
    """The package as a download named for its request."""
    data = export(request_id, identity)
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"evidence-request-{request_id}.zip")
