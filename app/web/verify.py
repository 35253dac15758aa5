"""Verifying, the pages' side (the API is app/api/verify.py, the domain
processes/seals/verification.py): ``/verify``, public, no login; upload a PDF and see the
verdict on each of its seals."""

from flask import render_template, request

from app.api.verify import uploaded_file
from app.context import env
from app.errors import status_of
from app.extensions import db
from app.ratelimit import rate_limited
from app.web import attempt, blueprint
from processes.db import write_intent
from processes.seals import verification as verification


@blueprint.get("/verify")
def verify():
    return render_template("verify.html", result=None, error=None, filename=None)


@blueprint.post("/verify")
@rate_limited("verify", "VERIFY_RATE")
def verify_upload():
    upload = request.files.get("file")
    filename = upload.filename if upload is not None else None

    def check() -> dict:
        # Reads only: no SQLite write lock held while the signatures are checked.
        with write_intent(False):
            return verification.verify(db.session, env(), uploaded_file())

    result, error = attempt(check)
    page = render_template("verify.html", result=result, error=error, filename=filename)
    return (page, status_of(error)) if error is not None else page
