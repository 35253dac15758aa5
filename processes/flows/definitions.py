"""Deployed flows: their versions (the current one: the latest not retired), and the business
types mapped to them. Retiring a version is processes/design/manage.py."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit
from processes.errors import BadInput, InvalidContent, NotFound, SealflowError, msg
from processes.limits import text_problem
from processes.models import BusinessType, ProcessDefinition, User

logger = logging.getLogger(__name__)

NOT_RETIRED = ProcessDefinition.retired_at.is_(None)


def current(session: Session, key: str) -> ProcessDefinition | None:
    """The version new requests of ``key`` start on: the latest one not retired."""
    return session.execute(
        select(ProcessDefinition).where(ProcessDefinition.key == key, NOT_RETIRED)
        .order_by(ProcessDefinition.version.desc()).limit(1)).scalar_one_or_none()


def latest(session: Session, key: str) -> ProcessDefinition:
    """The current version of ``key``; NotFound when none is deployed, InvalidContent (a
    request cannot be filed on it) when every version is retired."""
    definition = current(session, key)
    if definition is None:
        raise no_current_version(session, key)
    return definition


def no_current_version(session: Session, key: str) -> SealflowError:
    """Why no new request starts on ``key``: it is unknown, or all its versions are retired."""
    if not deployed(session, key):
        return NotFound(msg("no process with key '%(key)s' is deployed", key=key))
    message = msg("every version of flow '%(key)s' is retired: it starts no new requests",
                  key=key)
    return InvalidContent(message, [{"field": "process", "message": message}])


def deployed(session: Session, key: str) -> bool:
    return session.execute(select(ProcessDefinition.id).where(
        ProcessDefinition.key == key).limit(1)).first() is not None


def version(session: Session, key: str, number: int) -> ProcessDefinition:
    """One deployed version (NotFound: no such key or version)."""
    definition = session.execute(
        select(ProcessDefinition).where(ProcessDefinition.key == key,
                                        ProcessDefinition.version == number)
    ).scalar_one_or_none()
    if definition is None:
        raise NotFound(msg("process '%(key)s' has no version %(number)s", key=key, number=number))
    return definition


def listing(session: Session) -> list[dict]:
    """Every flow: its current version (the latest when all are retired), the list of all
    versions and of the retired ones (one query)."""
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
               ProcessDefinition.sha256, ProcessDefinition.deployed_at,
               ProcessDefinition.retired_at)
        .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
    flows: dict[str, dict] = {}
    for key, number, name, sha, at, retired_at in rows:
        entry = flows.setdefault(key, {"versions": [], "retired": []})
        if retired_at is None or not entry.get("current"):
            entry.update(key=key, name=name, version=number, sha256=sha,
                         deployed_at=at.isoformat(), current=retired_at is None)
        entry["versions"].append(number)
        if retired_at is not None:
            entry["retired"].append(number)
    return list(flows.values())


def add_business_type(session: Session, key: str, process_key: str,
                      name: str | None = None, *, actor: User | None = None) -> BusinessType:
    """Map a business type to a flow, or re-point it (managers change routing without code).
    The flow must be deployed; the next request of the type starts on its current version."""
    key, name = (key or "").strip(), (name or "").strip() or None
    if len(key) > 100 or text_problem(key):
        raise BadInput(msg("the business type's key must be text of at most %(longest)s "
                           "characters", longest=100))
    if len(name or "") > 200 or text_problem(name or ""):
        raise BadInput(msg("the business type's name must be text of at most %(longest)s "
                           "characters", longest=200))
    if not key:
        raise BadInput(msg("a business type needs a key"))
    if not deployed(session, process_key):
        message = msg("no process with key '%(key)s' is deployed", key=process_key)
        raise InvalidContent(message, [{"field": "process", "message": message}])
    bt = session.execute(select(BusinessType).where(BusinessType.key == key)).scalar_one_or_none()
    previous = bt.process_key if bt is not None else None
    if bt is None:
        bt = BusinessType(key=key, name=name or key, process_key=process_key)
        session.add(bt)
    else:
        bt.process_key = process_key
        bt.name = name or bt.name
    session.flush()
    audit.record(session, "business_type.mapped", actor=actor, key=key, process=process_key,
                 previous=previous, name=bt.name)
    return bt


def business_types(session: Session) -> list[BusinessType]:
    return list(session.execute(select(BusinessType).order_by(BusinessType.key)).scalars())
