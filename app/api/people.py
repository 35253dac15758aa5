"""People, the API's side (the domain is processes/people/): ``/api/v1/me``, a user's tokens,
out-of-office and log-in lock-out."""

from flask import jsonify, request

from app.api import blueprint, commits, parse_json
from app.context import identity
from app.extensions import db
from processes.errors import BadInput, NotAllowed, msg
from processes.people import directory, logins, out_of_office, tokens


@blueprint.get("/me")
def me():
    user = identity().user
    return jsonify({**directory.describe(db.session, user), "email": user.email,
                    "out_of_office": out_of_office.describe(db.session, user)})


def _absence_body():
    """The body of a PUT out-of-office: a JSON object, or ``null`` to clear."""
    try:
        return parse_json(request.data or b"null")
    except ValueError as exc:
        raise BadInput(msg("the body is not usable JSON: %(error)s", error=exc)) from None


@blueprint.put("/me/out-of-office")
@commits
def set_my_absence():
    """``{from, to, deputy}`` or ``null``: tasks created for the caller meanwhile go to the
    deputy (processes/people/out_of_office.py has the rules)."""
    return _set_absence(None)


@blueprint.put("/users/<name>/out-of-office")
@commits
def set_user_absence(name: str):
    """The same for another user: administrators."""
    return _set_absence(name)


def _set_absence(name: str | None):
    who = identity()
    user = out_of_office.owner(db.session, who, name)
    out_of_office.set_absence(db.session, user, _absence_body(), actor=who.user)
    return jsonify({"name": user.name, "out_of_office": out_of_office.describe(db.session, user)})


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
        raise NotAllowed(msg("only administrators may unlock a user"))
    was_locked = logins.unlock(db.session, name, actor=who.user)
    return jsonify({"name": name, "was_locked": was_locked})
