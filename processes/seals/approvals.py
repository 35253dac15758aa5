"""What counts as an approval of a request, and whether a request has the approvals it needs.

An approval is a user task (never a manual task, whose confirmation takes no decision)
completed with the decision ``approve`` on the request's current subject (the document's
SHA-256; for a lifecycle request, which carries no document, the SHA-256 of its data) by someone
other than the requester and other than whoever filed the request on their behalf. No grant
is written, no seal changed and nothing sealed without at least one; a seal's policy may demand
more (``min_approvals``, demanded approvers), never fewer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from processes.errors import msg
from processes.models import Request, TaskStatus, User
from processes.task_models import Task


def subject_sha256(req: Request) -> str:
    """What an approver of ``req`` approves: the document's bytes, or a lifecycle request's
    data (fixed when the request is made)."""
    if req.document is not None:
        return req.document.sha256
    canonical = json.dumps(req.data or {}, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# What counts, in one prebuilt statement (built once, not per call): completed, approving,
# on the current subject, by someone not excluded; a manual task's confirmation is never an
# approval (it takes no decision either).
_GIVEN = (select(Task, User.name).join(User, User.id == Task.completed_by_id)
          .where(Task.request_id == bindparam("rid"), Task.status == TaskStatus.completed,
                 Task.document_sha256 == bindparam("sha"), Task.decision == "approve",
                 Task.completed_by_id.not_in(bindparam("excluded", expanding=True)),
                 Task.element_id.not_in(bindparam("manual", expanding=True)))
          .order_by(Task.completed_at, Task.id))


def given(session: Session, req: Request) -> list[dict[str, Any]]:
    """The approvals that count for ``req`` now, oldest first (one per task): on exactly its
    current subject (a revision resets them), by anyone but its requester and its filer."""
    manual = sorted(e for e, meta in (req.process.tasks or {}).items() if meta.get("manual"))
    rows = session.execute(_GIVEN, {
        "rid": req.id, "sha": subject_sha256(req), "manual": manual,
        "excluded": sorted({i for i in (req.requester_id, req.created_by_id) if i is not None})})
    return [{"task": t.id, "element": t.element_id, "name": t.name, "by": by,
             "decision": t.decision, "at": t.completed_at.isoformat()} for t, by in rows]


def approvers(approvals: list[dict[str, Any]]) -> set[str]:
    return {a["by"] for a in approvals or [] if a.get("decision") == "approve"}


def missing(approvals: list[dict[str, Any]], *, lifecycle: bool) -> str | None:
    """The universal rule (DESIGN: security rules): at least one approval. The reason to
    refuse, or None."""
    if approvers(approvals):
        return None
    if lifecycle:
        return msg("no approval by anyone other than the requester and whoever filed the "
                   "request was given on the request's data: nothing is sealed or changed "
                   "without one")
    return msg("no approval by anyone other than the requester and whoever filed the request "
               "was given on the document as it stands: nothing is sealed or changed without "
               "one")


def first_unmet(demands: list[set[str]], *, distinct: bool) -> int | None:
    """The index of the first demand (each the set of approvers who meet it) that cannot be
    met, or None. With ``distinct``, each approver meets at most one demand (a bipartite
    matching: a head who is also the custodian counts once)."""
    if not distinct:
        return next((i for i, people in enumerate(demands) if not people), None)
    holder: dict[str, int] = {}  # approver -> the demand they meet

    def place(i: int, seen: set[str]) -> bool:
        for person in sorted(demands[i]):
            if person in seen:
                continue
            seen.add(person)
            if person not in holder or place(holder[person], seen):
                holder[person] = i
                return True
        return False

    for i in range(len(demands)):
        if not place(i, set()):
            return i
    return None
