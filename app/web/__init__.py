"""The pages (Jinja2, usable without JavaScript)."""

from flask import Blueprint, Flask

blueprint = Blueprint("web", __name__)


def init_app(app: Flask) -> None:
    from app.web import pages  # noqa: F401
    app.register_blueprint(blueprint)
