"""What the flows pages show: every flow with its business types and current version, and
one flow's versions with their deploy history, instances and incidents. Reads only."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, undefer

from processes.errors import NotFound, msg
from processes.models import BusinessType, ProcessDefinition, Request, RequestStatus, User

# Requests still on their flow (an incident waits for a retry, a halted one for its seal);
# the others have left it (authorized ones are sealing, whatever the flow does next).
IN_FLIGHT = (RequestStatus.running, RequestStatus.halted, RequestStatus.incident)

_IN_FLIGHT_NAMES = frozenset(s.value for s in IN_FLIGHT)

INCIDENTS_SHOWN = 100


@dataclass
class FlowSummary:
    key: str
    name: str
    current: int | None
    """The version new requests start on; None when every version is retired."""
    latest: int
    versions: int
    business_types: list[BusinessType] = field(default_factory=list)
    running: int = 0
    """Requests on any of its versions still in the flow (incidents included)."""
    incidents: int = 0


@dataclass
class VersionView:
    definition: ProcessDefinition
    deployed_by: User | None
    retired_by: User | None
    files: list[tuple[str, str]]
    """(file name, SHA-256 of its text as stored, UTF-8) per file deployed together."""
    counts: dict[str, int]
    """Its requests by status."""
    running: int
    finished: int

    @property
    def running_by_status(self) -> dict[str, int]:
        return {s: n for s, n in self.counts.items() if s in _IN_FLIGHT_NAMES}

    @property
    def finished_by_status(self) -> dict[str, int]:
        return {s: n for s, n in self.counts.items() if s not in _IN_FLIGHT_NAMES}


@dataclass
class FlowView:
    key: str
    name: str
    current: int | None
    versions: list[VersionView]
    """Newest first."""
    business_types: list[BusinessType]
    incidents: list[Request]


def flows(session: Session) -> list[FlowSummary]:
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
               ProcessDefinition.retired_at)
        .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
    found: dict[str, FlowSummary] = {}
    for key, number, name, retired_at in rows:
        summary = found.setdefault(key, FlowSummary(key, name, None, number, 0))
        summary.latest, summary.versions = number, summary.versions + 1
        if retired_at is None:
            summary.current, summary.name = number, name
    for bt in session.execute(select(BusinessType).order_by(BusinessType.key)).scalars():
        if bt.process_key in found:
            found[bt.process_key].business_types.append(bt)
    for key, status, n in session.execute(
            select(ProcessDefinition.key, Request.status, func.count())
            .join(ProcessDefinition, ProcessDefinition.id == Request.process_id)
            .where(Request.status.in_(IN_FLIGHT))
            .group_by(ProcessDefinition.key, Request.status)).all():
        found[key].running += n
        if status == RequestStatus.incident:
            found[key].incidents += n
    return list(found.values())


def flow(session: Session, key: str) -> FlowView:
    deployer, retirer = aliased(User), aliased(User)
    rows = session.execute(
        select(ProcessDefinition, deployer, retirer)
        .outerjoin(deployer, deployer.id == ProcessDefinition.deployed_by_id)
        .outerjoin(retirer, retirer.id == ProcessDefinition.retired_by_id)
        .where(ProcessDefinition.key == key)
        .options(undefer(ProcessDefinition.files))
        .order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        raise NotFound(msg("no process with key '%(key)s' is deployed", key=key))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for process_id, status, n in session.execute(
            select(Request.process_id, Request.status, func.count())
            .join(ProcessDefinition, ProcessDefinition.id == Request.process_id)
            .where(ProcessDefinition.key == key)
            .group_by(Request.process_id, Request.status)).all():
        counts[process_id][status.value] = n
    versions = []
    for definition, by, retired_by in rows:
        by_status = counts.get(definition.id, {})
        running = sum(by_status.get(s.value, 0) for s in IN_FLIGHT)
        versions.append(VersionView(
            definition, by, retired_by, _file_hashes(definition.files), by_status, running,
            sum(by_status.values()) - running))
    incidents = list(session.execute(
        select(Request).join(ProcessDefinition, ProcessDefinition.id == Request.process_id)
        .where(ProcessDefinition.key == key, Request.status == RequestStatus.incident)
        .order_by(Request.updated_at.desc(), Request.id.desc())
        .limit(INCIDENTS_SHOWN)).scalars())
    types = list(session.execute(select(BusinessType).where(BusinessType.process_key == key)
                                 .order_by(BusinessType.key)).scalars())
    current = next((v.definition.version for v in versions
                    if v.definition.retired_at is None), None)
    name = next((v.definition.name for v in versions if v.definition.retired_at is None),
                versions[0].definition.name)
    return FlowView(key, name, current, versions, types, incidents)


def _file_hashes(files: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, hashlib.sha256(text.encode("utf-8")).hexdigest())
            for name, text in sorted(files.items())]
