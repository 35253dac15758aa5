from flask import redirect, url_for
from flask_login import login_required

from app.web import blueprint


@blueprint.get("/")
def index():
    return redirect(url_for("web.inbox"))


@blueprint.get("/inbox")
@login_required
def inbox():
    return "inbox"
