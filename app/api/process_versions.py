"""One flow's versions, the API's side (the page is /processes/<key>, app/web/processes.py):
the deploy history with each version's instances, and retiring or reinstating a version."""

from flask import jsonify

from app.api import blueprint, commits
from app.context import identity
from app.extensions import db
from processes.design import catalog, manage
from processes.errors import NotAllowed
from processes.models import ProcessDefinition


@blueprint.get("/processes/<key>")
def process_history(key: str):
    """Designers, managers, admins: ``{key, name, current, business_types, versions: [...]}``,
    newest first, each with who deployed it, when, the comment, its files' SHA-256, whether it
    is retired and its requests by status."""
    if not identity().has_role("designer", "manager"):
        raise NotAllowed("a flow's history is for process designers, managers and admins")
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


def _state(definition: ProcessDefinition) -> dict:
    return {"key": definition.key, "version": definition.version,
            "retired_at": _iso(definition.retired_at)}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
