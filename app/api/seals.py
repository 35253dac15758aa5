from flask import jsonify

from app.api import blueprint
from app.context import identity
from app.extensions import db
from processes import seals


@blueprint.get("/seals")
def list_seals():
    identity()
    return jsonify([seals.describe(s) for s in seals.listing(db.session)])
