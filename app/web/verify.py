"""Verifying, the pages' side (the API is app/api/verify.py, the domain
processes/seals/verification.py): ``/verify``, public, no login; upload a PDF and see the
verdict on each of its seals, each drawn on a thumbnail of its page, and how to make other
software trust our seals (``_trust_root.html``). A signed-in person's check is audited."""

from flask import render_template, request
from flask_login import current_user

from app.api.verify import uploaded_file
from app.context import env
from app.errors import status_of
from app.extensions import db
from app.ratelimit import rate_limited
from app.web import attempt, blueprint, thumbnails
from app.web import trust_root as trust_root  # the partial's template global
from processes.seals import verification as verification


@blueprint.app_template_global()
def seal_box(placement: dict | None) -> dict | None:
    """Where a seal's box is on its page's thumbnail, in percent of the picture: ``{left, top,
    width, height}`` (pdftoppm draws the page turned by its ``/Rotate``, clockwise), or None
    when the page has no area."""
    if not placement:
        return None
    bx1, by1, bx2, by2 = placement["page_box"]
    width, height = bx2 - bx1, by2 - by1
    if width <= 0 or height <= 0:
        return None
    x1, y1, x2, y2 = placement["rect"]
    # The corners as fractions of the unturned page, from its top left, then turned.
    corners = [((x - bx1) / width, (by2 - y) / height) for x in (x1, x2) for y in (y1, y2)]
    turn = {0: lambda u, v: (u, v), 90: lambda u, v: (1 - v, u),
            180: lambda u, v: (1 - u, 1 - v), 270: lambda u, v: (v, 1 - u)}
    turned = [turn.get(placement.get("rotate") or 0, turn[0])(u, v) for u, v in corners]
    us, vs = [u for u, _ in turned], [v for _, v in turned]
    return {"left": 100 * min(us), "top": 100 * min(vs),
            "width": 100 * (max(us) - min(us)), "height": 100 * (max(vs) - min(vs))}


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
        return verification.verify(db.session, env(), uploaded[-1])

    # Reads only: no SQLite write lock held while the signatures are checked; a signed-in
    # person's check is then audited in a short writer's transaction of its own.
    result, error = attempt(check, write=False)
    if result is not None and current_user.is_authenticated:
        attempt(lambda: verification.record_check(db.session, current_user._get_current_object(),
                                                  result, filename))
    pictures = {}
    if result is not None:
        pages = [s["placement"]["page"] for s in result["signatures"] if s.get("placement")]
        pictures = thumbnails.data_urls(uploaded[-1], pages) if pages else {}
    page = render_template("verify.html", result=result, error=error, filename=filename,
                           thumbnails=pictures)
    return (page, status_of(error)) if error is not None else page
