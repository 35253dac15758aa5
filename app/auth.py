"""Who is calling: browser sessions (Flask-Login, CSRF-protected) and bearer tokens (API)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_user, logout_user

from app.extensions import csrf, db, login_manager
from processes import people
from processes.errors import NotAuthenticated
from processes.models import User

blueprint = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def public(view):
    """Mark an API view that anyone may call: no token is looked up and no CSRF token is
    required, so it must change nothing and act for nobody (``POST /api/v1/verify``)."""
    view.sealflow_public = True
    return view


def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "sealflow_public", False)


def _bearer() -> None:
    """API calls: a bearer token identifies the caller; without one, the session must pass
    CSRF (a browser's fetch carries the X-CSRFToken header). Public views act for nobody:
    neither is checked there."""
    if not request.path.startswith("/api/") or _is_public():
        return
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        found = people.identity_from_token(db.session, token.strip())
        if found is None:
            raise NotAuthenticated("the token is unknown, revoked, or its user is inactive")
        g.sealflow_identity = found
    elif request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("web.inbox")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = people.check_password(db.session, request.form.get("name", "").strip(),
                                     request.form.get("password", ""))
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("用户名或密码错误 / Wrong name or password", "error")
        return render_template("login.html"), 401
    return render_template("login.html")


@blueprint.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    app.before_request(_bearer)
    app.register_blueprint(blueprint)
