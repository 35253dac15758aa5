from flask import jsonify

from app.api import blueprint, page_args
from app.context import identity
from app.extensions import db
from processes import lifecycle, seals


@blueprint.get("/seals")
def list_seals():
    identity()
    return jsonify([seals.describe(s) for s in seals.listing(db.session)])


@blueprint.get("/seals/<int:seal_id>/usage")
def seal_usage(seal_id: int):
    limit, offset = page_args()
    seal = seals.get_seal(db.session, seal_id)
    return jsonify(lifecycle.usage_log(db.session, identity(), seal, limit=limit,
                                       offset=offset))
