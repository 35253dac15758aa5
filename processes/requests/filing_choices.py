"""What a requester may choose when filing a request (the new-request page, the route preview):
the kinds of request (business types, or flows when none is mapped), and for one of them the
seals they may use, as the checks made at filing find them (processes/seals/policy.py).

Lifecycle flows (a ``seal_action``: make, change, suspend, void, revoke a seal) are for the
people who manage seals: seal admins, and the custodians of the seal concerned (a request to
make a seal: seal admins and the custodians of any seal). :func:`may_start` is that rule for
filing too (intake.prepare), for the page and the API alike."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, inspect, select
from sqlalchemy.orm import Session

from processes.errors import NotAllowed, PolicyRefused, msg
from processes.flows import definitions
from processes.models import (
    ProcessDefinition,
    Role,
    Seal,
    SealCustodian,
    SealStatus,
    User,
    UserRole,
)
from processes.people.directory import Identity
from processes.seal_models import SealPolicy
from processes.seals import policy


@dataclass(frozen=True)
class Choice:
    """One kind of request: ``param`` is the form field that names it (business_type or
    process), ``key`` its value, ``process`` the flow it starts."""

    param: str
    key: str
    name: str
    process: str
    seal_action: str | None

    @property
    def lifecycle(self) -> bool:
        return self.seal_action is not None


_CURRENT = (select(ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.seal_action)
            .where(definitions.NOT_RETIRED)
            .order_by(ProcessDefinition.key, ProcessDefinition.version))


# A user's roles that manage every seal, with the seals they keep (one row with none when they
# keep none): one statement for a user whose roles are not loaded (a token's, on_behalf_of's).
_MANAGES_ALL = exists().where(UserRole.user_id == User.id,
                              UserRole.role.in_((Role.admin, Role.seal_admin)))
_MANAGED = (select(_MANAGES_ALL, SealCustodian.seal_id).select_from(User)
            .outerjoin(SealCustodian, SealCustodian.user_id == User.id)
            .where(User.id == bindparam("uid")))


def managed_seal_ids(session: Session, identity: Identity) -> set[int] | None:
    """The seals ``identity`` manages: None for all (a seal admin), else those they keep."""
    if "roles" in inspect(identity.user).unloaded:
        rows = session.execute(_MANAGED, {"uid": identity.user.id}).all()
        if any(all_ for all_, _ in rows):
            return None
        return {seal_id for _, seal_id in rows if seal_id is not None}
    if identity.has_role("seal_admin"):
        return None
    return set(session.execute(select(SealCustodian.seal_id).where(
        SealCustodian.user_id == identity.user.id)).scalars())


def choices(session: Session, identity: Identity) -> list[Choice]:
    """The kinds of request ``identity`` may file: the business types (合同用印...) mapped to a
    flow with a current version, or those flows if no type is mapped; lifecycle ones only for
    the people who manage seals."""
    current = {key: (name, action) for key, name, action in session.execute(_CURRENT).all()}
    managed = managed_seal_ids(session, identity)
    manages = managed is None or bool(managed)
    types = definitions.business_types(session)
    if types:
        found = [Choice("business_type", bt.key, bt.name, bt.process_key,
                        current[bt.process_key][1])
                 for bt in types if bt.process_key in current]
    else:
        found = [Choice("process", key, name, key, action)
                 for key, (name, action) in current.items()]
    return [c for c in found if manages or not c.lifecycle]


def may_start(session: Session, identity: Identity, definition: ProcessDefinition,
              seal_id: int | None) -> None:
    """Raise NotAllowed unless ``identity`` may file a request of ``definition`` (for seal
    ``seal_id``): anyone may use a seal (its policy decides), only the people who manage a seal
    may ask to change it."""
    if definition.seal_action is None:
        return
    managed = managed_seal_ids(session, identity)
    if managed is None:
        return
    if definition.seal_action == "make" and managed:
        return
    if seal_id is not None and seal_id in managed:
        return
    raise NotAllowed(msg("only seal administrators and the seal's custodians may ask to make "
                         "or change a seal"))


def seals_for(session: Session, identity: Identity, definition: ProcessDefinition | None,
              business_type: str | None) -> list[Seal]:
    """The seals ``identity`` may file a request of ``definition`` for: for a use, the active
    seals whose usage policy allows this requester this business type now (the checks made at
    filing, the document's pages and size aside: they are checked when it is chosen); for a
    change, the seals they manage that such a change may start from; none to make a seal."""
    if definition is None or definition.seal_action == "make":
        return []
    seals = list(session.execute(select(Seal).where(Seal.system.is_(False)).order_by(Seal.id))
                 .scalars())
    if definition.seal_action is not None:
        managed = managed_seal_ids(session, identity)
        return [s for s in seals if s.status in (SealStatus.active, SealStatus.suspended)
                and (managed is None or s.id in managed)]
    active = [s for s in seals if s.status == SealStatus.active]
    policies = {p.seal_id: p for p in session.execute(select(SealPolicy).where(
        SealPolicy.seal_id.in_([s.id for s in active]))).scalars()} if active else {}
    groups = policy.group_keys(session, identity.user) if any(
        p.groups or p.users for p in policies.values()) else set()
    allowed = []
    for seal in active:
        try:
            policy.check_use(session, seal, identity.user, business_type, definition, pages=1,
                             size=0, policy=policies.get(seal.id), groups=groups)
        except PolicyRefused:
            continue
        allowed.append(seal)
    return allowed
