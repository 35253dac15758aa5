"""Proving over a flow's graph that every path from its start to its authorized end passes a
user task whose performers certainly meet a demand ("the seal's custodian approves").

The proof is conservative. Gateway conditions are ignored (every branch may be taken); a task
counts only when everyone who could work it meets the demand, judged from what the BPMN says
literally: named users and groups, ``${seal_custodians}``, ``${requester_heads}``. Performers
chosen at run time (a DMN result, any other expression) never count, nor do tasks inside called
processes. A task interrupted by one of its boundary events was not passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from processes.errors import msg
from processes.flows.graph import Drawn, FlowGraph
from processes.models import Group, Membership, Seal, User

_EXPR = re.compile(r"^\s*[$#]\{\s*(.*?)\s*\}\s*$", re.DOTALL)
DEMAND_KINDS = ("custodian", "requester_head", "group", "user")


@dataclass(frozen=True)
class Demand:
    """An approval a seal's policy demands on every use."""

    kind: str
    ref: str | None = None

    def describe(self) -> str:
        """Who it demands, as a phrase (a ``Message``: a value of the sentences that name it)."""
        if self.kind == "custodian":
            return msg("a custodian of the seal")
        if self.kind == "requester_head":
            return msg("the requester's department head")
        if self.kind == "group":
            return msg("a member of group %(group)s", group=self.ref)
        return msg("user %(user)s", user=self.ref)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "ref": self.ref} if self.ref else {"kind": self.kind}

    @property
    def key(self) -> str:
        """The group key or user name that a ``group`` or ``user`` demand names."""
        if self.ref is None:
            raise ValueError(f"a {self.kind} demand names no one")
        return self.ref


@dataclass
class Outcome:
    """The proof's verdict: ok, or the first demand a path slips past, with that path."""

    ok: bool
    demand: Demand | None = None
    path: list[dict] = field(default_factory=list)

    def message(self) -> str:
        if self.ok:
            return "every path to the authorized end passes the demanded approvals"
        assert self.demand is not None  # a failed proof names the demand it failed
        route = " → ".join(p["name"] or p["id"] for p in self.path)
        return (f"a path reaches the authorized end without an approval by "
                f"{self.demand.describe()}: {route}")


@dataclass(frozen=True)
class People:
    """What the proof needs to know of the organisation for one seal."""

    custodians: frozenset[str]
    group_members: dict[str, frozenset[str]]  # group key and display name -> user names

    @classmethod
    def load(cls, session, seal: Seal) -> People:
        members: dict[str, set[str]] = {}
        rows = session.execute(
            Group.__table__.select().with_only_columns(Group.key, Group.name, User.name)
            .select_from(Group.__table__.join(Membership, Membership.group_id == Group.id)
                         .join(User, User.id == Membership.user_id))).all()
        for key, name, user in rows:
            members.setdefault(key, set()).add(user)
            members.setdefault(name, set()).add(user)
        return cls(frozenset(u.name for u in seal.custodians),
                   {k: frozenset(v) for k, v in members.items()})


def parse_demands(raw: list[Any]) -> list[Demand]:
    demands = []
    for item in raw or []:
        kind = item.get("kind") if isinstance(item, dict) else None
        ref = item.get("ref") if isinstance(item, dict) else None
        if kind not in DEMAND_KINDS or (kind in ("group", "user") and not ref):
            raise ValueError(msg("a demand is one of custodian, requester_head, group:<key>, "
                                 "user:<name>, not %(item)s", item=repr(item)))
        demands.append(Demand(kind, ref if kind in ("group", "user") else None))
    return demands


def _sources(meta: dict) -> list[tuple[str, str]]:
    """Who may work a task, as (kind, value): ("expr", "seal_custodians"), ("user", "bob"),
    ("group", "legal")."""
    found: list[tuple[str, str]] = []
    for attr, kind in (("assignee", "user"), ("candidate_users", "user"),
                       ("candidate_groups", "group")):
        raw = meta.get(attr)
        if not raw:
            continue
        match = _EXPR.match(raw)
        if match:
            found.append(("expr", match.group(1)))
        else:
            found.extend((kind, part.strip()) for part in raw.split(",") if part.strip())
    if not found and meta.get("lane"):
        found.append(("group", meta["lane"]))
    return found


def meets(meta: dict, demand: Demand, people: People) -> bool:
    """Whether everyone who could work the task certainly meets the demand."""
    sources = _sources(meta)
    if not sources:
        return False
    for kind, value in sources:
        if demand.kind == "custodian":
            ok = (kind == "expr" and value == "seal_custodians") or (
                kind == "user" and value in people.custodians)
        elif demand.kind == "requester_head":
            ok = kind == "expr" and value == "requester_heads"
        elif demand.kind == "group":
            ok = (kind == "group" and value in _group_aliases(demand.key, people)) or (
                kind == "user" and value in people.group_members.get(demand.key, frozenset()))
        else:
            ok = kind == "user" and value == demand.ref
        if not ok:
            return False
    return True


def _group_aliases(ref: str, people: People) -> set[str]:
    """A group is named by key or display name: both name the same members."""
    members = people.group_members.get(ref)
    return {ref} | {k for k, v in people.group_members.items() if members and v == members}


class Provable(Drawn, Protocol):
    """What the proof reads of a flow, deployed or only parsed: its files, the metadata of its
    tasks (who works each) and its authorized end."""

    @property
    def tasks(self) -> Mapping[str, dict[str, Any]]: ...

    @property
    def authorized_end(self) -> str: ...


def prove(flow: Provable, demands: list[Demand], people: People) -> Outcome:
    """Check every demand against every path from start to the authorized end."""
    if not demands:
        return Outcome(True)
    graph = FlowGraph.of(flow)
    for demand in demands:
        blocked = {element for element, meta in (flow.tasks or {}).items()
                   if not meta.get("manual") and meets(meta, demand, people)}
        path = graph.slipping_path(flow.authorized_end, blocked)
        if path is not None:
            return Outcome(False, demand, [{"id": e, "name": graph.names.get(e)} for e in path])
    return Outcome(True)
