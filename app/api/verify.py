"""Verifying, the API's side (the page is app/web/verify.py, the domain
processes/seals/verification.py): ``POST /api/v1/verify``, public; the verdict on every
signature of an uploaded PDF."""

from flask import jsonify, request

from app.api import blueprint
from app.auth import public
from app.context import env
from app.errors import translate
from app.extensions import db
from app.ratelimit import rate_limited
from processes.db import write_intent
from processes.errors import InvalidContent, msg
from processes.seals import verification


def uploaded_file() -> bytes:
    """The multipart ``file`` part (the API's and the page's), or a 422 naming it."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidContent(msg("file is required: a PDF sent as the multipart field 'file'"),
                             [{"field": "file", "message": msg("required")}])
    return upload.read()


@blueprint.post("/verify")
@public
@rate_limited("verify", "VERIFY_RATE")
def verify_document():
    data = uploaded_file()
    # Reads only: no SQLite write lock held while the signatures are checked.
    with write_intent(False):
        result = verification.verify(db.session, env(), data)
        return jsonify({**result, "message": translate(result["message"])})
