"""Public PKI endpoints: the CA certificates, the CRLs (issuing CA and root), the OCSP responder
and the timestamp authority."""

import base64
from urllib.parse import unquote

from flask import Blueprint, Response, request
from werkzeug.exceptions import UnsupportedMediaType

from app.context import env
from app.extensions import csrf, db
from app.transactions import commits
from processes import crl, ocsp, seals, tsa
from processes.errors import NotFound

blueprint = Blueprint("pki", __name__)

TSA_QUERY = "application/timestamp-query"
TSA_REPLY = "application/timestamp-reply"
MAX_TSA_QUERY_BYTES = 64 * 1024
"""A TimeStampReq is about a hundred bytes; anything far larger is refused with 413."""


@blueprint.get("/pki/ca")
def ca() -> Response:
    pems = seals.ca_certificates(db.session)
    if not pems:
        raise NotFound("the organisation CA does not exist yet: run `sealflow init`")
    return Response(b"".join(pems), mimetype="application/x-pem-file")


@blueprint.get("/pki/crl")
def crl_der() -> Response:
    """The issuing CA's current CRL (DER), as published on revocation and on schedule."""
    return _crl("issuing")


@blueprint.get("/pki/root.crl")
def root_crl_der() -> Response:
    """The root CA's current CRL (DER): the status of the issuing CA's certificate."""
    return _crl("root")


def _crl(issuer: str) -> Response:
    current = crl.latest(db.session, issuer)
    if current is None:
        raise NotFound(f"no {'root ' if issuer == 'root' else ''}CRL is published yet: run "
                       "`sealflow init`")
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
    response = Response(ocsp.respond(db.session, env(), der), mimetype=OCSP_RESPONSE)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.post("/tsa")
@csrf.exempt
@commits
def timestamp_authority() -> Response:
    """RFC 3161 over HTTP: a DER TimeStampReq in, a DER TimeStampResp out (a malformed request
    gets a rejection response, still 200, as the RFC has it)."""
    if request.mimetype != TSA_QUERY:
        raise UnsupportedMediaType(f"send a DER TimeStampReq as {TSA_QUERY}")
    request.max_content_length = MAX_TSA_QUERY_BYTES  # get_data: 413 beyond it
    reply = tsa.timestamp(db.session, env(), request.get_data(cache=False),
                          client=request.remote_addr)
    return Response(reply, mimetype=TSA_REPLY)
