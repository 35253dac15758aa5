"""``GET /api/v1/audit/verify``: the audit log checked whole, for auditors and administrators
(the domain: processes/audit_verify.py; the command: ``sealflow audit verify``)."""

from flask import jsonify

from app.api import blueprint
from app.context import env, identity
from app.errors import translate
from app.extensions import db
from processes import audit_verify
from processes.errors import NotAllowed, msg


@blueprint.get("/audit/verify")
def verify_audit_log():
    if not identity().has_role("auditor", "admin"):
        raise NotAllowed(msg("checking the audit log is for auditors and administrators"))
    report = audit_verify.verify(db.session, trust_roots=env().external_ca_roots)
    return jsonify({**report, "reason": translate(report["reason"]) if report["reason"]
                    else None})
