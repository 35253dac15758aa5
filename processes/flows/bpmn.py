"""Loading BPMN: safe XML parsing, deploy-time validation that reports every problem at once
(with element id and line), and the per-task metadata the inbox needs.

All XML from designers enters through here; DTDs and entities are refused before parsing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException

from processes.errors import InvalidProcess, Message, Problem, msg
from processes.flows.bpmn_checks import (
    BPMN_NS,
    check_dmn,
    element_checks,
    manual_task_checks,
    pass_through_warnings,
)
from processes.flows.dmn_xml import is_dmn_file
from processes.flows.return_paths import return_targets
from processes.flows.safe_xml import parse_safely, safe_parser, xml_text
from processes.flows.spiff import SealflowParser, _form_fields, _properties, is_human, is_manual
from processes.flows.structure import check_structure

logger = logging.getLogger(__name__)

_B = "{" + BPMN_NS + "}"


SEAL_ACTIONS = ("make", "change", "resume", "void", "revoke")


@dataclass
class ParsedFlow:
    """A validated BPMN deployment: what the database stores and what the engine runs."""

    key: str
    name: str
    authorized_end: str
    files: dict[str, str]
    sha256: str
    tasks: dict[str, dict[str, Any]]
    start_form: list[dict[str, Any]]
    spec: Any
    subprocess_specs: dict[str, Any]
    warnings: list[Problem] = field(default_factory=list)
    seal_action: str | None = None
    """A lifecycle flow's action at its authorized end (make, void, revoke), from the process's
    property ``seal_action``; None for a flow that authorizes a use of a seal."""


def content_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over the files deployed together, by name (order-independent)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    if len(files) == 1:
        return hashlib.sha256(next(iter(files.values()))).hexdigest()
    return h.hexdigest()


def parse_xml(name: str, data: bytes, max_bytes: int) -> tuple[Any, list[Problem]]:
    """Parse one file safely; returns (root or None, problems)."""
    root, problems = parse_safely(name, data, max_bytes, "BPMN")
    if root is None:
        return None, problems
    if root.tag != f"{_B}definitions":
        return None, [Problem(msg("not a BPMN file: the root element must be bpmn:definitions"),
                              line=root.sourceline, file=name)]
    return root, []


def _authorized_ends(process: Any) -> list[Any]:
    return [e for e in process.findall(f"{_B}endEvent")
            if _properties(e).get("outcome") == "authorized"]


def _lane_of(process: Any) -> dict[str, str | None]:
    lanes: dict[str, str | None] = {}
    for ref in process.iter(f"{_B}flowNodeRef"):
        lanes[(ref.text or "").strip()] = ref.getparent().get("name")
    return lanes


def _authorized_end(name: str, process: Any, authorized_end: str | None,
                    problems: list[Problem]) -> str | None:
    if authorized_end:
        ends = [e for e in process.findall(f"{_B}endEvent") if e.get("id") == authorized_end]
        if not ends:
            problems.append(Problem(msg(
                "authorized_end '%(end)s' is not an end event of process '%(process)s'",
                end=authorized_end, process=process.get("id")), element=authorized_end,
                file=name))
            return None
        return authorized_end
    ends = _authorized_ends(process)
    if not ends:
        problems.append(Problem(msg(
            "process '%(process)s' has no authorized end event: give one end event the "
            "extension property outcome=authorized, or name it with authorized_end",
            process=process.get("id")), element=process.get("id"), line=process.sourceline,
            file=name))
        return None
    if len(ends) > 1:
        problems.append(Problem(msg("more than one end event is marked outcome=authorized"),
                                element=ends[1].get("id"), line=ends[1].sourceline, file=name))
        return None
    return ends[0].get("id")


def _main_process(name: str, root: Any, problems: list[Problem]) -> Any:
    processes = root.findall(f"{_B}process")
    executable = [p for p in processes if p.get("isExecutable", "true").lower() == "true"]
    if not executable:
        problems.append(Problem(msg("the file has no executable process"), file=name,
                                line=root.sourceline))
        return None
    if len(executable) > 1:
        problems.append(Problem(
            msg("the file has more than one executable process; deploy one flow per file"),
            element=executable[1].get("id"), line=executable[1].sourceline, file=name))
        return None
    return executable[0]


# SpiffWorkflow's words for what check_structure refuses before SpiffWorkflow is reached;
# should one get through, it is said plainly instead of as SpiffWorkflow guesses it (found: the
# match, e: the element SpiffWorkflow names).
_NOT_DEPLOYED = re.compile(r"The process '(.*?)' was not found")
_SPIFF_MESSAGES: tuple[tuple[re.Pattern, Callable[[re.Match, object], str]], ...] = (
    (re.compile(r"When looking for a task spec, we found two items, perhaps a form has the "
                r"same ID\? \((.*)\)"),
     lambda found, e: msg("a sequence flow out of '%(element)s' points at '%(target)s', which "
                          "is not an element of its process", element=e, target=found[1])),
    (re.compile(r"Multiple outgoing flows are not supported for tasks of type"),
     lambda found, e: msg("'%(element)s' has more than one outgoing sequence flow: put a "
                          "gateway after it", element=e)),
    (_NOT_DEPLOYED,
     lambda found, e: msg("a call activity calls process '%(process)s', which is not deployed "
                          "with the flow", process=found[1])),
    (re.compile(r"No start event found"),
     lambda found, e: msg("process '%(element)s' has no start event", element=e)),
    (re.compile(r"Duplicate process ID: (\S+)"),
     lambda found, e: msg("the id '%(id)s' is used by two processes of the deployment",
                          id=found[1])),
)


def _spiff_problem(exc: SpiffWorkflowException, roots: dict[str, Any]) -> Problem:
    element = getattr(exc, "id", None) or None
    line = None
    fname = getattr(exc, "file_name", None) or None
    first = exc.args[0] if exc.args else None
    # Our own parser's refusals (flows/spiff.py) are messages already: kept as written.
    message = first if isinstance(first, Message) else str(exc).rstrip(". ")
    for pattern, plain in () if isinstance(first, Message) else _SPIFF_MESSAGES:
        if found := pattern.search(message):
            message = plain(found, element)
            if element is None and pattern is _NOT_DEPLOYED:
                calls = [c for root in roots.values() for c in root.iter(f"{_B}callActivity")
                         if c.get("calledElement") == found.group(1)]
                element = calls[0].get("id") if calls else None
            break
    if element:
        for fn, root in roots.items():
            hits = root.xpath("//*[@id=$i]", i=element)
            if hits:
                line, fname = hits[0].sourceline, fname or fn
                break
    return Problem(message, element=element, line=line, file=fname)


def build_spec(files: dict[str, str], key: str) -> tuple[Any, dict[str, Any]]:
    """Parse already-validated files into a SpiffWorkflow spec and its subprocess specs."""
    parser = SealflowParser()
    for name, text in files.items():
        root = etree.fromstring(text.encode("utf-8"), safe_parser())
        if is_dmn_file(name):
            parser.add_dmn_xml(root, name)
        else:
            parser.add_bpmn_xml(root, name)
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def task_metadata(spec: Any, lanes: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """What the inbox needs of each task a person works (a user task, or a manual task with
    performers): name, lane, performers and form fields."""
    return {ts.bpmn_id: spec_metadata(ts, lanes) for ts in spec.task_specs.values()
            if is_human(ts)}


def spec_metadata(ts: Any, lanes: dict[str, str | None] | None = None) -> dict[str, Any]:
    """One task's metadata (:func:`task_metadata`). ``manual``: a manual task, confirmed done
    with no decision, never an approval."""
    ext = getattr(ts, "extensions", {}) or {}
    meta = {
        "name": ts.bpmn_name or ts.bpmn_id,
        "lane": ts.lane or (lanes or {}).get(ts.bpmn_id),
        "assignee": ext.get("assignee"),
        "candidate_users": ext.get("candidateUsers"),
        "candidate_groups": ext.get("candidateGroups"),
        "due_date": ext.get("dueDate"),
        "form": [{k: v for k, v in f.items() if k != "line"} for f in ext.get("form", [])],
    }
    if is_manual(ts):
        meta["manual"] = True
    return meta


def _all_task_metadata(spec: Any, subprocess_specs: dict[str, Any],
                       lanes: dict[str, str | None],
                       roots: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """User tasks of the flow, its embedded subprocesses and the processes it calls, each with
    where it may send the request back (``return_targets``, processes/flows/return_paths.py;
    ``can_return``: there is somewhere)."""
    tasks = task_metadata(spec, lanes)
    for sub in subprocess_specs.values():
        for element, meta in task_metadata(sub, lanes).items():
            tasks.setdefault(element, meta)
    targets = return_targets(roots)
    for element, meta in tasks.items():
        meta["return_targets"] = targets.get(element, [])
        meta["can_return"] = bool(meta["return_targets"])
    return tasks


def load_flow(files: dict[str, bytes], *, authorized_end: str | None = None,
              max_bytes: int = 2 * 1024 * 1024) -> ParsedFlow:
    """Validate and parse a deployment; raise InvalidProcess listing every problem found."""
    if not files:
        raise InvalidProcess(msg("no BPMN file was given"),
                             [Problem(msg("no BPMN file was given")).as_dict()])
    problems: list[Problem] = []
    warnings: list[Problem] = []
    roots: dict[str, Any] = {}
    for name, data in files.items():
        if is_dmn_file(name):
            continue
        root, found = parse_xml(name, data, max_bytes)
        problems.extend(found)
        if root is not None:
            roots[name] = root
    check_dmn(files, roots, max_bytes, problems, warnings)
    main_name = next((name for name in files if not is_dmn_file(name)), "")
    if not main_name:
        problems.append(Problem(msg("only DMN files were given: the BPMN file is missing")))
    process = None
    end_id = None
    lanes: dict[str, str | None] = {}
    for root in roots.values():
        for proc in root.findall(f"{_B}process"):
            lanes.update(_lane_of(proc))
    for name, root in roots.items():
        element_checks(name, root, lanes, problems, warnings)
        manual_task_checks(name, root, problems)
    check_structure(roots, problems, warnings)
    if main_name in roots:
        process = _main_process(main_name, roots[main_name], problems)
        if process is not None:
            end_id = _authorized_end(main_name, process, authorized_end, problems)
            action = _properties(process).get("seal_action")
            if action and action not in SEAL_ACTIONS:
                problems.append(Problem(
                    msg("seal_action %(action)s is not one of %(actions)s", action=repr(action),
                        actions=", ".join(SEAL_ACTIONS)),
                    element=process.get("id"), line=process.sourceline, file=main_name))
    if problems:
        raise InvalidProcess(_summary(problems), [p.as_dict() for p in problems + warnings])
    assert process is not None and end_id is not None
    key = process.get("id")
    # Stored as the text that was checked and parsed (UTF-8, whatever the file's encoding).
    texts = {name: xml_text(data) for name, data in files.items()}
    try:
        spec, subprocess_specs = build_spec(texts, key)
    except (ValidationException, SpiffWorkflowException) as exc:
        problems.append(_spiff_problem(exc, roots))
    except (KeyError, ValueError, AttributeError) as exc:
        problems.append(Problem(msg("the BPMN could not be parsed: %(detail)s",
                                    detail=str(exc)), file=main_name))
    if problems:
        raise InvalidProcess(_summary(problems), [p.as_dict() for p in problems + warnings])
    warnings.extend(pass_through_warnings(roots, [spec, *subprocess_specs.values()]))
    if not isinstance(spec.task_specs.get(end_id), EndEvent):
        raise InvalidProcess(msg("the authorized end is not an end event"),
                             [Problem(msg("the authorized end is not an end event"),
                                      element=end_id).as_dict()])
    start = process.find(f"{_B}startEvent")
    return ParsedFlow(
        key=key,
        name=process.get("name") or key,
        authorized_end=end_id,
        seal_action=_properties(process).get("seal_action") or None,
        files=texts,
        sha256=content_hash(files),
        tasks=_all_task_metadata(spec, subprocess_specs, lanes, roots),
        start_form=[{k: v for k, v in f.items() if k != "line"}
                    for f in (_form_fields(start) if start is not None else [])],
        spec=spec,
        subprocess_specs=subprocess_specs,
        warnings=warnings,
    )


def _summary(problems: list[Problem]) -> str:
    """The refusal's message: the first problem, where it is, and how many more there are."""
    first = problems[0]
    said = {"message": first.message, "element": first.element, "line": first.line,
            "more": len(problems) - 1}
    if len(problems) > 1:
        if first.element:
            return msg("the BPMN was refused: %(message)s (%(element)s, line %(line)s); and "
                       "%(more)s more problem(s)", **said)
        if first.line:
            return msg("the BPMN was refused: %(message)s (line %(line)s); and %(more)s more "
                       "problem(s)", **said)
        return msg("the BPMN was refused: %(message)s; and %(more)s more problem(s)", **said)
    if first.element:
        return msg("the BPMN was refused: %(message)s (%(element)s, line %(line)s)", **said)
    if first.line:
        return msg("the BPMN was refused: %(message)s (line %(line)s)", **said)
    return msg("the BPMN was refused: %(message)s", **said)
