"""The inbox, the pages' side (the domain is processes/requests/inbox.py): ``/`` and ``/inbox``,
the open tasks the user may complete, and their unread notices."""

from flask import redirect, render_template, url_for
from flask_login import login_required

from app.context import identity
from app.extensions import db
from app.web import attempt, blueprint
from processes import notices
from processes.requests import inbox as inbox_service


@blueprint.get("/")
def index():
    return redirect(url_for("web.inbox"))


@blueprint.get("/inbox")
@login_required
def inbox():
    user = identity().user
    tasks = inbox_service.open_tasks(db.session, user, limit=100)
    unread = notices.mine(db.session, user, unread_only=True, limit=20)
    return render_template("inbox.html", tasks=tasks, notices=unread)


@blueprint.post("/notices/read")
@login_required
def read_notices():
    attempt(lambda: notices.mark_read(db.session, identity().user))
    return redirect(url_for("web.inbox"))
