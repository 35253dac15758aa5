"""Notices, the API's side (the domain is processes/notices.py): ``/api/v1/notices``, what
Sealflow told the caller (expiring seal certificates, reminders)."""

from flask import jsonify, request

from app.api import blueprint, commits, page_args
from app.context import identity
from app.errors import translate
from app.extensions import db
from processes import notices


@blueprint.get("/notices")
def list_notices():
    """Newest first; ``?unread=1`` for the unread ones only. Each with its ``key`` and
    ``args`` and its ``text`` in the caller's language."""
    limit, offset = page_args()
    user = identity().user
    found = notices.mine(db.session, user, unread_only=request.args.get("unread") in ("1", "true"),
                         limit=limit, offset=offset)
    return jsonify({"unread": notices.unread_count(db.session, user),
                    "notices": [{**notices.describe(n), "text": translate(n.message)}
                                for n in found]})


@blueprint.post("/notices/<int:notice_id>/read")
@commits
def read_notice(notice_id: int):
    notices.mark_read(db.session, identity().user, notice_id)
    return jsonify({"unread": notices.unread_count(db.session, identity().user)})


@blueprint.post("/notices/read")
@commits
def read_all_notices():
    changed = notices.mark_read(db.session, identity().user)
    return jsonify({"marked": changed, "unread": 0})
