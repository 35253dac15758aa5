"""What managers and admins change without deploying: retiring a flow's version (or
reinstating it), and which flow a business type routes to. Each change is audited."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from processes import audit
from processes.errors import NotAllowed, WorkflowStateError, msg
from processes.flows.definitions import add_business_type, version
from processes.models import BusinessType, ProcessDefinition, utcnow
from processes.people.directory import Identity

logger = logging.getLogger(__name__)


def retire(session: Session, identity: Identity, key: str, number: int) -> ProcessDefinition:
    """Managers and admins: no new request starts on this version; those running on it
    finish on it. Filing takes the latest version not retired."""
    _may_manage(identity, msg("retiring a flow version"))
    definition = version(session, key, number)
    if definition.retired_at is not None:
        raise WorkflowStateError(msg("version %(number)s of flow '%(key)s' is already retired",
                                     number=number, key=key))
    definition.retired_at = utcnow()
    definition.retired_by_id = identity.user.id
    session.flush()
    audit.record(session, "process.retired", actor=identity.user, key=key, version=number)
    logger.info("process %s version %d retired by %s", key, number, identity.user.name)
    return definition


def reinstate(session: Session, identity: Identity, key: str, number: int) -> ProcessDefinition:
    """Undo a retirement: the version may start requests again (when it is the latest one
    not retired)."""
    _may_manage(identity, msg("reinstating a flow version"))
    definition = version(session, key, number)
    if definition.retired_at is None:
        raise WorkflowStateError(msg("version %(number)s of flow '%(key)s' is not retired",
                                     number=number, key=key))
    definition.retired_at = None
    definition.retired_by_id = None
    session.flush()
    audit.record(session, "process.reinstated", actor=identity.user, key=key, version=number)
    logger.info("process %s version %d reinstated by %s", key, number, identity.user.name)
    return definition


def _may_manage(identity: Identity, what: str) -> None:
    if not identity.has_role("manager"):
        raise NotAllowed(msg("%(what)s needs the manager or admin role", what=what))


def map_business_type(session: Session, identity: Identity, key: str, process_key: str,
                      name: str | None = None) -> BusinessType:
    """Managers and admins: :func:`add_business_type`, audited as theirs."""
    _may_manage(identity, msg("mapping business types to flows"))
    return add_business_type(session, key, process_key, name, actor=identity.user)
