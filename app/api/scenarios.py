"""A flow's saved dry-run scenarios (the domain: processes/requests/scenarios.py), for
designers, managers, seal administrators and admins: listed, saved (the dry run is run and its
route and end kept) and deleted. Validate and deploy re-run them (app/api/processes.py)."""

from flask import jsonify

from app.api import blueprint, commits
from app.api.dry_run import read_input
from app.api.processes import DESIGN_ROLES
from app.context import env, identity
from app.extensions import db
from processes.errors import NotAllowed, msg
from processes.people.directory import Identity
from processes.requests import scenarios


def _designer() -> Identity:
    who = identity()
    if not who.has_role(*DESIGN_ROLES):
        raise NotAllowed(msg("scenarios need the designer, manager, seal_admin or admin role"))
    return who


@blueprint.get("/processes/<key>/scenarios")
def list_scenarios(key: str):
    _designer()
    return jsonify(scenarios.listing(db.session, key))


@blueprint.put("/processes/<key>/scenarios/<name>")
@commits
def save_scenario(key: str, name: str):
    """The dry run's input (JSON, or multipart with ``file`` parts: the unsaved files, else the
    latest version runs); 201 when new, 200 when it replaced one of that name."""
    who = _designer()
    scenario, created = scenarios.save(db.session, env(), who, key, name, read_input())
    return jsonify(scenarios.as_dict(scenario, who.user.name)), 201 if created else 200


@blueprint.delete("/processes/<key>/scenarios/<name>")
@commits
def delete_scenario(key: str, name: str):
    """``{name, deleted}``: deleted false when there was no such scenario (gone already)."""
    who = _designer()
    return jsonify({"name": name, "deleted": scenarios.delete(db.session, who, key, name)})
