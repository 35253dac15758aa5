"""Deploy-time check of a flow's paths against the rule that nothing is sealed or changed
without someone else's approval.

A flow is refused when a path from its start to its authorized end passes no user task that
someone other than the requester may work (call activities followed: a call counts when every
path through the called process passes such a task; a manual task never counts: it is
confirmed done, never approved). It is a structural check: gateway
conditions are ignored, and whether the task is really approved is the run-time rule's business
(processes.seals.approvals), which refuses the grant of any request that slips through anyway.

A warning names each task of the requester's own (such as "revise and resubmit") from which the
authorized end can be reached with no approver after it: a revision made there would reach the
end unapproved, and the request would fail.
"""

from __future__ import annotations

import re
from typing import Any

from processes.errors import Problem, msg
from processes.flows.graph import FlowGraph, processes_in

_REQUESTER = re.compile(r"^\s*[$#]\{\s*requester\s*\}\s*$")


def _names_requester(raw: str | None) -> bool:
    return raw is not None and bool(_REQUESTER.match(raw))


def requester_only(meta: dict[str, Any]) -> bool:
    """Whether only the requester may work the task: assigned to ``${requester}``, or with
    ``${requester}`` as its only candidate (an assignee overrides the candidates)."""
    if meta.get("assignee"):
        return _names_requester(meta["assignee"])
    users = [p for p in (meta.get("candidate_users") or "").split(",") if p.strip()]
    return (not meta.get("candidate_groups") and len(users) == 1
            and _names_requester(users[0]))


def requester_may_work(meta: dict[str, Any]) -> bool:
    """Whether the requester may work (and so revise the document at) the task."""
    if meta.get("assignee"):
        return _names_requester(meta["assignee"])
    return any(_names_requester(p) for p in (meta.get("candidate_users") or "").split(","))


class _Paths:
    def __init__(self, files: dict[str, str], tasks: dict[str, dict[str, Any]]) -> None:
        self.processes = processes_in(files)
        self.approving = {eid for eid, meta in tasks.items()
                          if not requester_only(meta) and not meta.get("manual")}
        self._graphs: dict[str, FlowGraph] = {}
        self._approved: dict[str, bool] = {}

    def graph(self, process_id: str) -> FlowGraph:
        if process_id not in self._graphs:
            self._graphs[process_id] = FlowGraph(self.processes[process_id])
        return self._graphs[process_id]

    def blocked(self, graph: FlowGraph) -> set[str]:
        """The activities whose completion means someone other than the requester worked a
        task: approving user tasks, and calls of processes every path of which has one."""
        return self.approving | {call for call, called in graph.calls.items()
                                 if self.always_approved(called)}

    def always_approved(self, process_id: str) -> bool:
        if process_id not in self._approved:
            self._approved[process_id] = False  # a call cycle counts as not approved
            if process_id in self.processes:
                graph = self.graph(process_id)
                self._approved[process_id] = graph.slipping_path(
                    set(graph.ends), self.blocked(graph)) is None
        return self._approved[process_id]


def check(files: dict[str, str], key: str, authorized_end: str,
          tasks: dict[str, dict[str, Any]]) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of a parsed flow's paths to its authorized end."""
    paths = _Paths(files, tasks)
    graph = paths.graph(key)
    blocked = paths.blocked(graph)
    problems, warnings = [], []
    path = graph.slipping_path(authorized_end, blocked)
    if path is not None:
        problems.append(Problem(msg(
            "a path reaches the authorized end without a task that someone other than the "
            "requester works: %(path)s. Every path to the authorized end must pass an approval "
            "(a user task not assigned to ${requester} alone)", path=_route(graph, path)),
            element=authorized_end, line=_line(paths, key, authorized_end),
            extra={"path": path}))
    for eid, meta in sorted(tasks.items()):
        if eid not in graph.passable or meta.get("manual") or not requester_may_work(meta):
            continue
        after = graph.slipping_path(authorized_end, blocked - {eid}, start=eid)
        if after is not None:
            warnings.append(Problem(msg(
                "task '%(task)s' is the requester's own, and from it the authorized end is "
                "reached with no approver after it: %(path)s. A document revised there would "
                "reach the end unapproved, and the request would fail: route it back through "
                "an approval", task=meta.get("name") or eid, path=_route(graph, after)),
                element=eid,
                line=_line(paths, key, eid), severity="warning", extra={"path": after}))
    return problems, warnings


def _route(graph: FlowGraph, path: list[str]) -> str:
    return " → ".join(graph.names.get(e) or e for e in path)


def _line(paths: _Paths, key: str, element: str) -> int | None:
    hits = paths.processes[key].xpath("//*[@id=$i]", i=element)
    return hits[0].sourceline if hits else None
