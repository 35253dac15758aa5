"""The audit log, the API's side (the page is app/web/audit_log.py, the domain
processes/audit_log.py): ``GET /api/v1/audit``, auditors and administrators; the events a
filter picks, a page at a time by sequence number."""

from flask import jsonify, request

from app.api import blueprint, int_arg
from app.context import identity
from app.extensions import db
from processes import audit_log


@blueprint.get("/audit")
def list_audit_events():
    """``?from=&to=&actor=&action=&request=&seal=`` (``action``: a prefix, ``task.``), newest
    first; ``before=<seq>`` for the next page, or ``after=<seq>`` for the events since, oldest
    first; ``limit`` up to 500 (50)."""
    who = identity()
    audit_log.require_reader(who)
    which = audit_log.parse_filter(request.args)
    limit = int_arg(request.args.get("limit"), "limit", default=50, low=1,
                    high=audit_log.MAX_PAGE)
    found = audit_log.page(db.session, who, which,
                           before=int_arg(request.args.get("before"), "before", low=1),
                           after=int_arg(request.args.get("after"), "after"),
                           limit=limit or 50)
    return jsonify([audit_log.describe(e) for e in found])
