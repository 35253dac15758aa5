"""``/admin/users`` (administrators; the domain is processes/people/accounts.py): the users
found by a search, a page at a time; adding one; one user's page with their profile, roles,
groups, API tokens and log-in lock-out; deactivating and reactivating them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from app.context import identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import problems_by_field
from processes.errors import SealflowError
from processes.models import Role
from processes.people import accounts

# The roles as words (DESIGN: People and roles).
ROLE_LABELS = {"admin": _l("Administrator"), "designer": _l("Process designer"),
               "manager": _l("Manager"), "seal_admin": _l("Seal administrator"),
               "auditor": _l("Auditor")}


def _options(groups) -> dict:
    """What the roles' and groups' checkboxes offer: (value, label) pairs."""
    return {"role_labels": ROLE_LABELS,
            "role_options": [(r.value, ROLE_LABELS.get(r.value, r.value)) for r in Role],
            "group_options": [(g.key, f"{g.name} ({g.key})" if g.name != g.key else g.key)
                              for g in groups]}


def _list_page(values=None, error: SealflowError | None = None):
    who = identity()
    query = request.args.get("q", "")
    found = accounts.find_users(db.session, who, query, request.args.get("page", 1, type=int))
    page = render_template("admin_users.html", found=found, query=query, values=values or {},
                           lockouts=accounts.lockouts(db.session, who),
                           **_options(accounts.all_groups(db.session)),
                           chosen_roles=(values or {}).get("roles", []),
                           chosen_groups=(values or {}).get("groups", []),
                           problems=problems_by_field(error))
    return (page, status_of(error)) if error is not None else page


@blueprint.get("/admin/users")
@login_required
def admin_users():
    return _list_page()


def _form_values() -> dict:
    form = request.form
    return {"name": form.get("name", ""), "display_name": form.get("display_name", ""),
            "email": form.get("email", ""), "roles": form.getlist("roles"),
            "groups": form.getlist("groups")}


@blueprint.post("/admin/users")
@login_required
def add_user():
    values = _form_values()
    who = identity()
    user, error = attempt(lambda: accounts.create_user(
        db.session, who, name=values["name"], display_name=values["display_name"],
        email=values["email"], password=request.form.get("password", ""),
        roles=values["roles"], groups=values["groups"]))
    if error is not None or user is None:
        assert error is not None
        flash(message_of(error), "error")
        return _list_page(values, error)
    flash(_("User %(name)s added", name=user.name), "success")
    return redirect(url_for("web.admin_user", name=user.name))


def _user_page(name: str, values=None, error: SealflowError | None = None):
    record = accounts.user_record(db.session, identity(), name)
    if values is None:
        values = {"display_name": record.user.display_name, "email": record.user.email or "",
                  "roles": record.roles, "groups": record.groups}
    page = render_template("admin_user.html", record=record, values=values,
                           **_options(record.all_groups), problems=problems_by_field(error),
                           is_me=record.user.id == identity().user.id)
    return (page, status_of(error)) if error is not None else page


@blueprint.get("/admin/users/<name>")
@login_required
def admin_user(name: str):
    return _user_page(name)


@blueprint.post("/admin/users/<name>")
@login_required
def change_user(name: str):
    values = _form_values()
    who = identity()
    _user, error = attempt(lambda: accounts.update_user(
        db.session, who, name, display_name=values["display_name"], email=values["email"],
        roles=values["roles"], groups=values["groups"]))
    if error is not None:
        flash(message_of(error), "error")
        return _user_page(name, values, error)
    flash(_("Saved"), "success")
    return redirect(url_for("web.admin_user", name=name))


def _confirmed_action(name: str, service, done: str, confirm: str):
    """A POST that needs its confirmation box ticked (``confirm=yes``), then redirects back
    to the user's page with the outcome."""
    if request.form.get("confirm") != "yes":
        accounts.require_admin(identity())
        flash(confirm, "error")
        return redirect(url_for("web.admin_user", name=name))
    _result, error = attempt(service)
    flash(message_of(error) if error is not None else done,
          "error" if error is not None else "success")
    return redirect(url_for("web.admin_user", name=name))


@blueprint.post("/admin/users/<name>/deactivate")
@login_required
def deactivate_user(name: str):
    who = identity()
    return _confirmed_action(
        name, lambda: accounts.set_active(db.session, who, name, False),
        _("%(name)s is deactivated: their sessions ended and their tokens are revoked",
          name=name), _("Confirm to deactivate the user"))


@blueprint.post("/admin/users/<name>/reactivate")
@login_required
def reactivate_user(name: str):
    who = identity()
    return _confirmed_action(name, lambda: accounts.set_active(db.session, who, name, True),
                             _("%(name)s is active again", name=name),
                             _("Confirm to reactivate the user"))


@blueprint.post("/admin/users/<name>/password")
@login_required
def reset_user_password(name: str):
    """A new password for a user who forgot theirs; refused, the page says why next to it."""
    who = identity()
    form = request.form
    _user, error = attempt(lambda: accounts.reset_password(
        db.session, who, name, form.get("new_password", ""), form.get("confirm_password", "")))
    if error is not None:
        flash(message_of(error), "error")
        return _user_page(name, error=error)
    flash(_("New password set for %(name)s: their sessions ended and their tokens are revoked",
            name=name), "success")
    return redirect(url_for("web.admin_user", name=name))


@blueprint.post("/admin/users/<name>/unlock")
@login_required
def unlock_user(name: str):
    who = identity()
    was_locked, error = attempt(lambda: accounts.unlock(db.session, who, name))
    if error is not None:
        flash(message_of(error), "error")
    elif was_locked:
        flash(_("%(name)s may log in again", name=name), "success")
    else:
        flash(_("%(name)s was not locked out (failed log-ins forgotten)", name=name), "success")
    return redirect(url_for("web.admin_user", name=name))


@blueprint.post("/admin/users/<name>/tokens/<int:token_id>/revoke")
@login_required
def revoke_user_token(name: str, token_id: int):
    who = identity()
    return _confirmed_action(
        name, lambda: accounts.revoke_token(db.session, who, name, token_id),
        _("Token revoked"), _("Confirm to revoke the token"))


@blueprint.post("/admin/lockouts/address")
@login_required
def unblock_address():
    """Lift the block of a client address after too many failed log-ins from it."""
    who = identity()
    address = request.form.get("address", "")
    was_blocked, error = attempt(lambda: accounts.unblock_address(db.session, who, address))
    if error is not None:
        flash(message_of(error), "error")
    elif was_blocked:
        flash(_("Log-ins from %(address)s are allowed again", address=address.strip()),
              "success")
    else:
        flash(_("%(address)s was not blocked", address=address.strip()), "success")
    return redirect(url_for("web.admin_users") + "#lockouts")
