"""Where each user task of a flow may send a request back (退回), read from the paths drawn: the
rule of the modeler's read-only line (app/static/studio_send_back.js), kept at deploy in each
task's metadata (``return_targets``).

Past the task, through gateways only, a sequence flow whose condition tests
``decision == 'return'`` is taken on a return; its targets are where those flows lead, again
past gateways. A flow with several targets routes on ``return_to`` (the target's element id,
set by the return), which its return flows' conditions test."""

from __future__ import annotations

import re
from typing import Any

from processes.flows.bpmn_checks import BPMN_NS

_B = "{" + BPMN_NS + "}"
RETURN = re.compile(r"\bdecision\s*==\s*(['\"])return\1")


def _is_gateway(element: Any) -> bool:
    return str(element.tag).endswith("Gateway")


def _condition(flow: Any) -> str:
    found = flow.find(f"{_B}conditionExpression")
    return (found.text or "") if found is not None else ""


def _scope_targets(scope: Any) -> dict[str, list[dict[str, str]]]:
    """The return targets of the user tasks directly in ``scope`` (a process or subprocess)."""
    elements = {e.get("id"): e for e in scope if e.get("id")}
    outgoing: dict[str, list[Any]] = {}
    for flow in scope.findall(f"{_B}sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
    found: dict[str, list[dict[str, str]]] = {}
    for task in scope.findall(f"{_B}userTask"):
        taken, seen, queue = [], set(), list(outgoing.get(task.get("id"), []))
        while queue:
            flow = queue.pop(0)
            if flow.get("id") in seen:
                continue
            seen.add(flow.get("id"))
            target = elements.get(flow.get("targetRef"))
            if RETURN.search(_condition(flow)):
                taken.append(target)
            elif target is not None and _is_gateway(target):
                queue.extend(outgoing.get(target.get("id"), []))
        targets: dict[str, Any] = {}
        visited: set[str] = set()
        landing = [t for t in taken if t is not None]
        while landing:
            element = landing.pop(0)
            if element.get("id") in visited:
                continue
            visited.add(element.get("id"))
            if not _is_gateway(element):
                targets[element.get("id")] = element
                continue
            landing.extend(elements[f.get("targetRef")] for f in outgoing.get(element.get("id"), [])
                           if f.get("targetRef") in elements)
        found[task.get("id")] = [{"id": i, "name": e.get("name") or i}
                                 for i, e in targets.items()]
    return found


def return_targets(roots: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Each user task's return targets (``[{id, name}]``, empty: it cannot send back), by
    element id, over the processes and subprocesses of the deployment."""
    found: dict[str, list[dict[str, str]]] = {}
    for root in roots.values():
        for scope in [*root.iter(f"{_B}process"), *root.iter(f"{_B}subProcess")]:
            for task, targets in _scope_targets(scope).items():
                found.setdefault(task, targets)
    return found
