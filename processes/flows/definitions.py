"""Deployed flows: their versions, and the business types mapped to them."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit
from processes.errors import NotFound
from processes.models import BusinessType, ProcessDefinition

logger = logging.getLogger(__name__)


def latest(session: Session, key: str) -> ProcessDefinition:
    definition = session.execute(
        select(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1)).scalar_one_or_none()
    if definition is None:
        raise NotFound(f"no process with key {key!r} is deployed")
    return definition


def version(session: Session, key: str, number: int) -> ProcessDefinition:
    """One deployed version (NotFound: no such key or version)."""
    definition = session.execute(
        select(ProcessDefinition).where(ProcessDefinition.key == key,
                                        ProcessDefinition.version == number)
    ).scalar_one_or_none()
    if definition is None:
        raise NotFound(f"process {key!r} has no version {number}")
    return definition


def listing(session: Session) -> list[dict]:
    """Every flow: its latest version plus the list of all versions (one query)."""
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
               ProcessDefinition.sha256, ProcessDefinition.deployed_at)
        .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
    flows: dict[str, dict] = {}
    for key, version, name, sha, at in rows:
        entry = flows.setdefault(key, {"versions": []})
        entry.update(key=key, name=name, version=version, sha256=sha,
                     deployed_at=at.isoformat())
        entry["versions"].append(version)
    return list(flows.values())


def add_business_type(session: Session, key: str, process_key: str,
                      name: str | None = None) -> BusinessType:
    """Map a business type to a flow, or re-point it (managers change routing without code)."""
    latest(session, process_key)
    bt = session.execute(select(BusinessType).where(BusinessType.key == key)).scalar_one_or_none()
    if bt is None:
        bt = BusinessType(key=key, name=name or key, process_key=process_key)
        session.add(bt)
    else:
        bt.process_key = process_key
        bt.name = name or bt.name
    session.flush()
    audit.record(session, "business_type.mapped", key=key, process=process_key)
    return bt


def business_types(session: Session) -> list[BusinessType]:
    return list(session.execute(select(BusinessType).order_by(BusinessType.key)).scalars())
