"""Comparing two versions of a flow: ``/processes/<key>/diff?from=V&to=W`` shows both diagrams
side by side with the elements added, removed and changed marked, the list of changes, and for
admins the migration of the running requests from one version to the other (the page's script,
app/static/process_diff.js, calls the API's migrate, app/api/processes.py)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from app.api import int_arg
from app.context import identity
from app.extensions import db
from app.web import blueprint, diff_words
from app.web.studio import main_bpmn, may_design
from processes.design import catalog
from processes.errors import BadInput, msg
from processes.flows import version_diff


@blueprint.get("/processes/<key>/diff")
@login_required
def process_diff(key: str):
    may_design()
    flow = catalog.flow(db.session, key)
    by_number = {v.definition.version: v for v in flow.versions}
    to_version = int_arg(request.args.get("to"), "to", low=1) or max(by_number)
    from_version = int_arg(request.args.get("from"), "from", low=1)
    if from_version is None:
        from_version = max((n for n in by_number if n < to_version), default=None)
        if from_version is None:
            raise BadInput(msg("flow '%(key)s' has no version before %(to_version)s to compare "
                               "with", key=key, to_version=to_version))
    diff = version_diff.between(db.session, key, from_version, to_version)
    old, new = by_number[from_version].definition, by_number[to_version].definition
    return render_template(
        "process_diff.html", flow=flow, diff=diff, old=old, new=new,
        running=by_number[from_version].running,
        may_migrate=identity().has_role("admin"),
        property_label=diff_words.property_label, type_label=diff_words.type_label,
        sides={"old": old.files[main_bpmn(key, old.files)],
               "new": new.files[main_bpmn(key, new.files)]})
