"""``/admin/groups`` (administrators; the domain is processes/people/departments.py): the
groups with their heads and members, a page at a time; adding a group; one group's page where
its head is named and members are added and removed."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.context import identity
from app.errors import message_of, status_of
from app.extensions import db
from app.web import attempt, blueprint
from app.web.present import problems_by_field
from processes.errors import SealflowError
from processes.people import accounts, departments


def _list_page(values=None, error: SealflowError | None = None):
    query = request.args.get("q", "")
    found = departments.find_groups(db.session, identity(), query,
                                    request.args.get("page", 1, type=int))
    page = render_template("admin_groups.html", found=found, query=query, values=values or {},
                           problems=problems_by_field(error))
    return (page, status_of(error)) if error is not None else page


@blueprint.get("/admin/groups")
@login_required
def admin_groups():
    return _list_page()


@blueprint.post("/admin/groups")
@login_required
def add_group():
    form = request.form
    values = {"key": form.get("key", ""), "name": form.get("name", ""),
              "head": form.get("head", "")}
    who = identity()
    group, error = attempt(lambda: departments.create_group(
        db.session, who, key=values["key"], name=values["name"], head=values["head"]))
    if error is not None or group is None:
        assert error is not None
        flash(message_of(error), "error")
        return _list_page(values, error)
    flash(_("Group %(key)s added", key=group.key), "success")
    return redirect(url_for("web.admin_group", key=group.key))


def _group_page(key: str, values=None, error: SealflowError | None = None):
    row = departments.group_row(db.session, identity(), key)
    page = render_template("admin_group.html", row=row, values=values or {},
                           problems=problems_by_field(error))
    return (page, status_of(error)) if error is not None else page


@blueprint.get("/admin/groups/<key>")
@login_required
def admin_group(key: str):
    return _group_page(key)


def _outcome(key: str, values: dict, service, done: str):
    """Run the group page's form's service; the page again with the values and the message
    when refused, else back to the group."""
    _result, error = attempt(service)
    if error is not None:
        flash(message_of(error), "error")
        return _group_page(key, values, error)
    flash(done, "success")
    return redirect(url_for("web.admin_group", key=key))


@blueprint.post("/admin/groups/<key>/head")
@login_required
def set_group_head(key: str):
    head = request.form.get("head", "")
    who = identity()
    done = (_("%(name)s now heads the group", name=head.strip()) if head.strip()
            else _("The group has no head now"))
    return _outcome(key, {"head": head},
                    lambda: departments.set_head(db.session, who, key, head), done)


@blueprint.post("/admin/groups/<key>/members")
@login_required
def add_group_member(key: str):
    member = request.form.get("member", "")
    who = identity()
    return _outcome(key, {"member": member},
                    lambda: departments.add_member(db.session, who, key, member),
                    _("%(name)s added to the group", name=member.strip()))


@blueprint.post("/admin/groups/<key>/members/<name>/remove")
@login_required
def remove_group_member(key: str, name: str):
    who = identity()
    if request.form.get("confirm") != "yes":
        accounts.require_admin(who)
        flash(_("Confirm to remove the member"), "error")
        return redirect(url_for("web.admin_group", key=key))
    return _outcome(key, {}, lambda: departments.remove_member(db.session, who, key, name),
                    _("%(name)s removed from the group", name=name))
