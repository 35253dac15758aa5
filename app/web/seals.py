"""``/seals``: the organisation's seals and their images."""

from flask import Response, render_template
from flask_login import login_required

from app.extensions import db
from app.web import blueprint
from processes import seals as seal_service


@blueprint.get("/seals")
@login_required
def seals():
    return render_template("seals.html", seals=seal_service.listing(db.session))


@blueprint.get("/seals/<int:seal_id>/image.png")
@login_required
def seal_image(seal_id: int):
    seal = seal_service.get_seal(db.session, seal_id)
    response = Response(seal.appearance_png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
