"""The organisation PKI, the web layer's side (the domain is processes/pki/, the certificates
signer/pki.py): public endpoints for the CA certificates, the CRLs, OCSP and the TSA."""

import base64
from urllib.parse import unquote

from cryptography.hazmat.primitives.serialization import Encoding
from flask import Blueprint, Response, current_app, request
from flask_login import current_user
from werkzeug.exceptions import UnsupportedMediaType

import signer
from app.context import env
from app.extensions import csrf, db
from app.ratelimit import rate_limited
from app.transactions import commits
from processes.errors import NotAuthenticated, NotFound, msg
from processes.people import directory
from processes.pki import authorities, responder, revocation, timestamping

blueprint = Blueprint("pki", __name__)

TSA_QUERY = "application/timestamp-query"
TSA_REPLY = "application/timestamp-reply"
MAX_TSA_QUERY_BYTES = 64 * 1024
"""A TimeStampReq is about a hundred bytes; anything far larger is refused with 413."""


@blueprint.get("/pki/ca")
def ca() -> Response:
    pems = authorities.ca_certificates(db.session)
    if not pems:
        raise NotFound(msg("the organisation CA does not exist yet: run `sealflow init`"))
    return Response(b"".join(pems), mimetype="application/x-pem-file")


@blueprint.get("/pki/root.crt")
def root_certificate() -> Response:
    """The root CA certificate alone (DER, ``.crt``): what a PDF reader or pdfsig's NSS
    database is told to trust (the verify page says how)."""
    pems = authorities.ca_certificates(db.session)
    if not pems:
        raise NotFound(msg("the organisation CA does not exist yet: run `sealflow init`"))
    der = signer.certificate_from_pem(pems[0]).public_bytes(Encoding.DER)
    response = Response(der, mimetype="application/pkix-cert")
    response.headers["Content-Disposition"] = "attachment; filename=sealflow-root.crt"
    return response


@blueprint.get("/pki/crl")
def crl_der() -> Response:
    """The issuing CA's current CRL (DER), as published on revocation and on schedule."""
    return _crl("issuing")


@blueprint.get("/pki/root.crl")
def root_crl_der() -> Response:
    """The root CA's current CRL (DER): the status of the issuing CA's certificate."""
    return _crl("root")


def _crl(issuer: str) -> Response:
    current = revocation.latest(db.session, issuer)
    if current is None:
        raise NotFound(msg("no root CRL is published yet: run `sealflow init`")
                       if issuer == "root" else
                       msg("no CRL is published yet: run `sealflow init`"))
    response = Response(current.der, mimetype="application/pkix-crl")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
MAX_OCSP_REQUEST_BYTES = 16 * 1024


@blueprint.post("/pki/ocsp")
@csrf.exempt
def ocsp_post() -> Response:
    """RFC 6960 over HTTP POST: a DER OCSPRequest in, a DER OCSPResponse out."""
    if request.mimetype != OCSP_REQUEST:
        raise UnsupportedMediaType(f"send a DER OCSP request as {OCSP_REQUEST}")
    request.max_content_length = MAX_OCSP_REQUEST_BYTES
    return _ocsp(request.get_data(cache=False))


@blueprint.get("/pki/ocsp/<path:encoded>")
def ocsp_get(encoded: str) -> Response:
    """RFC 6960 over HTTP GET: the request, base64 (and URL-encoded) in the path."""
    try:
        der = base64.b64decode(unquote(encoded), validate=False)
    except ValueError:
        der = b""
    return _ocsp(der)


def _ocsp(der: bytes) -> Response:
    response = Response(responder.respond(db.session, env(), der), mimetype=OCSP_RESPONSE)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.post("/tsa")
@csrf.exempt
@rate_limited("tsa", "TSA_RATE")
@commits
def timestamp_authority() -> Response:
    """RFC 3161 over HTTP for outside clients: a DER TimeStampReq in, a DER TimeStampResp out (a
    malformed request gets a rejection response, still 200, as the RFC has it). Limited per
    client address (SEALFLOW_TSA_RATE); with SEALFLOW_TSA_PUBLIC off, for signed-in clients
    only. Sealflow's own jobs ask the TSA in-process, past neither."""
    if not current_app.config["TSA_PUBLIC"]:
        _require_signed_in()
    if request.mimetype != TSA_QUERY:
        raise UnsupportedMediaType(f"send a DER TimeStampReq as {TSA_QUERY}")
    request.max_content_length = MAX_TSA_QUERY_BYTES  # get_data: 413 beyond it
    reply = timestamping.timestamp(db.session, env(), request.get_data(cache=False),
                          client=request.remote_addr)
    return Response(reply, mimetype=TSA_REPLY)


def _require_signed_in() -> None:
    """A bearer token (as the API takes it) or a browser session; otherwise 401. (No CSRF check:
    a form cannot send a TimeStampReq, and an answer changes nothing of the caller's.)"""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        if directory.identity_from_token(db.session, token.strip()) is None:
            raise NotAuthenticated(msg("the token is unknown, revoked, or its user is inactive"))
        return
    if not current_user.is_authenticated:
        raise NotAuthenticated(msg("this timestamp authority answers signed-in clients only: "
                                   "send Authorization: Bearer <token>"))
