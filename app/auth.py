"""Who is calling: browser sessions (Flask-Login, CSRF-protected) and bearer tokens (API).

A browser session lives on the server (``processes/people/sessions.py``): Flask's signed cookie only
carries the session's random key, so log-out, a password change or a deactivation ends it
however many copies of the cookie exist. Log-ins are throttled (``processes/people/logins.py``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    after_this_request,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.extensions import csrf, db, login_manager
from app.i18n import current_language
from processes.db import unit_of_work
from processes.errors import NotAuthenticated, msg
from processes.models import User, utcnow
from processes.people import directory, logins, sessions, tokens

logger = logging.getLogger(__name__)

blueprint = Blueprint("auth", __name__)

SESSION_KEY = "sf_session"
"""The key of the server-side session, in Flask's (signed) session cookie."""


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # One query on every request with a session cookie: the live session joined to its user.
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not user_id.isdigit():
        return None
    return sessions.session_user(db.session, int(user_id), key)


def login_limits() -> logins.LoginLimits:
    c = current_app.config
    return logins.LoginLimits(failures=c["LOGIN_FAILURES"],
                              address_failures=c["LOGIN_ADDRESS_FAILURES"],
                              minutes=c["LOGIN_LOCKOUT_MINUTES"],
                              session_hours=c["SESSION_HOURS"])


def client_address() -> str:
    return request.remote_addr or "unknown"


def begin_session(user: User, key: str) -> None:
    """Put a new server-side session in the browser's cookie (after the commit that made it).
    Nothing of the previous cookie carries over."""
    session.clear()
    session[SESSION_KEY] = key
    login_user(user)


def locked_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return _("Too many failed log-ins: try again in %(minutes)s min, or ask an administrator "
             "to unlock it", minutes=minutes)


class _RecentUses:
    """The tokens whose use this process recorded within the last minute, so that a burst of
    calls with one token costs one write, not one each (the database's condition keeps it to
    one across processes)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def claim(self, token_id: int) -> bool:
        now = time.monotonic()
        interval = tokens.USE_INTERVAL.total_seconds()
        with self._lock:
            if now - self._seen.get(token_id, -math.inf) < interval:
                return False
            if len(self._seen) >= self._max_keys:
                self._seen = {k: t for k, t in self._seen.items() if now - t < interval}
            self._seen[token_id] = now
            return True

    def release(self, token_id: int) -> None:
        with self._lock:
            self._seen.pop(token_id, None)


def _record_use_later(token_id: int, first_today: bool) -> None:
    """Record a token's use after the response is sent (``call_on_close``), in a short write
    transaction of its own: never inside the request's transaction, never delaying it, and a
    failure to record never fails the request. The day's first use is audited."""
    app = current_app._get_current_object()
    recent = app.extensions.setdefault("sealflow_token_uses", _RecentUses())
    # The day's first use passes the per-minute gate: its audit must not wait for the next.
    if not recent.claim(token_id) and not first_today:
        return
    at = utcnow()

    def record() -> None:
        try:
            with app.app_context(), unit_of_work(db.session):
                tokens.record_use(db.session, token_id, at, first_today=first_today)
        except Exception as exc:  # noqa: BLE001 - a use not recorded is recorded next time
            recent.release(token_id)
            logger.warning("could not record the use of token %d: %s", token_id, exc)

    @after_this_request
    def _after(response):
        response.call_on_close(record)
        return response


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
            raise NotAuthenticated(msg("the Authorization header must be 'Bearer <token>'"))
        found = directory.identity_from_token(db.session, token.strip())
        if found is None:
            raise NotAuthenticated(msg("the token is unknown, revoked, or its user is inactive"))
        g.sealflow_identity = found
        if found.token_use_due and found.token_id is not None:
            _record_use_later(found.token_id, found.token_first_today)
    elif request.method not in ("GET", "HEAD", "OPTIONS"):
        # Who is calling comes first: nobody at all is a 401, before any CSRF check (whose
        # 400 would tell a stranger the route exists and what it wants).
        if not current_user.is_authenticated:
            raise NotAuthenticated(msg("log in, or send Authorization: Bearer <token>"))
        csrf.protect()


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("web.inbox")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        with unit_of_work(db.session):  # a failure is counted too
            result = logins.log_in(db.session, request.form.get("name", "").strip(),
                                   request.form.get("password", ""), address=client_address(),
                                   limits=login_limits(), replaces=session.get(SESSION_KEY),
                                   language=current_language())
        if result.user is not None and result.key is not None:
            begin_session(result.user, result.key)
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_after:
            # The same answer whether or not the name exists (unknown names are counted too).
            flash(locked_message(result.retry_after), "error")
            response = make_response(render_template("login.html"), 429)
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        flash(_("Wrong name or password"), "error")
        return render_template("login.html"), 401
    return render_template("login.html")


@blueprint.route("/logout", methods=["POST"])
def logout():
    """End this browser's session on the server: a copy of the cookie is worthless after."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    with unit_of_work(db.session):
        logins.log_out(db.session, user, session.get(SESSION_KEY))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    app.before_request(_bearer)
    app.register_blueprint(blueprint)
