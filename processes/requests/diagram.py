"""Where a request is, on its flow's diagram: the BPMN file of the request's version, the
elements and sequence flows it finished, and where it is now (its open tasks, or the end event
it reached), for anyone who may see the request."""

from __future__ import annotations

from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.errors import NotFound, msg
from processes.flows import engine, positions
from processes.flows.bpmn import BPMN_NS
from processes.flows.safe_xml import safe_parser
from processes.models import ProcessDefinition, Request, RequestStatus, TaskStatus
from processes.people.directory import Identity
from processes.requests import queries
from processes.task_models import Task

_B = "{" + BPMN_NS + "}"
# Requests whose tokens may still be somewhere: the others are at their end, or nowhere.
_UNDER_WAY = (RequestStatus.running, RequestStatus.incident, RequestStatus.halted)


def of_request(session: Session, identity: Identity, request_id: int) -> dict[str, Any]:
    """``{file, xml, done, current, end}``: ``done`` the finished elements and the sequence
    flows taken, ``current`` the elements a token waits in (open tasks, a failed task) or, for
    a request that ended, its end event, which is also ``end``. 404 for a request the caller
    may not see, as everywhere."""
    req = queries.get_visible(session, identity, request_id)
    name, xml, root = _main_file(req.process)
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str)
           and el.tag.startswith(_B) and el.get("id")}
    flows: dict[tuple[str, str], list[str]] = {}
    for flow in root.iter(f"{_B}sequenceFlow"):
        flows.setdefault((flow.get("sourceRef"), flow.get("targetRef")), []).append(flow.get("id"))

    rows = session.execute(select(Task.element_id, Task.status).where(
        Task.request_id == req.id, Task.status != TaskStatus.cancelled)).all()
    # The inbox rows hold the whole history of people's tasks; the engine's compacted tree
    # adds the gateways, events and flows of (at least) the latest stretch.
    done = {element for element, status in rows if status == TaskStatus.completed}
    current = {element for element, status in rows if status == TaskStatus.open}
    found = _positions(req)
    if found is not None:
        done |= found.done
        done.update(fid for step in found.steps for fid in flows.get(step, ()))
        if req.status in _UNDER_WAY:
            current |= found.live
    end = req.end_event if req.end_event in ids else None
    if end is not None:
        current = {end}
    elif req.status not in _UNDER_WAY:
        current = set()  # withdrawn or failed before any end: nothing waits anywhere
    return {"process": {"key": req.process.key, "version": req.process.version},
            "file": name, "xml": xml,
            "done": sorted((done - current) & ids), "current": sorted(current & ids),
            "end": end}


def _main_file(definition: ProcessDefinition) -> tuple[str, str, Any]:
    """The BPMN file that holds the flow's top-level process, with its parsed root (a
    deployment may also carry DMN tables and the files of the processes it calls)."""
    first = None
    for name, text in sorted(definition.files.items()):
        if name.lower().endswith(".dmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"), safe_parser())
        if any(p.get("id") == definition.key for p in root.iter(f"{_B}process")):
            return name, text, root
        first = first or (name, text, root)
    if first is None:
        raise NotFound(msg("%(definition)s v%(version)s has no BPMN file",
                           definition=definition.key, version=definition.version))
    return first


def _positions(req: Request) -> positions.Positions | None:
    """None when the instance's state cannot be read (the page then shows the inbox's part)."""
    if not req.state:
        return None
    try:
        return positions.of(engine.load(req.process, req.state))
    except engine.StateUnreadable:
        return None
