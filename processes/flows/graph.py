"""A flow's processes as graphs of their elements, for the deploy-time path checks."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from lxml import etree

from processes.flows.bpmn import BPMN_NS
from processes.flows.safe_xml import safe_parser

_B = "{" + BPMN_NS + "}"
_ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "scriptTask", "callActivity", "subProcess", "transaction"}


class Drawn(Protocol):
    """A flow's files under its process key: a deployed version (ProcessDefinition), or one
    just parsed and not stored (ParsedFlow: the modeler's Validate)."""

    @property
    def key(self) -> str: ...

    @property
    def files(self) -> Mapping[str, Any]: ...


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
    def of(cls, flow: Drawn) -> FlowGraph:
        """The graph of a deployed (or just parsed) flow's top-level process."""
        return cls(processes_in(flow.files)[flow.key])

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
                step: str | None = node
                while step is not None:
                    chain.append(step)
                    step = parents[step]
                ids: list[str] = []
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


def processes_in(files: Mapping[str, str]) -> dict[str, Any]:
    """Every ``bpmn:process`` element of a deployment's BPMN files, by id."""
    found: dict[str, Any] = {}
    for name, text in files.items():
        if name.lower().endswith(".dmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"), safe_parser())
        for process in root.iter(f"{_B}process"):
            if (pid := process.get("id")) is not None:
                found.setdefault(pid, process)
    return found
