"""Share links, the API's side (the pages are app/web/shares.py, the domain
processes/requests/shares.py): ``POST /api/v1/requests/<id>/shares``, ``GET`` the same for the
request's links, ``DELETE /api/v1/shares/<id>``."""

from flask import jsonify, url_for

from app.api import blueprint, commits, json_body
from app.context import identity
from app.extensions import db
from processes.errors import BadInput, msg
from processes.requests import queries, shares


def share_url(token: str) -> str:
    return url_for("web.shared", token=token, _external=True)


@blueprint.post("/requests/<int:request_id>/shares")
@commits
def make_share(request_id: int):
    """``{expires_at, password?}`` → 201 ``{id, url, expires_at}``: the link, shown this once."""
    body = json_body()
    password = body.get("password")
    expires = body.get("expires_at")
    if not isinstance(password, (str, type(None))) or not isinstance(expires, (str, type(None))):
        raise BadInput(msg("expires_at and password are text"))
    link, token = shares.make(db.session, identity(), request_id, expires_at=expires,
                              password=password)
    return jsonify({"id": link.id, "url": share_url(token),
                    "expires_at": link.expires_at.isoformat()}), 201


@blueprint.get("/requests/<int:request_id>/shares")
def list_shares(request_id: int):
    """The request's links (never their tokens), newest first."""
    req = queries.get_visible(db.session, identity(), request_id)
    return jsonify(shares.listing(db.session, req.id))


@blueprint.delete("/shares/<int:share_id>")
@commits
def revoke_share(share_id: int):
    return jsonify(shares.describe(shares.revoke(db.session, identity(), share_id)))
