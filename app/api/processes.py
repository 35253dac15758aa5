"""Flows, the API's side (the pages are app/web/processes.py, the domain processes/design/ and
processes/flows/): the deployed flows, deploying one, migrating instances, business types.
One flow's versions (history, retiring) are app/api/process_versions.py."""

from functools import partial

from flask import jsonify, request

from app.api import blueprint, commits, json_body
from app.context import env, identity
from app.errors import translated
from app.extensions import db
from app.findings import scenarios as scenarios_translated
from app.findings import validation
from processes.design import deploy, manage
from processes.errors import BadInput, InvalidProcess, NotAllowed, msg
from processes.flows import definitions, version_diff
from processes.people.directory import Identity
from processes.requests import migration, scenarios


@blueprint.get("/processes")
def list_processes():
    identity()
    return jsonify(definitions.listing(db.session))


DESIGN_ROLES = ("designer", "manager", "seal_admin")


def _designer() -> Identity:
    who = identity()
    if not who.has_role(*DESIGN_ROLES):
        raise NotAllowed(msg("deploying flows needs the designer, manager, seal_admin or admin "
                             "role"))
    return who


def _rerun(who: Identity) -> deploy.Rerun:
    """The flow's saved scenarios re-run on the files validated or deployed."""
    return partial(scenarios.rerun, db.session, env(), who)


def _uploaded_files() -> dict[str, bytes]:
    """The multipart ``file`` parts: {file name: bytes}, a repeated name kept apart."""
    uploads = request.files.getlist("file")
    if not uploads:
        raise InvalidProcess(msg("send the BPMN as a multipart part named 'file'"),
                             [{"element": None, "line": None, "severity": "error",
                               "message": msg("no 'file' part in the request")}])
    files: dict[str, bytes] = {}
    for i, upload in enumerate(uploads):
        name = (upload.filename or f"file{i}.bpmn").rsplit("/", 1)[-1]
        files[name if name not in files else f"{i}-{name}"] = upload.read()
    return files


@blueprint.post("/processes")
@commits
def deploy_process():
    who = _designer()
    result = deploy.deploy(db.session, env(), _uploaded_files(), actor=who.user, identity=who,
                           authorized_end=request.form.get("authorized_end") or None,
                           comment=request.form.get("comment"), rerun=_rerun(who))
    d = result.definition
    body = {"key": d.key, "version": d.version, "name": d.name, "sha256": d.sha256,
            "warnings": translated(result.warnings),
            "scenarios": scenarios_translated(result.scenarios)}
    # What changed against the previous latest version (none for a first version or a no-op).
    body["changes"] = (version_diff.between(db.session, d.key, d.version - 1, d.version)
                       if result.created and d.version > 1 else None)
    return jsonify(body), 201 if result.created else 200


@blueprint.post("/processes/validate")
def validate_process():
    """The deploy checks without deploying (the modeler's Validate): {problems, warnings},
    and the flow's saved scenarios re-run on the files (``scenarios``)."""
    who = _designer()
    return jsonify(validation(deploy.validate(
        db.session, env(), _uploaded_files(), identity=who, rerun=_rerun(who),
        authorized_end=request.form.get("authorized_end") or None)))


@blueprint.get("/processes/<key>/versions/<int:version>")
def process_version(key: str, version: int):
    """One deployed version with its files (the modeler opens them)."""
    _designer()
    d = definitions.version(db.session, key, version)
    return jsonify({"key": d.key, "version": d.version, "name": d.name, "sha256": d.sha256,
                    "deployed_at": d.deployed_at.isoformat(), "files": d.files})


@blueprint.post("/processes/<key>/migrate")
@commits
def migrate_process(key: str):
    """Admins: JSON ``{from, to, dry_run}`` -> the diff, and the instances moved or refused."""
    who = identity()
    if not who.has_role("admin"):
        raise NotAllowed(msg("migrating instances needs the admin role"))
    body = json_body()
    from_version, to_version = body.get("from"), body.get("to")
    if type(from_version) is not int or type(to_version) is not int:  # bools are not versions
        raise BadInput(msg('send JSON {"from": version, "to": version, "dry_run": bool} with '
                           "integer versions"))
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadInput(msg("dry_run must be true or false"))
    result = migration.migrate(db.session, key, from_version, to_version,
                               dry_run=dry_run, actor=who.user)
    answer = result.as_dict()
    # Why each request stays put, in the caller's language (the compare page shows it).
    return jsonify({**answer, "refused": translated(answer["refused"], "reason")})


@blueprint.get("/business-types")
def list_business_types():
    identity()
    return jsonify([{"key": bt.key, "name": bt.name, "process": bt.process_key}
                    for bt in definitions.business_types(db.session)])


@blueprint.put("/business-types/<key>")
@commits
def map_business_type(key: str):
    """Managers, admins: JSON ``{process, name}`` maps the type (new or existing) to a
    deployed flow; the next request of the type starts on it. Audited."""
    who = identity()
    body = json_body()
    process, name = body.get("process"), body.get("name")
    if not isinstance(process, str) or not (name is None or isinstance(name, str)):
        raise BadInput(msg('send JSON {"process": process key, "name": display name}'))
    bt = manage.map_business_type(db.session, who, key, process, name)
    return jsonify({"key": bt.key, "name": bt.name, "process": bt.process_key})
