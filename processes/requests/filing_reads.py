"""What filing a request reads first: its flow (the current version, with the business type
that maps to it) and the seal it is for (with its custodians and policy), each in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defer, joinedload

from processes.db import is_writer
from processes.errors import InvalidContent, NotFound, msg
from processes.flows import definitions
from processes.models import BusinessType, ProcessDefinition, Seal, SealStatus
from processes.seal_models import Authority, SealPolicy
from processes.seals import authority

# A flow's current version (its latest not retired), with how many business types map to it
# and one of them: one statement (a request naming only a process has the type when exactly one
# maps to it).
_MAPS_HERE = BusinessType.process_key == ProcessDefinition.key
_LATEST_AND_TYPE = (
    select(ProcessDefinition,
           select(func.count(BusinessType.id)).where(_MAPS_HERE).scalar_subquery(),
           select(func.min(BusinessType.key)).where(_MAPS_HERE).scalar_subquery())
    .where(ProcessDefinition.key == bindparam("key"), definitions.NOT_RETIRED)
    .order_by(ProcessDefinition.version.desc()).limit(1))


def definition_for(session: Session, process: str | None,
                   business_type: str | None) -> tuple[ProcessDefinition, str | None]:
    """The flow and the business type of a new request. The business type comes from the
    mapping of business types to flows: one named must map to the process named with it, and a
    request naming only a process has the type that maps to it (when exactly one does)."""
    if business_type:
        bt = session.execute(select(BusinessType).where(
            BusinessType.key == business_type)).scalar_one_or_none()
        if bt is None:
            raise InvalidContent(msg("unknown business type %(type)s", type=repr(business_type)),
                                 [{"field": "business_type", "message": msg("unknown")}])
        if process and process != bt.process_key:
            message = msg("business type %(type)s is handled by flow %(flow)s, not %(asked)s",
                          type=repr(bt.key), flow=repr(bt.process_key), asked=repr(process))
            raise InvalidContent(message, [{"field": "business_type", "message": message}])
        return definitions.latest(session, bt.process_key), bt.key
    if process:
        row = session.execute(_LATEST_AND_TYPE, {"key": process}).one_or_none()
        if row is None:
            raise definitions.no_current_version(session, process)
        definition, types, a_type = row
        return definition, a_type if types == 1 else None
    raise InvalidContent(msg("name the flow: `process` (a process key) or `business_type`"),
                         [{"field": "process", "message": msg("process or business_type is "
                                                              "required")}])


@dataclass(frozen=True)
class FilingSeal:
    """The seal a request is for, its policy (None: it has none), and what a refusal depends
    on (``_SEAL_STATE``'s columns), all from one row."""

    seal: Seal
    policy: SealPolicy | None
    state: tuple[Any, ...]


# The seal (its custodians joined: the instance's data names them; not its key or pictures,
# which filing never reads), its policy, and what a refusal depends on as the row says it (the
# seal object may be older, from this session's identity map): one statement, not four.
_FILING_SEAL = (
    select(Seal, SealPolicy, Seal.status, SealPolicy.updated_at)
    .outerjoin(SealPolicy, SealPolicy.seal_id == Seal.id)
    .where(Seal.id == bindparam("sid"))
    .options(joinedload(Seal.custodians),
             defer(Seal.key_pem), defer(Seal.csr_pem), defer(Seal.appearance_pdf),
             defer(Seal.appearance_png)))
_FILING_SEAL_SHARED = _FILING_SEAL.with_for_update(read=True, of=Seal).execution_options(
    populate_existing=True)


def seal_for(session: Session, definition: ProcessDefinition,
              seal_id: int | None) -> FilingSeal | None:
    """The seal a request is for: an active one to use; for a lifecycle flow, the seal it
    changes (any status the change can start from), or none for a flow that makes one."""
    if definition.seal_action == "make":
        if seal_id is not None:
            raise InvalidContent(msg("a request to make a seal names no existing seal"),
                                 [{"field": "seal", "message": msg("must be empty")}])
        return None
    if seal_id is None:
        raise InvalidContent(msg("seal is required"),
                             [{"field": "seal", "message": msg("required")}])
    # A writer holds the row (FOR SHARE) against a change of the seal to its commit.
    row = session.execute(_FILING_SEAL_SHARED if is_writer() else _FILING_SEAL,
                          {"sid": seal_id}).unique().one_or_none()
    if row is None or row[0].system:
        raise NotFound(msg("no seal %(seal)s", seal=seal_id))
    seal, seal_policy, status, policy_changed = row
    usable = (SealStatus.active,) if definition.seal_action is None else (
        SealStatus.active, SealStatus.suspended)
    if status not in usable:
        raise InvalidContent(msg("seal %(seal)s is %(status)s and cannot be used", seal=seal.id,
                                 status=status.value),
                             [{"field": "seal", "message": msg("seal is %(status)s",
                                                               status=status.value)}])
    if definition.seal_action == "resume":
        # Said now rather than after every approver has worked on it: no flow lifts an
        # administrator's suspension (checked again when the change is made).
        refused = authority.refusal(session, seal, SealStatus.active, Authority.flow)
        if refused is not None:
            raise refused
    return FilingSeal(seal, seal_policy, (status, policy_changed))
