"""One flow's versions, the API's side (the page is /processes/<key>, app/web/processes.py):
the deploy history with each version's instances, retiring or reinstating a version, and what
changed between two versions (the page is /processes/<key>/diff, app/web/process_diff.py)."""

from flask import jsonify, request

from app.api import blueprint, commits, int_arg
from app.api.processes import DESIGN_ROLES
from app.context import identity
from app.extensions import db
from processes.design import catalog, manage
from processes.errors import BadInput, NotAllowed, msg
from processes.flows import version_diff
from processes.models import ProcessDefinition


@blueprint.get("/processes/<key>")
def process_history(key: str):
    """Designers, managers, admins: ``{key, name, current, business_types, versions: [...]}``,
    newest first, each with who deployed it, when, the comment, its files' SHA-256, whether it
    is retired and its requests by status."""
    if not identity().has_role("designer", "manager"):
        raise NotAllowed(msg("a flow's history is for process designers, managers and admins"))
    flow = catalog.flow(db.session, key)
    return jsonify({
        "key": flow.key, "name": flow.name, "current": flow.current,
        "business_types": [bt.key for bt in flow.business_types],
        "incidents": [req.id for req in flow.incidents],
        "versions": [{
            "version": v.definition.version, "name": v.definition.name,
            "sha256": v.definition.sha256, "deployed_at": v.definition.deployed_at.isoformat(),
            "deployed_by": v.deployed_by.name if v.deployed_by else None,
            "comment": v.definition.comment,
            "files": [{"name": name, "sha256": sha} for name, sha in v.files],
            "retired_at": _iso(v.definition.retired_at),
            "retired_by": v.retired_by.name if v.retired_by else None,
            "requests": v.counts, "running": v.running, "finished": v.finished,
        } for v in flow.versions]})


@blueprint.post("/processes/<key>/versions/<int:version>/retire")
@commits
def retire_version(key: str, version: int):
    """Managers, admins: no new request starts on this version; running ones finish."""
    return jsonify(_state(manage.retire(db.session, identity(), key, version)))


@blueprint.post("/processes/<key>/versions/<int:version>/reinstate")
@commits
def reinstate_version(key: str, version: int):
    return jsonify(_state(manage.reinstate(db.session, identity(), key, version)))


@blueprint.get("/processes/<key>/diff")
def process_diff(key: str):
    """Designers, managers, seal admins, admins: ``?from=V&to=W`` -> the elements added,
    removed and changed (with each changed property before and after) and the decision tables
    changed between two versions."""
    if not identity().has_role(*DESIGN_ROLES):
        raise NotAllowed(msg("comparing versions needs the designer, manager, seal_admin or "
                             "admin role"))
    from_version = int_arg(request.args.get("from"), "from", low=1)
    to_version = int_arg(request.args.get("to"), "to", low=1)
    if from_version is None or to_version is None:
        raise BadInput(msg("send the two versions to compare: ?from=V&to=W"))
    return jsonify(version_diff.between(db.session, key, from_version, to_version))


def _state(definition: ProcessDefinition) -> dict:
    return {"key": definition.key, "version": definition.version,
            "retired_at": _iso(definition.retired_at)}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
