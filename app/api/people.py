from flask import jsonify

from app.api import blueprint
from app.context import identity
from app.extensions import db
from processes import people


@blueprint.get("/me")
def me():
    return jsonify(people.describe(db.session, identity().user))
