"""The archive, the pages' side (the API is app/api/archive.py, the domain
processes/archive/): ``/archive``, the sealed documents filed, searched by their text and
metadata (the filters are the address's query, with the API's names), each with its request,
its download and its verification; auditors and admins put a document under legal hold."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.api.archive import filters_from_args
from app.context import env, identity
from app.errors import message_of
from app.extensions import db
from app.web import attempt, blueprint, thumbnails
from processes import documents
from processes.archive import retention, search
from processes.db import write_intent
from processes.errors import BadInput, NotFound, msg
from processes.models import BusinessType, Seal
from processes.seals import verification

PER_PAGE = 20
MAX_PAGE = 10_000
FILTERS = ("q", "title", "seal", "requester", "business_type", "from", "to", "retention",
           "hold")


def _usage_page() -> str | None:
    """The seal-usage log's page (用印台账), once it exists: a tab beside the archive."""
    return "/seal-usage" if any(rule.rule == "/seal-usage"
                                for rule in current_app.url_map.iter_rules()) else None


@blueprint.get("/archive")
@login_required
def archive():
    who = identity()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    args = {k: request.args[k] for k in FILTERS if request.args.get(k)}
    error, found = None, None
    try:
        filters = filters_from_args()
        found = search.search(db.session, who, filters, limit=PER_PAGE,
                              offset=(page - 1) * PER_PAGE)
    except BadInput as exc:
        error = message_of(exc)
    seals = db.session.execute(db.select(Seal.id, Seal.name).where(Seal.system.is_(False))
                               .order_by(Seal.name)).all()
    types = db.session.execute(db.select(BusinessType.key, BusinessType.name)
                               .order_by(BusinessType.name)).all()
    return render_template("archive.html", found=found, error=error, args=args, page=page,
                           seals=seals, business_types=types, may_hold=who.has_role("auditor"),
                           usage_page=_usage_page())


@blueprint.post("/archive/<int:request_id>/hold")
@login_required
def archive_hold(request_id: int):
    """Put under legal hold, or lift it (``action=release``), with a reason."""
    release = request.form.get("action") == "release"
    change = retention.clear_hold if release else retention.set_hold
    _done, error = attempt(lambda: change(db.session, identity(), request_id,
                                          request.form.get("reason")))
    if error is not None:
        flash(message_of(error), "error")
    else:
        flash(_("Legal hold lifted.") if release else _("Document put under legal hold."))
    back = request.form.get("next") or ""
    return redirect(back if back.startswith("/archive") else url_for("web.archive"))


@blueprint.get("/archive/<int:request_id>/verify")
@login_required
def archive_verify(request_id: int):
    """The seals of an archived document checked, as /verify checks an upload."""
    entry = search.entry_of(db.session, identity(), request_id)
    try:
        data = documents.path_for(env(), entry.sealed_sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(msg("the stored file of document %(sha256)s is missing",
                           sha256=entry.sealed_sha256)) from None

    def check() -> dict:
        with write_intent(False):
            return verification.verify(db.session, env(), data)

    result, error = attempt(check, write=False)
    pictures = {}
    if result is not None:
        pages = [s["placement"]["page"] for s in result["signatures"] if s.get("placement")]
        pictures = thumbnails.data_urls(data, pages) if pages else {}
    return render_template("verify.html", result=result, error=error,
                           filename=entry.filename, thumbnails=pictures)
