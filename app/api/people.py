"""People, the API's side (the domain is processes/people/): ``/api/v1/me``, a user's tokens
and log-in lock-out."""

from flask import jsonify

from app.api import blueprint, commits
from app.context import identity
from app.extensions import db
from processes.errors import NotAllowed
from processes.people import directory, logins, tokens


@blueprint.get("/me")
def me():
    return jsonify(directory.describe(db.session, identity().user))


@blueprint.get("/me/tokens")
def my_tokens():
    """The caller's live tokens: id, name, scopes, created, last used (never the secret)."""
    return jsonify([tokens.describe(t) for t in tokens.tokens_of(db.session, identity().user)])


@blueprint.delete("/me/tokens/<int:token_id>")
@commits
def revoke_my_token(token_id: int):
    who = identity()
    tokens.revoke(db.session, tokens.get_token(db.session, who.user, token_id), actor=who.user)
    return "", 204


@blueprint.get("/users/<name>/tokens")
def user_tokens(name: str):
    """A user's live tokens: the user themselves, or an administrator."""
    user = tokens.owner(db.session, identity(), name)
    return jsonify([tokens.describe(t) for t in tokens.tokens_of(db.session, user)])


@blueprint.delete("/users/<name>/tokens/<int:token_id>")
@commits
def revoke_user_token(name: str, token_id: int):
    who = identity()
    user = tokens.owner(db.session, who, name)
    tokens.revoke(db.session, tokens.get_token(db.session, user, token_id), actor=who.user)
    return "", 204


@blueprint.post("/users/<name>/unlock")
@commits
def unlock_user(name: str):
    """Administrators: lift a user's lock-out after failed log-ins."""
    who = identity()
    if not who.has_role("admin"):
        raise NotAllowed("only administrators may unlock a user")
    was_locked = logins.unlock(db.session, name, actor=who.user)
    return jsonify({"name": name, "was_locked": was_locked})
