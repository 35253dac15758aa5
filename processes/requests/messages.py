"""Events from outside: BPMN messages delivered to a waiting instance."""

from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy.orm import Session

from processes import audit
from processes.db import lock_request
from processes.errors import NotAllowed, NotFound, WorkflowStateError, msg
from processes.flows import engine
from processes.flows.engine import EngineIncident, StateUnreadable
from processes.flows.spiff import MessageDefinition
from processes.limits import check_data
from processes.models import Request, RequestStatus
from processes.people.directory import Identity
from processes.requests.advancing import advance, mark_incident
from processes.requests.forms import check_values
from processes.requests.queries import get_visible, require_exists

logger = logging.getLogger(__name__)

def _message_waits(wf, name: str) -> bool:
    return any(ev.event_type in (MessageDefinition.__name__, "MessageEventDefinition")
               and ev.name == name for ev in wf.waiting_events())


def deliver_message(session: Session, identity: Identity, request_id: int, name: str,
                    payload: Any) -> Request:
    """Deliver message ``name`` with a JSON object payload to the request's waiting instance."""
    # A business system's token with the ``messages`` scope may message any request (a CRM
    # reporting "the counterparty signed"); everyone else only the requests they can see.
    scopes = identity.scopes or frozenset()
    req = (require_exists(session, request_id) if "messages" in scopes
           else get_visible(session, identity, request_id))
    if not (req.requester_id == identity.user.id or identity.has_role("admin")
            or "messages" in scopes):
        raise NotAllowed(msg("messages are sent by the requester, an admin, or a token with the "
                             "messages scope"))
    payload = payload if payload is not None else {}
    check_data("payload", payload)
    variables = check_values([], payload, extra_allowed=True)
    locked = lock_request(session, request_id)
    if locked is None:
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    req = locked
    if req.status != RequestStatus.running:
        raise WorkflowStateError(msg("request %(request)s is %(status)s; no message waits",
                                     request=req.id, status=req.status.value))
    try:
        wf = engine.load(req.process, req.state)
    except StateUnreadable as exc:
        mark_incident(session, req, exc)
        return req
    if not _message_waits(wf, name):
        raise WorkflowStateError(msg("request %(request)s is not waiting for message '%(name)s'",
                                     request=req.id, name=name))
    event = BpmnEvent(MessageDefinition(name), payload={"payload": variables,
                                                         "result_var": None})
    try:
        wf.send_event(event)
        engine.run(wf)
    except WorkflowException:
        raise WorkflowStateError(msg("request %(request)s is not waiting for message '%(name)s'",
                                     request=req.id, name=name)) \
            from None
    except EngineIncident as exc:
        mark_incident(session, req, exc)
        engine.save(req, wf)
        return req
    audit.record(session, "message.delivered", actor=identity.user, request_id=req.id,
                 message=name, variables=sorted(variables))
    advance(session, req, wf, actor=identity.user)
    logger.info("message %s delivered to request %d", name, req.id)
    return req
