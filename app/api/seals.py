"""Seals, the API's side (the pages are app/web/seals.py, the domain processes/seals/):
``/api/v1/seals``, the usage log (per seal; across seals: ``/api/v1/seal-usage``), an external
CA's request and certificate."""

from flask import Response, jsonify, request

from app.api import blueprint, commits, int_arg, page_args
from app.context import env, identity
from app.errors import translated
from app.extensions import db
from processes.errors import InvalidContent, msg
from processes.seals import external_ca, lifecycle, registry, usage_log

MAX_CERTIFICATE_BYTES = 256 * 1024
"""A certificate with its CA certificates is a few KB; far more is not a certificate file."""


@blueprint.get("/seals")
def list_seals():
    identity()
    return jsonify([registry.describe(s) for s in registry.listing(db.session)])


# The views on one seal ask who is calling, and whether they manage seals at all, before they
# look the seal up: to anyone else an unknown id and a real one answer alike.


def usage_filters(seal: int | None = None) -> usage_log.Filters:
    """The seal-usage log's filters from the query (the API's and the pages' names)."""
    args = request.args
    return usage_log.Filters(
        seal=seal if seal is not None else int_arg(args.get("seal"), "seal", low=1),
        since=args.get("since") or None, until=args.get("until") or None,
        requester=args.get("requester") or None, business_type=args.get("business_type") or None)


@blueprint.get("/seals/<int:seal_id>/usage")
def seal_usage(seal_id: int):
    """The seal's usage log (``uses``: one page, filtered by ``since``, ``until``,
    ``requester``, ``business_type``), its counters, policy and lifecycle."""
    who = identity()
    limit, offset = page_args()
    seal = lifecycle.managed_seal(db.session, who, seal_id, auditors=True)
    filters = usage_filters(seal.id)
    log = lifecycle.usage_log(db.session, who, seal, limit=limit, offset=offset,
                              filters=filters)
    log["total"] = usage_log.count(db.session, who, filters)
    # Why each lifecycle step was taken, Sealflow's part in the caller's language.
    return jsonify({**log, "lifecycle": translated(log["lifecycle"], "reason")})


@blueprint.get("/seal-usage")
def seal_usage_across():
    """The usage log across the seals the caller may read (a custodian: their own), filtered as
    ``/seals/<id>/usage`` and by ``seal``; ``{uses, total, limit, offset}``."""
    who = identity()
    limit, offset = page_args()
    filters = usage_filters()
    return jsonify({"uses": usage_log.entries(db.session, who, filters, limit=limit,
                                              offset=offset),
                    "total": usage_log.count(db.session, who, filters),
                    "limit": limit, "offset": offset})


@blueprint.get("/seals/<int:seal_id>/csr")
def seal_csr(seal_id: int):
    """The certification request of a seal to be certified by an external CA (PEM)."""
    return csr_download(seal_id)


def csr_download(seal_id: int) -> Response:
    """The seal's certification request as a file (the API's and the seal page's)."""
    who = identity()
    seal = lifecycle.managed_seal(db.session, who, seal_id)
    pem = external_ca.certification_request(db.session, who, seal)
    return Response(pem, mimetype="application/pkcs10",
                    headers={"Content-Disposition": f"attachment; filename=seal-{seal.id}.csr"})


@blueprint.post("/seals/<int:seal_id>/certificate")
@commits
def seal_certificate(seal_id: int):
    """The certificate the external CA issued (PEM, with its CA certificates): as the body,
    or as the multipart file ``certificate``. The seal becomes active."""
    who = identity()
    seal = lifecycle.managed_seal(db.session, who, seal_id)
    upload = request.files.get("certificate")
    if upload is None and request.content_length and \
            request.content_length > MAX_CERTIFICATE_BYTES:
        raise InvalidContent(msg("that is too large for a certificate file"),
                             [{"field": "certificate", "message": msg("too large")}])
    bundle = upload.read(MAX_CERTIFICATE_BYTES + 1) if upload is not None \
        else request.get_data(cache=False)
    if not bundle or len(bundle) > MAX_CERTIFICATE_BYTES:
        raise InvalidContent(msg("send the certificate (PEM) as the body or as the file "
                                 "'certificate'"),
                             [{"field": "certificate", "message": msg("required")}])
    seal = external_ca.import_certificate(db.session, env(), who, seal, bundle)
    return jsonify(registry.describe(seal))
