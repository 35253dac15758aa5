"""``/`` and ``/inbox``: the open tasks the user may complete."""

from flask import redirect, render_template, url_for
from flask_login import login_required

from app.context import identity
from app.extensions import db
from app.web import blueprint
from processes import inbox as inbox_service


@blueprint.get("/")
def index():
    return redirect(url_for("web.inbox"))


@blueprint.get("/inbox")
@login_required
def inbox():
    tasks = inbox_service.open_tasks(db.session, identity().user, limit=100)
    return render_template("inbox.html", tasks=tasks)
