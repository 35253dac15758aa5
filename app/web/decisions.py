"""The studio's decision-table page: ``/processes/<key>/decisions`` opens a DMN file of a
deployed version in dmn-js (the decision table view), so that a manager changes rules, inputs,
outputs and the hit policy without seeing XML. Validate and Deploy are the API's
(app/api/processes.py) with every file of the version, the edited table replacing its file:
app/static/decisions.js calls them with the session's CSRF token."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from app.api import int_arg
from app.extensions import db
from app.web import blueprint
from app.web.studio import may_design
from processes.flows import definitions
from processes.flows.dmn_xml import is_dmn_file


@blueprint.get("/processes/<key>/decisions")
@login_required
def edit_decisions(key: str):
    may_design()
    number = int_arg(request.args.get("version"), "version", low=1)
    definition = (definitions.version(db.session, key, number) if number is not None
                  else definitions.latest(db.session, key))
    files = dict(definition.files)
    tables = sorted(filter(is_dmn_file, files))
    wanted = request.args.get("file")
    editing = wanted if wanted in tables else (tables[0] if tables else None)
    return render_template("process_decisions.html", key=key, version=definition.version,
                           name=definition.name, tables=tables, editing=editing, files=files)
