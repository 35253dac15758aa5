"""What a lifecycle request (a flow with ``seal_action``) asks for, checked when it is made:
the seal to make or the change to a seal, and that it carries no document (its approvers
approve its data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.errors import InvalidContent, msg
from processes.models import User
from processes.people.directory import names_in


def plan(session: Session, action: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The variables a lifecycle request adds to its flow's (none for other requests)."""
    if action == "make":
        return lifecycle_plan(session, data)
    if action == "change":
        return change_plan(session, data)
    return {}


def _custodian_names(session: Session, data: dict[str, Any]) -> tuple[list[str], list[dict]]:
    names = names_in(data.get("custodians"))
    known = set(session.execute(select(User.name).where(User.name.in_(names),
                                                        User.active.is_(True))).scalars())
    return names, [{"field": "custodians",
                    "message": msg("no active user named '%(name)s'", name=n)}
                   for n in names if n not in known]


def _refuse(problems: list[dict]) -> None:
    if problems:
        raise InvalidContent(msg("%(field)s %(message)s", field=problems[0]['field'],
                                 message=problems[0]['message']), problems)


def lifecycle_plan(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """A request to make a seal: its name, type and custodians (who must exist), checked now;
    the custodians-to-be are the flow's ``seal_custodians``."""
    problems = [{"field": f, "message": "is required"}
                for f in ("seal_name", "new_seal_type", "custodians") if not data.get(f)]
    names, unknown = _custodian_names(session, data)
    _refuse(problems + unknown)
    return {"seal_custodians": names, "seal_type": data["new_seal_type"]}


SEAL_CHANGES = ("appearance", "renew", "custodians")


def change_plan(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """A request to change a seal: which change (a new appearance, a renewed certificate, other
    custodians, who must exist), checked now; the new custodians are ``new_custodians`` to the
    flow, while ``seal_custodians`` stay the present ones, who confirm the hand-over."""
    change = data.get("change")
    if change not in SEAL_CHANGES:
        _refuse([{"field": "change", "message": msg("must be one of %(values)s",
                                                   values=", ".join(SEAL_CHANGES))}])
    if change != "custodians":
        return {}
    names, unknown = _custodian_names(session, data)
    _refuse(([] if names else [{"field": "custodians", "message": "is required"}]) + unknown)
    return {"new_custodians": names}


def refuse_document(new: Any) -> None:
    """A lifecycle request carries no PDF: its approvers approve its data (DESIGN)."""
    given = [name for name, value in (("document", new.document),
                                      ("from_request", new.from_request),
                                      ("placement", new.placement)) if value]
    if given:
        message = msg("a request to make or change a seal carries no document: its approvers "
                      "approve its data")
        raise InvalidContent(message, [{"field": f, "message": msg("not accepted by a lifecycle "
                                                                   "flow")} for f in given])
