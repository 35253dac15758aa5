"""A use a seal's policy refused, recorded in the audit log with the rule's code, wherever it
was decided: at filing (``policy.check_use``: nothing else is written then, the request is not
made), at the authorized end (the approvals the policy demands, a quota: the request fails),
at sealing (the policy's window, its demands as the organisation stands then). The dashboard
counts them per rule (processes/dashboard/figures.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from processes import audit
from processes.errors import PolicyRefused
from processes.models import Request, User

REFUSED = "seal.policy_refused"
"""The audit action."""
UNNAMED = "policy"
"""The rule of a refusal that names none (a reason written before rules had codes)."""


def rule_of(exc: PolicyRefused) -> str:
    """The rule a refusal names (its problem's ``rule``)."""
    for problem in exc.problems:
        if isinstance(problem, dict) and problem.get("rule"):
            return str(problem["rule"])
    return UNNAMED


def record(session: Session, *, rule: str, stage: str, reason: Any, seal_id: int | None,
           requester: str | None, process: str | None, business_type: str | None,
           actor: User | None = None, request_id: int | None = None) -> None:
    """One refusal: ``stage`` is ``filing``, ``authorized`` or ``sealing``; ``reason`` the
    message the refused person was given (its English text is kept)."""
    audit.record(session, REFUSED, actor=actor, request_id=request_id, seal_id=seal_id,
                 rule=rule, stage=stage, reason=str(reason), requester=requester,
                 process=process, business_type=business_type)


def record_of_request(session: Session, req: Request, *, rule: str, stage: str,
                      reason: Any) -> None:
    """A refusal of a request made (at its authorized end, or at sealing)."""
    record(session, rule=rule, stage=stage, reason=reason, seal_id=req.seal_id,
           requester=req.requester.name, process=req.process.key,
           business_type=req.business_type, request_id=req.id)
