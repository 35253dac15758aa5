"""Share links, the pages' side (the API is app/api/shares.py, the domain
processes/requests/shares.py): made and revoked on the request page; ``/s/<token>``, the sealed
document's page for anyone holding the link, behind its password when it has one (guesses
limited per client address, SEALFLOW_SHARE_PASSWORD_RATE, and per link as log-ins are per
name, SEALFLOW_LOGIN_FAILURES in SEALFLOW_LOGIN_LOCKOUT_MINUTES). Each opening and each download is
audited, on a GET that takes the write path explicitly (app.transactions.writes)."""

from __future__ import annotations

import math

from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from app.api.shares import share_url
from app.auth import login_limits
from app.context import env, identity
from app.errors import message_of
from app.extensions import db
from app.ratelimit import rate_limited
from app.transactions import fetched, writes
from app.web import attempt, blueprint
from processes import documents
from processes.db import unit_of_work
from processes.errors import Gone
from processes.models import Request
from processes.requests import shares
from processes.seals import verification
from processes.share_models import ShareLink

UNLOCKED = "shares_unlocked"
"""The session's list of the password-protected links this browser has opened."""


@blueprint.post("/requests/<int:request_id>/shares")
@login_required
def make_share(request_id: int):
    made, error = attempt(lambda: shares.make(
        db.session, identity(), request_id, expires_at=request.form.get("expires_at"),
        password=request.form.get("password") or None))
    if error is not None:
        flash(message_of(error), "error")
    else:
        assert made is not None
        # The only time the link is shown: only its hash is kept.
        flash(_("Share link made; copy it now, it is shown only this once: %(url)s",
                url=share_url(made[1])), "success")
    return redirect(url_for("web.request_detail", request_id=request_id) + "#shares")


@blueprint.post("/shares/<int:share_id>/revoke")
@login_required
def revoke_share(share_id: int):
    link, error = attempt(lambda: shares.revoke(db.session, identity(), share_id))
    if error is not None or link is None:
        flash(message_of(error) if error else _("Not found"), "error")
        return redirect(url_for("web.my_requests"))
    flash(_("Share link revoked"), "success")
    return redirect(url_for("web.request_detail", request_id=link.request_id) + "#shares")


def _open(token: str) -> tuple[ShareLink, Request] | tuple[None, str]:
    """The link and its request; or (None, why) when it expired or was revoked. An unknown
    token raises NotFound (the error page, 404)."""
    try:
        return shares.find(db.session, token)
    except Gone as gone:
        return None, message_of(gone)


def _unlocked(link: ShareLink) -> bool:
    return link.password_hash is None or link.id in session.get(UNLOCKED, [])


@blueprint.get("/s/<token>")
@writes
def shared(token: str):
    link, req = _open(token)
    if link is None:
        return render_template("share_gone.html", reason=req), 410
    assert isinstance(req, Request)
    if not _unlocked(link):
        return render_template("share.html", token=token, locked=True, req=req)
    if fetched():
        with unit_of_work(db.session):
            shares.opened(db.session, link, download=False, address=request.remote_addr)
    sealed = req.sealed_document
    assert sealed is not None  # only a sealed request is shared
    data = documents.path_for(env(), sealed.sha256).read_bytes()
    check = verification.verify(db.session, env(), data)
    return render_template("share.html", token=token, locked=False, req=req, link=link,
                           sealed=sealed, check=check)


@blueprint.post("/s/<token>")
@rate_limited("share_password", "SHARE_PASSWORD_RATE")
def unlock_share(token: str):
    link, req = _open(token)
    if link is None:
        return render_template("share_gone.html", reason=req), 410
    assert isinstance(req, Request)
    with unit_of_work(db.session):
        opened, wait = shares.try_password(db.session, link, request.form.get("password", ""),
                                           address=request.remote_addr, limits=login_limits())
    if wait:
        response = make_response(render_template(
            "share.html", token=token, locked=True, req=req,
            too_many=max(1, math.ceil(wait / 60))), 429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not opened:
        return render_template("share.html", token=token, locked=True, req=req,
                               wrong=True), 403
    session[UNLOCKED] = [*session.get(UNLOCKED, [])[-49:], link.id]
    return redirect(url_for("web.shared", token=token))


@blueprint.get("/s/<token>/sealed.pdf")
@writes
def shared_pdf(token: str):
    link, req = _open(token)
    if link is None:
        return render_template("share_gone.html", reason=req), 410
    assert isinstance(req, Request)
    if not _unlocked(link):
        return redirect(url_for("web.shared", token=token))
    if fetched():
        with unit_of_work(db.session):
            shares.opened(db.session, link, download=True, address=request.remote_addr)
    assert req.sealed_document is not None
    stem = req.filename[:-4] if req.filename.lower().endswith(".pdf") else req.filename
    return send_file(documents.path_for(env(), req.sealed_document.sha256),
                     mimetype="application/pdf", as_attachment=True,
                     download_name=f"{stem}-sealed.pdf")
