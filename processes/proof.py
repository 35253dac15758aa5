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
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from processes.bpmn import BPMN_NS
from processes.models import Group, Membership, ProcessDefinition, Seal, User
from processes.safe_xml import safe_parser

_B = "{" + BPMN_NS + "}"
_EXPR = re.compile(r"^\s*[$#]\{\s*(.*?)\s*\}\s*$", re.DOTALL)
_ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "scriptTask", "callActivity", "subProcess", "transaction"}
DEMAND_KINDS = ("custodian", "requester_head", "group", "user")


@dataclass(frozen=True)
class Demand:
    """An approval a seal's policy demands on every use."""

    kind: str
    ref: str | None = None

    def describe(self) -> str:
        return {"custodian": "a custodian of the seal",
                "requester_head": "the requester's department head",
                "group": f"a member of group {self.ref}",
                "user": f"user {self.ref}"}[self.kind]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "ref": self.ref} if self.ref else {"kind": self.kind}


@dataclass
class Outcome:
    """The proof's verdict: ok, or the first demand a path slips past, with that path."""

    ok: bool
    demand: Demand | None = None
    path: list[dict] = field(default_factory=list)

    def message(self) -> str:
        if self.ok:
            return "every path to the authorized end passes the demanded approvals"
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
            raise ValueError(f"a demand is one of custodian, requester_head, group:<key>, "
                             f"user:<name>, not {item!r}")
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
            ok = (kind == "group" and value in _group_aliases(demand.ref, people)) or (
                kind == "user" and value in people.group_members.get(demand.ref, frozenset()))
        else:
            ok = kind == "user" and value == demand.ref
        if not ok:
            return False
    return True


def _group_aliases(ref: str, people: People) -> set[str]:
    """A group is named by key or display name: both name the same members."""
    members = people.group_members.get(ref)
    return {ref} | {k for k, v in people.group_members.items() if members and v == members}


class FlowGraph:
    """The top-level process as a graph: activities are split into an entry and an exit node,
    so that a task's boundary events leave from its entry (the task was not passed) while its
    normal completion goes from exit to its outgoing flows."""

    def __init__(self, process: Any) -> None:
        self.names: dict[str, str | None] = {}
        self.edges: dict[str, list[str]] = {}
        self.passable: dict[str, str] = {}  # activity id -> the edge entry->exit it owns
        self.starts: list[str] = []
        self.calls: dict[str, str] = {}  # call activity id -> the process it calls
        self.ends = [e.get("id") for e in process.findall(f"{_B}endEvent")]
        self._add_scope(process, parent_exit=None)

    @classmethod
    def of(cls, definition: ProcessDefinition) -> FlowGraph:
        """The graph of a deployed (or just parsed) flow's top-level process."""
        return cls(processes_in(definition.files)[definition.key])

    def _edge(self, a: str, b: str) -> None:
        self.edges.setdefault(a, []).append(b)

    def _add_scope(self, scope: Any, parent_exit: str | None) -> list[str]:
        """Add a process or subprocess; returns its start nodes."""
        starts: list[str] = []
        for el in scope:
            if not isinstance(el.tag, str) or not el.tag.startswith(_B):
                continue
            tag, eid = el.tag[len(_B):], el.get("id")
            if not eid:
                continue
            self.names[eid] = el.get("name")
            if tag in _ACTIVITIES:
                self._edge(f"{eid}>in", f"{eid}>out")
                self.passable[eid] = f"{eid}>in"
                if tag == "callActivity" and el.get("calledElement"):
                    self.calls[eid] = el.get("calledElement")
                if tag in ("subProcess", "transaction") and el.get("triggeredByEvent") != "true":
                    # Inside a subprocess: its start nodes follow the entry, its ends lead on.
                    for inner in self._add_scope(el, parent_exit=f"{eid}>out"):
                        self._edge(f"{eid}>in", inner)
                    self.edges[f"{eid}>in"].remove(f"{eid}>out")
            elif tag == "startEvent" and scope.get("triggeredByEvent") != "true":
                starts.append(f"{eid}>in")
                self._edge(f"{eid}>in", f"{eid}>out")
            elif tag == "endEvent":
                self._edge(f"{eid}>in", f"{eid}>out")
                if parent_exit is not None and el.find(f"{_B}errorEventDefinition") is None \
                        and el.find(f"{_B}terminateEventDefinition") is None:
                    self._edge(f"{eid}>out", parent_exit)
            elif tag == "boundaryEvent":
                self._edge(f"{el.get('attachedToRef')}>in", f"{eid}>in")
                self._edge(f"{eid}>in", f"{eid}>out")
            elif tag in ("sequenceFlow",):
                continue
            else:
                self._edge(f"{eid}>in", f"{eid}>out")
        for flow in scope.findall(f"{_B}sequenceFlow"):
            self._edge(f"{flow.get('sourceRef')}>out", f"{flow.get('targetRef')}>in")
        if parent_exit is None:
            self.starts = starts
        return starts

    def slipping_path(self, target: str | set[str], blocked: set[str],
                      start: str | None = None) -> list[str] | None:
        """A path from a start (or from the completion of activity ``start``) to ``target``
        (an element, or any of a set) that passes none of ``blocked`` (activities whose
        normal completion counts), or None."""
        goals = {f"{t}>out" for t in ([target] if isinstance(target, str) else target)}
        firsts = self.starts if start is None else [f"{start}>out"]
        parents: dict[str, str | None] = {s: None for s in firsts}
        queue = deque(firsts)
        while queue:
            node = queue.popleft()
            if node in goals:
                chain = []
                while node is not None:
                    chain.append(node)
                    node = parents[node]
                ids = []
                for n in reversed(chain):
                    element = n.split(">")[0]
                    if not ids or ids[-1] != element:
                        ids.append(element)
                return ids
            element, side = node.split(">")
            for nxt in self.edges.get(node, []):
                if side == "in" and element in blocked and nxt == f"{element}>out":
                    continue  # completing this task would meet the demand
                if nxt not in parents:
                    parents[nxt] = node
                    queue.append(nxt)
        return None


def processes_in(files: dict[str, str]) -> dict[str, Any]:
    """Every ``bpmn:process`` element of a deployment's BPMN files, by id."""
    found: dict[str, Any] = {}
    for name, text in files.items():
        if name.lower().endswith(".dmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"), safe_parser())
        for process in root.iter(f"{_B}process"):
            found.setdefault(process.get("id"), process)
    return found


def prove(definition: ProcessDefinition, demands: list[Demand], people: People) -> Outcome:
    """Check every demand against every path from start to the authorized end."""
    if not demands:
        return Outcome(True)
    graph = FlowGraph.of(definition)
    for demand in demands:
        blocked = {element for element, meta in (definition.tasks or {}).items()
                   if meets(meta, demand, people)}
        path = graph.slipping_path(definition.authorized_end, blocked)
        if path is not None:
            return Outcome(False, demand, [{"id": e, "name": graph.names.get(e)} for e in path])
    return Outcome(True)
