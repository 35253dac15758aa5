"""The pages (Jinja2, usable without JavaScript).

One module per area: ``inbox`` (the inbox and ``/``), ``tasks`` (working one task), ``requests``
(my requests, a new request, one request and its files), ``seals``, ``me`` (the profile:
password, API tokens, out-of-office), ``admin_users``, ``admin_groups``, ``admin_incidents``
(administrators), ``audit_log`` (auditors and administrators), ``dashboard`` (managers,
auditors, admins; its charts: ``charts``), ``verify`` (public: the seals of any PDF checked),
``processes`` (the flows, their versions and the business types: designers, managers, admins).
``present`` holds the template filters, which only format what the views hand them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Flask, request

from app.extensions import db
from app.transactions import rewind_uploads
from processes.db import retrying_deadlocks, unit_of_work
from processes.errors import BadInput, InvalidContent, SealflowError, TooLarge, WorkflowStateError

blueprint = Blueprint("web", __name__)

# Errors the person at the form can fix: the form is shown again with the message. The others
# (NotAllowed, NotFound, ...) go to app/errors.py, which renders the error page.
FIXABLE = (BadInput, InvalidContent, TooLarge, WorkflowStateError)

T = TypeVar("T")


def attempt(service: Callable[[], T],
            write: bool = True) -> tuple[T | None, SealflowError | None]:
    """The unit of work of a form POST (``processes.db.unit_of_work``): call the view's one
    service, then commit once (``write=False``: a unit of work that only reads).

    Returns ``(result, None)``; or, when the service raised an error the user can fix,
    ``(None, error)`` with the transaction rolled back, so the view can show the form again
    with the message and the values entered. Any other error is rolled back too, and raised
    (app/errors.py renders it).
    """
    def run() -> T:
        rewind_uploads()
        with unit_of_work(db.session, write=write):
            return service()

    try:
        result = retrying_deadlocks(run)
    except FIXABLE as exc:
        return None, exc
    return result, None


def data_fields() -> dict[str, str]:
    """The flow's form fields of a POST (inputs named ``data.<field id>``), blanks left out so
    the form's defaults and ``required`` rules apply."""
    return {name[len("data."):]: value for name, value in request.form.items()
            if name.startswith("data.") and value.strip()}


def init_app(app: Flask) -> None:
    from app.web import (  # noqa: F401
        admin_groups,
        admin_incidents,
        admin_users,
        archive,
        audit_log,
        dashboard,
        decisions,
        evidence,
        inbox,
        me,
        new_request,
        present,
        process_diff,
        processes,
        requests,
        seal_admin,
        seal_usage,
        seals,
        shares,
        studio,
        task_actions,
        tasks,
        timeline,
        verify,
    )

    present.init_app(app)
    timeline.init_app(app)
    app.register_blueprint(blueprint)
