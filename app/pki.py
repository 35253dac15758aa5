"""Public PKI endpoints: the CA certificates (and, later, the CRL and the TSA)."""

from flask import Blueprint, Response

from app.extensions import db
from processes import seals
from processes.errors import NotFound

blueprint = Blueprint("pki", __name__, url_prefix="/pki")


@blueprint.get("/ca")
def ca() -> Response:
    pems = seals.ca_certificates(db.session)
    if not pems:
        raise NotFound("the organisation CA does not exist yet: run `sealflow init`")
    return Response(b"".join(pems), mimetype="application/x-pem-file")
