"""The dashboard, the API's side (the page is app/web/dashboard.py, the domain
processes/dashboard/figures.py): ``GET /api/v1/dashboard``, the figures behind the page, with
the page's filters as its query string."""

from flask import jsonify, request

from app.api import blueprint
from app.context import identity
from app.extensions import db
from processes.dashboard import figures, filters


@blueprint.get("/dashboard")
def get_dashboard():
    who = identity()
    figures.require_reader(who)  # before the filters: to others, a 403 whatever they ask
    return jsonify(figures.figures(db.session, who, filters.parse(request.args)))
