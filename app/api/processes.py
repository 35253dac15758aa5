from flask import jsonify, request

from app.api import blueprint, commits
from app.context import env, identity
from app.extensions import db
from processes import definitions
from processes.errors import InvalidProcess, NotAllowed


@blueprint.get("/processes")
def list_processes():
    identity()
    return jsonify(definitions.listing(db.session))


@blueprint.post("/processes")
@commits
def deploy_process():
    who = identity()
    if not who.has_role("designer", "manager"):
        raise NotAllowed("deploying flows needs the designer, manager or admin role")
    uploads = request.files.getlist("file")
    if not uploads:
        raise InvalidProcess("send the BPMN as a multipart part named 'file'",
                             [{"element": None, "line": None, "severity": "error",
                               "message": "no 'file' part in the request"}])
    files: dict[str, bytes] = {}
    for i, upload in enumerate(uploads):
        name = (upload.filename or f"file{i}.bpmn").rsplit("/", 1)[-1]
        files[name if name not in files else f"{i}-{name}"] = upload.read()
    result = definitions.deploy(db.session, env(), files, actor=who.user,
                                authorized_end=request.form.get("authorized_end") or None)
    d = result.definition
    body = {"key": d.key, "version": d.version, "name": d.name, "sha256": d.sha256,
            "warnings": result.warnings}
    return jsonify(body), 201 if result.created else 200


@blueprint.get("/business-types")
def list_business_types():
    identity()
    return jsonify([{"key": bt.key, "name": bt.name, "process": bt.process_key}
                    for bt in definitions.business_types(db.session)])
