"""``/me``: the caller's profile, password and API tokens."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.auth import begin_session, client_address, locked_message, login_limits
from app.context import identity
from app.errors import message_of
from app.extensions import db
from app.web import attempt, blueprint
from processes.people import directory, logins, tokens


def _page(new_token: str | None = None):
    user = identity().user
    response = render_template("me.html", profile=directory.describe(db.session, user),
                               tokens=[tokens.describe(t)
                                       for t in tokens.tokens_of(db.session, user)],
                               new_token=new_token)
    # A page showing a new token's secret is not kept by the browser or a proxy.
    return response, 200, {"Cache-Control": "no-store"}


@blueprint.get("/me")
@login_required
def me():
    return _page()


@blueprint.post("/me/password")
@login_required
def change_password():
    """The current password, then the new one twice. Every session and token of the user
    ends; this browser gets a new session."""
    form = request.form
    result, error = attempt(lambda: logins.change_own_password(
        db.session, identity().user, form.get("current_password", ""),
        form.get("new_password", ""), form.get("confirm_password", ""),
        address=client_address(), limits=login_limits()))
    if error is not None:
        flash(message_of(error), "error")
    elif result is not None and result.user is not None and result.key is not None:
        begin_session(result.user, result.key)
        flash(_("Password changed: your other sessions and all your tokens have ended"), "success")
    elif result is not None and result.retry_after:
        flash(locked_message(result.retry_after), "error")
    else:
        flash(_("The current password is wrong"), "error")
    return redirect(url_for("web.me"))


@blueprint.post("/me/tokens")
@login_required
def create_token():
    """A new token, shown on the page this once."""
    name = request.form.get("name", "").strip()
    if not name or len(name) > 120:
        flash(_("Name the token (at most 120 characters)"), "error")
        return redirect(url_for("web.me"))
    who = identity()
    token, error = attempt(lambda: directory.create_token(db.session, who.user, name=name,
                                                       actor=who.user))
    if error is not None:
        flash(message_of(error), "error")
        return redirect(url_for("web.me"))
    return _page(new_token=token)


@blueprint.post("/me/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    who = identity()
    token = tokens.get_token(db.session, who.user, token_id)  # 404 unless it is the caller's
    if request.form.get("confirm") != "yes":
        flash(_("Confirm to revoke the token"), "error")
        return redirect(url_for("web.me"))
    attempt(lambda: tokens.revoke(db.session, token, actor=who.user))
    flash(_("Token revoked"), "success")
    return redirect(url_for("web.me"))
