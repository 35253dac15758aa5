"""The structure of a deployment's processes, checked before SpiffWorkflow builds them: every
problem reported at once, with its file, element and line.

SpiffWorkflow 3.2 builds a process by walking the sequence flows from its start events, so it
refuses some broken drawings with a message about something else ("perhaps a form has the same
ID?" for a flow that points at nothing) and silently accepts others: it skips what it never
walks to, follows a flow that crosses into a subprocess, ignores a condition on a flow that
leaves a task, and ends an instance that reaches a task with no way out without any end event,
so the request it carries would wait for ever with no outcome. Refused here:

- a sequence flow without an id, a source or a target, or whose source or target is not a task,
  event or gateway of the same process or subprocess (a flow may not cross its boundary); a
  flow out of an end event, into a start event or into a boundary event;
- more than one flow out of a task or an event (SpiffWorkflow follows one), a condition on a
  flow that does not leave a gateway (it would not be evaluated), a ``default`` that names a
  flow not leaving its element;
- an element with no flow out, other than an end event, a non-interrupting boundary event and
  an event subprocess: the end event a request reaches decides its outcome;
- an element no start event leads to, and one from which no path leads to an end event;
- a process with no start event or with two untriggered ones, a subprocess without exactly one;
- a boundary event not attached to an activity of its scope; a call activity calling a process
  the deployment does not have; ids SpiffWorkflow uses for its own tasks; the same id in two
  files of one deployment (tasks are told apart by id).

``incoming``/``outgoing`` lists that contradict the flows are a warning: the flows decide, and a
modeler rewrites the lists on its next save. A parallel join whose inputs can never all arrive
is not looked for.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from processes.errors import Problem
from processes.flows.bpmn_checks import BPMN_NS
from processes.flows.idle_loops import closure, idle_loops, in_named_lanes

__all__ = ["check_structure"]

_B = "{" + BPMN_NS + "}"
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
           "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway"}
_SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
_ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "scriptTask", "callActivity"} | _SUBPROCESSES
_FLOW_NODES = _EVENTS | _GATEWAYS | _ACTIVITIES
_SPLITS = {"startEvent"} | _GATEWAYS  # may have several flows out in SpiffWorkflow
_WITH_DEFAULT = _ACTIVITIES | {"exclusiveGateway", "inclusiveGateway", "complexGateway"}
# The names SpiffWorkflow gives its own task specs beside the elements' ids.
_RESERVED = {"Start", "End", "StartEventSplit", "StartEventJoin"}
_RESERVED_ENDINGS = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def _tag(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[len(_B):] if tag.startswith(_B) else ""


def _kind(el: Any) -> str:
    """'user task', 'exclusive gateway', 'subprocess', ... (how a designer names the tag)."""
    tag = _tag(el)
    if tag == "subProcess":
        return "event subprocess" if _is_event_subprocess(el) else "subprocess"
    return re.sub(r"(?<!^)([A-Z])", lambda m: " " + m.group(1).lower(), tag)


def _is_event_subprocess(el: Any) -> bool:
    return _tag(el) in _SUBPROCESSES and el.get("triggeredByEvent") == "true"


def _label(container: Any) -> str:
    return f"{_kind(container)} '{container.get('id')}'"


def _conditional(flow: Any) -> bool:
    return flow.find(f"{_B}conditionExpression") is not None


def _ids(flows: list[Any]) -> str:
    return ", ".join(str(f.get("id")) for f in flows)


def check_structure(roots: dict[str, Any], problems: list[Problem],
                    warnings: list[Problem]) -> None:
    """Check every executable process of the deployment's BPMN files (``roots``: file name to
    parsed root), adding what is wrong to ``problems`` and what is doubtful to ``warnings``."""
    if len(roots) > 1:
        _duplicates_across_files(roots, problems)
    process_ids = {str(p.get("id")) for root in roots.values()
                   for p in root.findall(f"{_B}process") if p.get("id")}
    for name, root in roots.items():
        check = _FileStructure(name, root, process_ids, problems, warnings)
        for process in root.findall(f"{_B}process"):
            if process.get("isExecutable", "true").lower() == "true":
                check.scope(process, entered=True)


def _duplicates_across_files(roots: dict[str, Any], problems: list[Problem]) -> None:
    """The same id in two files (within one file, bpmn_checks reports it)."""
    seen: dict[str, tuple[str, Any]] = {}
    for name, root in roots.items():
        here: set[str] = set()
        for process in root.findall(f"{_B}process"):
            for el in process.iter():
                eid = el.get("id") if _tag(el) else None
                if not eid or eid in here:
                    continue
                here.add(eid)
                if eid in seen:
                    first_file, first = seen[eid]
                    problems.append(Problem(
                        f"id '{eid}' is also used in {first_file} (line {first.sourceline}): "
                        "the files deployed together need distinct ids, or one element would "
                        "be taken for the other; rename one", element=eid, line=el.sourceline,
                        file=name))
                else:
                    seen[eid] = (name, el)


class _FileStructure:
    """The checks of one file's processes; ``scope`` checks a process or subprocess and then
    the subprocesses in it."""

    def __init__(self, name: str, root: Any, process_ids: set[str], problems: list[Problem],
                 warnings: list[Problem]) -> None:
        self.name = name
        self.process_ids = process_ids
        self.problems = problems
        self.warnings = warnings
        self.root = root
        self.in_lanes = in_named_lanes(root)
        # Which process or subprocess each flow node belongs to, for a flow that crosses.
        self.owner: dict[str, Any] = {}
        for container in root.iter(f"{_B}process", *(_B + t for t in _SUBPROCESSES)):
            for child in container:
                if _tag(child) in _FLOW_NODES and child.get("id"):
                    self.owner.setdefault(child.get("id"), container)

    def _error(self, message: str, element: str | None, node: Any) -> None:
        self.problems.append(Problem(message, element=element, line=node.sourceline,
                                     file=self.name))

    def _warn(self, message: str, element: str | None, node: Any) -> None:
        self.warnings.append(Problem(message, element=element, line=node.sourceline,
                                     severity="warning", file=self.name))

    def scope(self, container: Any, entered: bool) -> None:
        """Check a process or subprocess; ``entered`` is False inside a subprocess that cannot
        be reached (it is reported itself; what it holds is not reported as unreachable)."""
        label = _label(container)
        nodes: dict[str, Any] = {}
        flows: list[Any] = []
        for child in container:
            tag = _tag(child)
            if tag in _FLOW_NODES:
                eid = child.get("id")
                if not eid:
                    self._error(f"a {_kind(child)} of {label} has no id", None, child)
                    continue
                if eid in _RESERVED or eid.endswith(_RESERVED_ENDINGS):
                    self._error(f"{_kind(child)} '{eid}': the id '{eid}' is one SpiffWorkflow "
                                "uses for a task of its own; rename it", eid, child)
                nodes.setdefault(eid, child)
            elif tag == "sequenceFlow":
                flows.append(child)
        outgoing: dict[str, list[Any]] = {eid: [] for eid in nodes}
        broken: set[str] = set()  # elements a broken flow names: not reported again
        for flow in flows:
            ends = self._flow(flow, nodes, label)
            if ends is not None:
                outgoing[ends[0]].append(flow)
            else:
                broken.update(str(flow.get(a)) for a in ("sourceRef", "targetRef"))
        for eid, node in nodes.items():
            self._node(eid, node, outgoing[eid], nodes, label, eid in broken)
        self._listed_flows(nodes, flows)
        starts = self._starts(container, nodes, label)
        reachable = set(nodes)
        if entered and starts:  # with no start event, that alone is reported
            reachable = self._reachable(starts, nodes, outgoing, label, broken)
            self._finishing(starts, nodes, outgoing, reachable, label)
            self._idle_loops(nodes, outgoing, reachable, label)
        for eid, node in nodes.items():
            if _tag(node) in _SUBPROCESSES:
                self.scope(node, entered=entered and (eid in reachable
                                                      or _is_event_subprocess(node)))

    def _flow(self, flow: Any, nodes: dict[str, Any], label: str) -> tuple[str, str] | None:
        """The (source, target) of a sequence flow, or None when it is broken (reported)."""
        fid = flow.get("id")
        if not fid:
            self._error(f"a sequence flow of {label} has no id (SpiffWorkflow would skip it)",
                        None, flow)
        source = self._flow_end(flow, "sourceRef", nodes, label)
        target = self._flow_end(flow, "targetRef", nodes, label)
        if source is None or target is None:
            return None
        named = f"'{fid}'" if fid else f"at line {flow.sourceline}"
        if _tag(nodes[target]) in ("startEvent", "boundaryEvent"):
            self._error(f"sequence flow {named} leads into {_kind(nodes[target])} "
                        f"'{target}': a {_kind(nodes[target])} has no incoming flow", fid, flow)
        if _tag(nodes[source]) == "endEvent":
            self._error(f"sequence flow {named} leaves end event '{source}': nothing may "
                        "follow an end event", fid, flow)
            return None
        return source, target

    def _flow_end(self, flow: Any, attr: str, nodes: dict[str, Any], label: str) -> str | None:
        fid, ref = flow.get("id"), flow.get(attr)
        verb = "starts from" if attr == "sourceRef" else "points at"
        named = f"'{fid}'" if fid else f"at line {flow.sourceline}"
        if not ref:
            self._error(f"sequence flow {named} has no {attr}: it must name an element of "
                        f"{label}", fid, flow)
            return None
        if ref in nodes:
            return str(ref)
        other = self.root.xpath("//*[@id=$i]", i=ref) if ref not in self.owner else []
        if ref in self.owner:
            why = (f"which is in {_label(self.owner[ref])}, not in {label}: a sequence flow "
                   "may not cross a subprocess boundary")
        elif other and _tag(other[0]):
            why = f"which is a {_kind(other[0])}, not a task, event or gateway"
        else:
            why = f"which is not an element of {label}"
        self._error(f"sequence flow {named} {verb} '{ref}', {why}", fid, flow)
        return None

    def _node(self, eid: str, node: Any, out: list[Any], nodes: dict[str, Any], label: str,
              broken: bool) -> None:
        tag, kind = _tag(node), f"{_kind(node)} '{eid}'"
        if len(out) > 1 and tag not in _SPLITS:
            self._error(f"{kind} has {len(out)} outgoing sequence flows ({_ids(out)}): "
                        "SpiffWorkflow follows only one out of a task or an event; put a "
                        "gateway after it (exclusive to choose a path, parallel to take all)",
                        eid, node)
        if tag not in _GATEWAYS:
            for flow in filter(_conditional, out):
                self._error(f"sequence flow '{flow.get('id')}' out of {kind} has a condition, "
                            "which only a gateway's outgoing flows may have (it would not be "
                            "evaluated); put an exclusive gateway after it",
                            flow.get("id"), flow)
        if not out and not broken and not (tag == "endEvent" or _is_event_subprocess(node) or (
                tag == "boundaryEvent" and node.get("cancelActivity") == "false")):
            why = ("a request reaching it would have no way on" if tag in _GATEWAYS else
                   "every path must end in an end event, which decides the request's "
                   "outcome; draw a flow from it")
            self._error(f"{kind} has no outgoing sequence flow: {why}", eid, node)
        default = node.get("default")
        if default and tag in _WITH_DEFAULT:
            flow = next((f for f in out if f.get("id") == default), None)
            if flow is None:
                self._error(f"{kind} names '{default}' as its default flow, but no sequence "
                            f"flow '{default}' leaves it", eid, node)
            elif _conditional(flow):
                self._warn(f"the default flow '{default}' of {kind} has a condition, which is "
                           "ignored: a default is taken when no other flow's condition holds",
                           eid, node)
        if tag == "boundaryEvent":
            host = nodes.get(node.get("attachedToRef") or "")
            if host is None or _tag(host) not in _ACTIVITIES:
                self._error(f"{kind} is attached to '{node.get('attachedToRef')}', which is "
                            f"not an activity of {label}", eid, node)
        if tag == "callActivity":
            called = node.get("calledElement")
            if not called or called not in self.process_ids:
                what = f"calls process '{called}'" if called else "names no process to call"
                self._error(f"{kind} {what}: deploy the file of the process it calls with the "
                            "flow (the processes deployed here: "
                            f"{', '.join(sorted(self.process_ids))})", eid, node)

    def _listed_flows(self, nodes: dict[str, Any], flows: list[Any]) -> None:
        """Warn where an element's ``incoming``/``outgoing`` lists contradict the flows."""
        for what, attr in (("incoming", "targetRef"), ("outgoing", "sourceRef")):
            actual: dict[str, list[str]] = {}
            for flow in flows:
                actual.setdefault(str(flow.get(attr)), []).append(str(flow.get("id")))
            for eid, node in nodes.items():
                listed = [(c.text or "").strip() for c in node.findall(f"{_B}{what}")]
                if listed and sorted(listed) != sorted(actual.get(eid, [])):
                    self._warn(f"{_kind(node)} '{eid}' lists {what} flows {', '.join(listed)}, "
                               "but the sequence flows make them "
                               f"{', '.join(actual.get(eid, [])) or 'none'}: the flows' "
                               "sourceRef and targetRef decide", eid, node)

    def _starts(self, container: Any, nodes: dict[str, Any], label: str) -> list[str]:
        starts = [eid for eid, n in nodes.items() if _tag(n) == "startEvent"]
        if _tag(container) == "process":
            if not starts:
                self._error(f"{label} has no start event: a request starts at its start event",
                            container.get("id"), container)
            untriggered = [s for s in starts if not any(
                _tag(c).endswith("EventDefinition") or _tag(c) == "eventDefinitionRef"
                for c in nodes[s])]
            if len(untriggered) > 1:
                self._error(f"{label} has {len(untriggered)} start events without a trigger "
                            f"({', '.join(untriggered)}): a request starts at one; keep one",
                            untriggered[1], nodes[untriggered[1]])
        elif len(starts) != 1:
            self._error(f"{label} needs exactly one start event; it has {len(starts)}",
                        container.get("id"), container)
        return starts

    def _edges(self, nodes: dict[str, Any], outgoing: dict[str, list[Any]],
               interrupting_only: bool) -> dict[str, list[str]]:
        """Where a token may go next: along the flows, and from an activity into its boundary
        events (only the interrupting ones take the token away from the activity)."""
        edges = {eid: [str(f.get("targetRef")) for f in out] for eid, out in outgoing.items()}
        for eid, node in nodes.items():
            host = node.get("attachedToRef")
            if _tag(node) == "boundaryEvent" and host in edges and not (
                    interrupting_only and node.get("cancelActivity") == "false"):
                edges[host].append(eid)
        return edges

    def _reachable(self, starts: list[str], nodes: dict[str, Any],
                   outgoing: dict[str, list[Any]], label: str, broken: set[str]) -> set[str]:
        seen = closure(starts, self._edges(nodes, outgoing, interrupting_only=False))
        for eid, node in nodes.items():
            # A boundary event is reached with its host (reported instead); an event
            # subprocess is entered by its trigger, not by a flow.
            if eid not in seen and eid not in broken and _tag(node) != "boundaryEvent" \
                    and not _is_event_subprocess(node):
                self._error(f"{_kind(node)} '{eid}' cannot be reached from the start event of "
                            f"{label}: connect it or delete it", eid, node)
        return seen

    def _finishing(self, starts: list[str], nodes: dict[str, Any],
                   outgoing: dict[str, list[Any]], reachable: set[str], label: str) -> None:
        """Report where a reachable path enters a part of the drawing from which no path leads
        to an end (an element with no flow out is reported already and counts as an end)."""
        edges = self._edges(nodes, outgoing, interrupting_only=True)
        back: dict[str, list[str]] = {eid: [] for eid in nodes}
        for eid, nexts in edges.items():
            for nxt in nexts:
                back[nxt].append(eid)
        finish = closure([eid for eid, out in edges.items() if not out], back)
        trapped = [eid for eid in nodes if eid in reachable and eid not in finish
                   and not _is_event_subprocess(nodes[eid])]
        for eid in trapped:
            if eid in starts or any(p in reachable and p in finish for p in back[eid]):
                ahead, queue = {eid}, deque([eid])
                while queue:  # every successor of a trapped element is trapped too
                    for nxt in edges[queue.popleft()]:
                        if nxt not in ahead:
                            ahead.add(nxt)
                            queue.append(nxt)
                loop = [n for n in trapped if n in ahead and n != eid][:5]
                self._error(f"no path from {_kind(nodes[eid])} '{eid}' leads to an end event "
                            f"of {label}: a request reaching it could never finish"
                            + (f" (it can only go on to {', '.join(loop)})" if loop else ""),
                            eid, nodes[eid])

    def _idle_loops(self, nodes: dict[str, Any], outgoing: dict[str, list[Any]],
                    reachable: set[str], label: str) -> None:
        """Report each loop a request could reach that holds nothing that waits (no task for a
        person, no timer, no message): the engine would go round it at once, without end."""
        for loop in idle_loops(nodes, outgoing, reachable, self.in_lanes):
            eid = loop[0]
            idle = [n for n in loop if _tag(nodes[n]) == "manualTask"]
            why = (f" (manual task {', '.join(idle[:3])} has no assignee, candidates or lane: "
                   "it passes through without waiting)") if idle else ""
            self._error(f"{_kind(nodes[eid])} '{eid}' of {label} loops through "
                        f"{', '.join(loop[:6])} with no task, timer or message in the loop"
                        f"{why}: a request reaching it would go round without end; put a step "
                        "that waits in the loop, or take the loop out", eid, nodes[eid])
