"""Loops a request could go round without end: made only of elements that wait for no one and
nothing (gateways, tasks that do nothing or run by themselves, throw events, manual tasks no
one confirms). The engine would go round at once, its task tree growing until it cannot go on;
the structure check (structure.py) refuses them."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from processes.flows.bpmn_checks import BPMN_NS
from processes.flows.spiff import CAMUNDA_NS

_B = "{" + BPMN_NS + "}"
_C = "{" + CAMUNDA_NS + "}"
# Elements a token passes without waiting for anyone or anything.
PASSING = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway",
           "task", "serviceTask", "sendTask", "businessRuleTask", "scriptTask",
           "intermediateThrowEvent"}
_PERFORMERS = ("assignee", "candidateUsers", "candidateGroups")
_SUBPROCESSES = {f"{_B}subProcess", f"{_B}transaction", f"{_B}adHocSubProcess"}


def in_named_lanes(root: Any) -> set[str]:
    """The ids a named lane of the file lists (SpiffWorkflow gives their tasks its name)."""
    return {ref.text for ref in root.iter(f"{_B}flowNodeRef")
            if ref.text and ref.getparent().get("name")}


def confirmed(manual_task: Any, in_lanes: set[str]) -> bool:
    """Whether a manual task waits for someone to confirm it: it names performers, or it or a
    subprocess around it is in a named lane (as spiff.ManualTaskParser decides; without
    either it passes through)."""
    if any((manual_task.get(f"{_C}{attr}") or "").strip() for attr in _PERFORMERS):
        return True
    around = {manual_task.get("id")} | {el.get("id") for el in manual_task.iterancestors()
                                        if el.tag in _SUBPROCESSES}
    return bool(around & in_lanes)


def idle_loops(nodes: dict[str, Any], outgoing: dict[str, list[Any]], reachable: set[str],
               in_lanes: set[str]) -> list[list[str]]:
    """Each loop among the ``reachable`` elements of one scope (``nodes``: id to element,
    ``outgoing``: id to its sequence flows) that holds nothing that waits, as its element ids,
    sorted."""
    passing = {eid for eid in reachable if nodes[eid].tag[len(_B):] in PASSING
               or (nodes[eid].tag == f"{_B}manualTask" and not confirmed(nodes[eid], in_lanes))}
    edges = {eid: [str(f.get("targetRef")) for f in outgoing[eid]
                   if str(f.get("targetRef")) in passing] for eid in passing}
    loops: list[list[str]] = []
    reported: set[str] = set()
    for eid in sorted(passing):
        if eid in reported:
            continue
        ahead = closure(edges[eid], edges)
        if eid not in ahead:
            continue
        loop = sorted(n for n in ahead if eid in closure([n], edges))
        reported.update(loop)
        loops.append(loop)
    return loops


def closure(starts: list[str], edges: Mapping[str, list[str]]) -> set[str]:
    """The elements ``starts`` lead to along ``edges``, ``starts`` included (breadth first)."""
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
