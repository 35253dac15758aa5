"""The studio's modeler page: ``/processes/<key>/edit`` (a deployed version in bpmn-js with the
Camunda properties panel) and ``/processes/new/edit`` (a new flow). Validate and Deploy are the
API's (app/api/processes.py), called by app/static/studio.js with the session's CSRF token."""

from __future__ import annotations

import re

from flask import render_template, request
from flask_login import login_required

from app.api import int_arg
from app.api.processes import DESIGN_ROLES
from app.context import identity
from app.extensions import db
from app.web import blueprint
from processes.errors import NotAllowed, msg
from processes.flows import definitions

# A new flow: one start event, its process id the key the designer then renames.
NEW_FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_new_flow" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="new_flow" name="新流程 New flow" isExecutable="true">
    <bpmn:startEvent id="start" name="提交 Submitted" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_new_flow">
    <bpmndi:BPMNPlane id="BPMNPlane_new_flow" bpmnElement="new_flow">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def may_design() -> None:
    if not identity().has_role(*DESIGN_ROLES):
        raise NotAllowed(msg("editing flows needs the designer, manager, seal_admin or admin role"))


def main_bpmn(key: str, files: dict[str, str]) -> str:
    """The file the modeler edits: the BPMN file declaring process ``key`` (the others, a
    called subprocess or the DMN tables, are deployed with it unchanged)."""
    declares = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=[\"']" + re.escape(key) + "[\"']")
    bpmn = sorted(name for name in files if name.lower().endswith(".bpmn"))
    return next((name for name in bpmn if declares.search(files[name])), bpmn[0])


@blueprint.get("/processes/<key>/edit")
@login_required
def edit_process(key: str):
    may_design()
    number = int_arg(request.args.get("version"), "version", low=1)
    if key == "new" and number is None:
        return render_template("process_edit.html", key=None, version=None, versions=[],
                               editing="new_flow.bpmn", files={"new_flow.bpmn": NEW_FLOW})
    definition = (definitions.version(db.session, key, number) if number is not None
                  else definitions.latest(db.session, key))
    files = dict(definition.files)
    versions = next((p["versions"] for p in definitions.listing(db.session)
                     if p["key"] == key), [definition.version])
    return render_template("process_edit.html", key=key, version=definition.version,
                           versions=versions, name=definition.name,
                           editing=main_bpmn(key, files), files=files)
