"""Verifying, the pages' side (the API is app/api/verify.py, the domain
processes/seals/verification.py): ``/verify``, public, no login; upload a PDF and see the
verdict on each of its seals, each drawn on a thumbnail of its page, and how to make other
software trust our seals (``_trust_root.html``)."""

from flask import render_template, request

from app.api.verify import uploaded_file
from app.context import env
from app.errors import status_of
from app.extensions import db
from app.ratelimit import rate_limited
from app.web import attempt, blueprint, thumbnails
from app.web import trust_root as trust_root  # the partial's template global
from processes.db import write_intent
from processes.seals import verification as verification


@blueprint.get("/verify")
def verify():
    return render_template("verify.html", result=None, error=None, filename=None,
                           thumbnails={})


@blueprint.post("/verify")
@rate_limited("verify", "VERIFY_RATE")
def verify_upload():
    upload = request.files.get("file")
    filename = upload.filename if upload is not None else None
    uploaded: list[bytes] = []

    def check() -> dict:
        uploaded.append(uploaded_file())
        # Reads only: no SQLite write lock held while the signatures are checked.
        with write_intent(False):
            return verification.verify(db.session, env(), uploaded[-1])

    result, error = attempt(check)
    pictures = {}
    if result is not None:
        pages = [s["placement"]["page"] for s in result["signatures"] if s.get("placement")]
        pictures = thumbnails.data_urls(uploaded[-1], pages) if pages else {}
    page = render_template("verify.html", result=result, error=error, filename=filename,
                           thumbnails=pictures)
    return (page, status_of(error)) if error is not None else page
