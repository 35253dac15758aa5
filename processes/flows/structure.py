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

from collections import deque
from typing import Any

from processes.errors import Problem, msg
from processes.flows.element_kinds import (
    BPMN_NS,
    SUBPROCESSES,
    is_event_subprocess,
    kind_of,
    label_of,
    tag_of,
)
from processes.flows.idle_loops import closure, idle_loops, in_named_lanes

__all__ = ["check_structure"]

_B = "{" + BPMN_NS + "}"
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
           "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway"}
_ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "scriptTask", "callActivity"} | SUBPROCESSES
_FLOW_NODES = _EVENTS | _GATEWAYS | _ACTIVITIES
_SPLITS = {"startEvent"} | _GATEWAYS  # may have several flows out in SpiffWorkflow
_WITH_DEFAULT = _ACTIVITIES | {"exclusiveGateway", "inclusiveGateway", "complexGateway"}
# The names SpiffWorkflow gives its own task specs beside the elements' ids.
_RESERVED = {"Start", "End", "StartEventSplit", "StartEventJoin"}
_RESERVED_ENDINGS = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def _conditional(flow: Any) -> bool:
    return flow.find(f"{_B}conditionExpression") is not None


def _ids(flows: list[Any]) -> str:
    return ", ".join(str(f.get("id")) for f in flows)


def _named(flow: Any) -> str:
    """A sequence flow by its id, or by its line when it has none."""
    fid = flow.get("id")
    return f"'{fid}'" if fid else msg("at line %(line)s", line=flow.sourceline)


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
                eid = el.get("id") if tag_of(el) else None
                if not eid or eid in here:
                    continue
                here.add(eid)
                if eid in seen:
                    first_file, first = seen[eid]
                    problems.append(Problem(msg(
                        "id '%(id)s' is also used in %(file)s (line %(line)s): the files "
                        "deployed together need distinct ids, or one element would be taken "
                        "for the other; rename one", id=eid, file=first_file,
                        line=first.sourceline), element=eid, line=el.sourceline, file=name))
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
        for container in root.iter(f"{_B}process", *(_B + t for t in SUBPROCESSES)):
            for child in container:
                if tag_of(child) in _FLOW_NODES and child.get("id"):
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
        label = label_of(container)
        nodes: dict[str, Any] = {}
        flows: list[Any] = []
        for child in container:
            tag = tag_of(child)
            if tag in _FLOW_NODES:
                eid = child.get("id")
                if not eid:
                    self._error(msg("a %(kind)s of %(scope)s has no id", kind=kind_of(child),
                                    scope=label), None, child)
                    continue
                if eid in _RESERVED or eid.endswith(_RESERVED_ENDINGS):
                    self._error(msg("%(kind)s '%(id)s': the id '%(id)s' is one SpiffWorkflow "
                                    "uses for a task of its own; rename it",
                                    kind=kind_of(child), id=eid), eid, child)
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
            if tag_of(node) in SUBPROCESSES:
                self.scope(node, entered=entered and (eid in reachable
                                                      or is_event_subprocess(node)))

    def _flow(self, flow: Any, nodes: dict[str, Any], label: str) -> tuple[str, str] | None:
        """The (source, target) of a sequence flow, or None when it is broken (reported)."""
        fid = flow.get("id")
        if not fid:
            self._error(msg("a sequence flow of %(scope)s has no id (SpiffWorkflow would skip "
                            "it)", scope=label), None, flow)
        source = self._flow_end(flow, "sourceRef", nodes, label)
        target = self._flow_end(flow, "targetRef", nodes, label)
        if source is None or target is None:
            return None
        named = _named(flow)
        if tag_of(nodes[target]) in ("startEvent", "boundaryEvent"):
            self._error(msg("sequence flow %(flow)s leads into %(kind)s '%(target)s': a "
                            "%(kind)s has no incoming flow", flow=named,
                            kind=kind_of(nodes[target]), target=target), fid, flow)
        if tag_of(nodes[source]) == "endEvent":
            self._error(msg("sequence flow %(flow)s leaves end event '%(source)s': nothing may "
                            "follow an end event", flow=named, source=source), fid, flow)
            return None
        return source, target

    def _flow_end(self, flow: Any, attr: str, nodes: dict[str, Any], label: str) -> str | None:
        fid, ref, named = flow.get("id"), flow.get(attr), _named(flow)
        if not ref:
            self._error(msg("sequence flow %(flow)s has no %(attr)s: it must name an element of "
                            "%(scope)s", flow=named, attr=attr, scope=label), fid, flow)
            return None
        if ref in nodes:
            return str(ref)
        other = self.root.xpath("//*[@id=$i]", i=ref) if ref not in self.owner else []
        source, said = attr == "sourceRef", {"flow": named, "ref": ref, "scope": label}
        if ref in self.owner:
            said["other"] = label_of(self.owner[ref])
            text = msg("sequence flow %(flow)s starts from '%(ref)s', which is in %(other)s, not "
                       "in %(scope)s: a sequence flow may not cross a subprocess boundary",
                       **said) if source else msg(
                "sequence flow %(flow)s points at '%(ref)s', which is in %(other)s, not in "
                "%(scope)s: a sequence flow may not cross a subprocess boundary", **said)
        elif other and tag_of(other[0]):
            said["kind"] = kind_of(other[0])
            text = msg("sequence flow %(flow)s starts from '%(ref)s', which is a %(kind)s, not a "
                       "task, event or gateway", **said) if source else msg(
                "sequence flow %(flow)s points at '%(ref)s', which is a %(kind)s, not a task, "
                "event or gateway", **said)
        else:
            text = msg("sequence flow %(flow)s starts from '%(ref)s', which is not an element of "
                       "%(scope)s", **said) if source else msg(
                "sequence flow %(flow)s points at '%(ref)s', which is not an element of "
                "%(scope)s", **said)
        self._error(text, fid, flow)
        return None

    def _node(self, eid: str, node: Any, out: list[Any], nodes: dict[str, Any], label: str,
              broken: bool) -> None:
        tag, kind = tag_of(node), label_of(node)
        if len(out) > 1 and tag not in _SPLITS:
            self._error(msg("%(element)s has %(count)s outgoing sequence flows (%(flows)s): "
                            "SpiffWorkflow follows only one out of a task or an event; put a "
                            "gateway after it (exclusive to choose a path, parallel to take "
                            "all)", element=kind, count=len(out), flows=_ids(out)), eid, node)
        if tag not in _GATEWAYS:
            for flow in filter(_conditional, out):
                self._error(msg("sequence flow '%(flow)s' out of %(element)s has a condition, "
                                "which only a gateway's outgoing flows may have (it would not "
                                "be evaluated); put an exclusive gateway after it",
                                flow=flow.get("id"), element=kind), flow.get("id"), flow)
        if not out and not broken and not (tag == "endEvent" or is_event_subprocess(node) or (
                tag == "boundaryEvent" and node.get("cancelActivity") == "false")):
            self._error(msg("%(element)s has no outgoing sequence flow: a request reaching it "
                            "would have no way on", element=kind) if tag in _GATEWAYS else msg(
                "%(element)s has no outgoing sequence flow: every path must end in an end "
                "event, which decides the request's outcome; draw a flow from it",
                element=kind), eid, node)
        default = node.get("default")
        if default and tag in _WITH_DEFAULT:
            flow = next((f for f in out if f.get("id") == default), None)
            if flow is None:
                self._error(msg("%(element)s names '%(default)s' as its default flow, but no "
                                "sequence flow '%(default)s' leaves it", element=kind,
                                default=default), eid, node)
            elif _conditional(flow):
                self._warn(msg("the default flow '%(default)s' of %(element)s has a condition, "
                               "which is ignored: a default is taken when no other flow's "
                               "condition holds", default=default, element=kind), eid, node)
        if tag == "boundaryEvent":
            host = nodes.get(node.get("attachedToRef") or "")
            if host is None or tag_of(host) not in _ACTIVITIES:
                self._error(msg("%(element)s is attached to '%(host)s', which is not an "
                                "activity of %(scope)s", element=kind,
                                host=node.get("attachedToRef"), scope=label), eid, node)
        if tag == "callActivity":
            called = node.get("calledElement")
            if not called or called not in self.process_ids:
                deployed = ", ".join(sorted(self.process_ids))
                self._error(msg("%(element)s calls process '%(called)s': deploy the file of the "
                                "process it calls with the flow (the processes deployed here: "
                                "%(deployed)s)", element=kind, called=called,
                                deployed=deployed) if called else msg(
                    "%(element)s names no process to call: deploy the file of the process it "
                    "calls with the flow (the processes deployed here: %(deployed)s)",
                    element=kind, deployed=deployed), eid, node)

    def _listed_flows(self, nodes: dict[str, Any], flows: list[Any]) -> None:
        """Warn where an element's ``incoming``/``outgoing`` lists contradict the flows."""
        for what, attr in (("incoming", "targetRef"), ("outgoing", "sourceRef")):
            actual: dict[str, list[str]] = {}
            for flow in flows:
                actual.setdefault(str(flow.get(attr)), []).append(str(flow.get("id")))
            for eid, node in nodes.items():
                listed = [(c.text or "").strip() for c in node.findall(f"{_B}{what}")]
                if listed and sorted(listed) != sorted(actual.get(eid, [])):
                    said = {"element": label_of(node), "listed": ", ".join(listed),
                            "actual": ", ".join(actual.get(eid, [])) or msg("none")}
                    self._warn(msg("%(element)s lists incoming flows %(listed)s, but the "
                                   "sequence flows make them %(actual)s: the flows' sourceRef "
                                   "and targetRef decide", **said) if what == "incoming" else msg(
                        "%(element)s lists outgoing flows %(listed)s, but the sequence flows "
                        "make them %(actual)s: the flows' sourceRef and targetRef decide",
                        **said), eid, node)

    def _starts(self, container: Any, nodes: dict[str, Any], label: str) -> list[str]:
        starts = [eid for eid, n in nodes.items() if tag_of(n) == "startEvent"]
        if tag_of(container) == "process":
            if not starts:
                self._error(msg("%(scope)s has no start event: a request starts at its start "
                                "event", scope=label), container.get("id"), container)
            untriggered = [s for s in starts if not any(
                tag_of(c).endswith("EventDefinition") or tag_of(c) == "eventDefinitionRef"
                for c in nodes[s])]
            if len(untriggered) > 1:
                self._error(msg("%(scope)s has %(count)s start events without a trigger "
                                "(%(starts)s): a request starts at one; keep one", scope=label,
                                count=len(untriggered), starts=", ".join(untriggered)),
                            untriggered[1], nodes[untriggered[1]])
        elif len(starts) != 1:
            self._error(msg("%(scope)s needs exactly one start event; it has %(count)s",
                            scope=label, count=len(starts)), container.get("id"), container)
        return starts

    def _edges(self, nodes: dict[str, Any], outgoing: dict[str, list[Any]],
               interrupting_only: bool) -> dict[str, list[str]]:
        """Where a token may go next: along the flows, and from an activity into its boundary
        events (only the interrupting ones take the token away from the activity)."""
        edges = {eid: [str(f.get("targetRef")) for f in out] for eid, out in outgoing.items()}
        for eid, node in nodes.items():
            host = node.get("attachedToRef")
            if tag_of(node) == "boundaryEvent" and host in edges and not (
                    interrupting_only and node.get("cancelActivity") == "false"):
                edges[host].append(eid)
        return edges

    def _reachable(self, starts: list[str], nodes: dict[str, Any],
                   outgoing: dict[str, list[Any]], label: str, broken: set[str]) -> set[str]:
        seen = closure(starts, self._edges(nodes, outgoing, interrupting_only=False))
        for eid, node in nodes.items():
            # A boundary event is reached with its host (reported instead); an event
            # subprocess is entered by its trigger, not by a flow.
            if eid not in seen and eid not in broken and tag_of(node) != "boundaryEvent" \
                    and not is_event_subprocess(node):
                self._error(msg("%(element)s cannot be reached from the start event of "
                                "%(scope)s: connect it or delete it", element=label_of(node),
                                scope=label), eid, node)
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
                   and not is_event_subprocess(nodes[eid])]
        for eid in trapped:
            if eid in starts or any(p in reachable and p in finish for p in back[eid]):
                ahead, queue = {eid}, deque([eid])
                while queue:  # every successor of a trapped element is trapped too
                    for nxt in edges[queue.popleft()]:
                        if nxt not in ahead:
                            ahead.add(nxt)
                            queue.append(nxt)
                loop = [n for n in trapped if n in ahead and n != eid][:5]
                said = {"element": label_of(nodes[eid]), "scope": label, "loop": ", ".join(loop)}
                self._error(msg("no path from %(element)s leads to an end event of %(scope)s: a "
                                "request reaching it could never finish (it can only go on to "
                                "%(loop)s)", **said) if loop else msg(
                    "no path from %(element)s leads to an end event of %(scope)s: a request "
                    "reaching it could never finish", **said), eid, nodes[eid])

    def _idle_loops(self, nodes: dict[str, Any], outgoing: dict[str, list[Any]],
                    reachable: set[str], label: str) -> None:
        """Report each loop a request could reach that holds nothing that waits (no task for a
        person, no timer, no message): the engine would go round it at once, without end."""
        for loop in idle_loops(nodes, outgoing, reachable, self.in_lanes):
            eid = loop[0]
            idle = [n for n in loop if tag_of(nodes[n]) == "manualTask"]
            said = {"element": label_of(nodes[eid]), "scope": label,
                    "loop": ", ".join(loop[:6]), "manual": ", ".join(idle[:3])}
            self._error(msg("%(element)s of %(scope)s loops through %(loop)s with no task, "
                            "timer or message in the loop (manual task %(manual)s has no "
                            "assignee, candidates or lane: it passes through without waiting): "
                            "a request reaching it would go round without end; put a step that "
                            "waits in the loop, or take the loop out", **said) if idle else msg(
                "%(element)s of %(scope)s loops through %(loop)s with no task, timer or message "
                "in the loop: a request reaching it would go round without end; put a step "
                "that waits in the loop, or take the loop out", **said), eid, nodes[eid])
