"""``/me``: the caller's profile, password, API tokens and out-of-office."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.auth import begin_session, client_address, locked_message, login_limits
from app.context import identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.admin_users import ROLE_LABELS
from app.web.present import problems_by_field
from processes.errors import SealflowError
from processes.people import directory, logins, out_of_office, tokens


def _page(new_token: str | None = None, away_values: dict | None = None,
          away_error: SealflowError | None = None):
    user = identity().user
    absence = out_of_office.absence_of(db.session, user)
    if away_values is None:
        away_values = {"from": absence.first_day, "to": absence.last_day,
                       "deputy": absence.deputy.name if absence.deputy else ""} \
            if absence is not None else {}
    response = render_template("me.html", profile=directory.describe(db.session, user),
                               tokens=[tokens.describe(t)
                                       for t in tokens.tokens_of(db.session, user)],
                               new_token=new_token, absence=absence, away_values=away_values,
                               role_labels=ROLE_LABELS,
                               away_problems=problems_by_field(away_error))
    # A page showing a new token's secret is not kept by the browser or a proxy.
    status = status_of(away_error) if away_error is not None else 200
    return response, status, {"Cache-Control": "no-store"}


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


@blueprint.post("/me/out-of-office")
@login_required
def set_out_of_office():
    """A range of days and a deputy (the tasks created for the caller meanwhile go to the
    deputy), or ``clear``. A refusal shows the page again with what was entered."""
    form = request.form
    values = {"from": form.get("from", ""), "to": form.get("to", ""),
              "deputy": form.get("deputy", "")}
    body = None if form.get("clear") else values
    who = identity()
    _absence, error = attempt(lambda: out_of_office.set_absence(db.session, who.user, body,
                                                                actor=who.user))
    if error is not None:
        flash(message_of(error), "error")
        return _page(away_values=values, away_error=error)
    flash(_("Out-of-office cleared") if body is None else
          _("Out-of-office set: new tasks go to %(deputy)s", deputy=values["deputy"].strip()),
          "success")
    return redirect(url_for("web.me") + "#away")
