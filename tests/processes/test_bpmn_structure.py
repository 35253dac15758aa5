"""The structure of a deployment is checked before SpiffWorkflow sees it: each broken drawing is
refused (or warned about) naming its element, line and file, every problem at once, and never
with SpiffWorkflow's own guess at what went wrong; the shipped and test flows pass untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from processes.errors import InvalidProcess, Problem
from processes.flows import bpmn
from processes.flows.bpmn import build_spec, load_flow, parse_xml
from processes.flows.structure import check_structure

ROOT = Path(__file__).resolve().parents[2]
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs">\n')
AUTH = ('<bpmn:endEvent id="done"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="outcome" value="authorized"/></camunda:properties>'
        '</bpmn:extensionElements></bpmn:endEvent>')
TIMER = ('<bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration>'
         '</bpmn:timerEventDefinition>')


def doc(*lines: str, pid: str = "p") -> bytes:
    """A file with one executable process, one element per line (so lines can be checked)."""
    return (HEAD + f'<bpmn:process id="{pid}" isExecutable="true">\n' + "\n".join(lines)
            + "\n</bpmn:process>\n</bpmn:definitions>\n").encode()


def line_of(data: bytes, element: str | None) -> int:
    """The line on which ``id="element"`` is declared (None: the sequence flow without one)."""
    text = data.decode()
    mark = f'id="{element}"' if element else "<bpmn:sequenceFlow sourceRef"
    return text[:text.index(mark)].count("\n") + 1


def task(eid: str, *inner: str) -> str:
    return f'<bpmn:userTask id="{eid}" camunda:assignee="bob">{"".join(inner)}</bpmn:userTask>'


def flow(fid: str, source: str | None, target: str | None, condition: str = "") -> str:
    refs = "".join(f' {a}="{v}"' for a, v in (("sourceRef", source), ("targetRef", target)) if v)
    if condition:
        return (f'<bpmn:sequenceFlow id="{fid}"{refs}><bpmn:conditionExpression>{condition}'
                "</bpmn:conditionExpression></bpmn:sequenceFlow>")
    return f'<bpmn:sequenceFlow id="{fid}"{refs}/>'


START = '<bpmn:startEvent id="s"/>'
# A flow that deploys: start, a task, the authorized end.
OK = (START, flow("f0", "s", "t"), task("t"), flow("f9", "t", "done"), AUTH)
# An exclusive gateway after the task, its default to the end; the rest is each case's.
GATE = (START, flow("f0", "s", "t"), task("t"), flow("f1", "t", "g"),
        '<bpmn:exclusiveGateway id="g" default="f9"/>', flow("f9", "g", "done"), AUTH)

# name: (lines, element reported, words of the message, severity)
CASES: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "a loop with nothing in it that waits": (
        (*GATE, flow("f2", "g", "g2", "${decision == 'again'}"),
         '<bpmn:exclusiveGateway id="g2" default="f4"/>', flow("f3", "g2", "g", "${amount > 1}"),
         flow("f4", "g2", "done")),
        "g", "exclusive gateway 'g' of process 'p' loops through g, g2 with no task, timer or "
        "message in the loop", "error"),
    "a loop through a manual task no one confirms": (
        (*GATE, flow("f2", "g", "m", "${decision == 'again'}"), '<bpmn:manualTask id="m"/>',
         flow("f3", "m", "g")),
        "g", "exclusive gateway 'g' of process 'p' loops through g, m with no task, timer or "
        "message in the loop (manual task m has no assignee, candidates or lane: it passes "
        "through without waiting)", "error"),
    "dangling target": (
        (*GATE, flow("f2", "g", "nowhere", "${decision == 'x'}")),
        "f2", "sequence flow 'f2' points at 'nowhere', which is not an element of process 'p'",
        "error"),
    "dangling source": (
        (*OK, flow("f2", "ghost", "done")),
        "f2", "sequence flow 'f2' starts from 'ghost', which is not an element of process 'p'",
        "error"),
    "no target": ((*GATE, flow("f2", "g", None, "${a}")), "f2", "has no targetRef", "error"),
    "no source": ((*OK, flow("f2", None, "done")), "f2", "has no sourceRef", "error"),
    "no id": ((*OK, '<bpmn:sequenceFlow sourceRef="t" targetRef="done"/>'), None,
              "a sequence flow of process 'p' has no id", "error"),
    "into a subprocess": (
        (START, flow("f0", "s", "pg"), '<bpmn:parallelGateway id="pg"/>', flow("f1", "pg", "sub"),
         flow("f2", "pg", "inner_end"), '<bpmn:subProcess id="sub">', START.replace('"s"', '"ss"'),
         flow("sf", "ss", "inner_end"), '<bpmn:endEvent id="inner_end"/>', "</bpmn:subProcess>",
         flow("f3", "sub", "done"), AUTH),
        "f2", "which is in subprocess 'sub', not in process 'p': a sequence flow may not cross",
        "error"),
    "to something that is not a flow node": (
        (*GATE, '<bpmn:dataObject id="data"/>', flow("f2", "g", "data", "${a}")),
        "f2", "'data', which is a data object, not a task, event or gateway", "error"),
    "out of an end event": ((*OK, flow("f2", "done", "t")), "f2", "leaves end event 'done'",
                            "error"),
    "into a start event": ((*GATE, flow("f2", "g", "s", "${a}")), "f2",
                           "leads into start event 's'", "error"),
    "into a boundary event": (
        (*GATE, f'<bpmn:boundaryEvent id="b" attachedToRef="t">{TIMER}</bpmn:boundaryEvent>',
         flow("fb", "b", "done"), flow("f2", "g", "b", "${a}")),
        "f2", "leads into boundary event 'b'", "error"),
    "two flows out of a task": ((*OK, flow("f2", "t", "done")), "t",
                                "user task 't' has 2 outgoing sequence flows (f9, f2)", "error"),
    "a condition off a gateway": (
        (START, flow("f0", "s", "t"), task("t"), flow("f9", "t", "done", "${a}"), AUTH),
        "f9", "out of user task 't' has a condition", "error"),
    "a default that does not leave": (
        (START, flow("f0", "s", "t"), task("t"), flow("f1", "t", "g"),
         '<bpmn:exclusiveGateway id="g" default="f0"/>', flow("f9", "g", "done", "${a}"),
         flow("f8", "g", "done")),
        "g", "names 'f0' as its default flow, but no sequence flow 'f0' leaves it", "error"),
    "a gateway with no way out": (
        (START, flow("f0", "s", "pg"), '<bpmn:parallelGateway id="pg"/>', flow("f1", "pg", "t"),
         flow("f2", "pg", "g"), '<bpmn:exclusiveGateway id="g"/>', task("t"),
         flow("f9", "t", "done"), AUTH),
        "g", "exclusive gateway 'g' has no outgoing sequence flow", "error"),
    "a task with no way out": (
        (START, flow("f0", "s", "pg"), '<bpmn:parallelGateway id="pg"/>', flow("f1", "pg", "t"),
         flow("f2", "pg", "u"), task("u"), task("t"), flow("f9", "t", "done"), AUTH),
        "u", "user task 'u' has no outgoing sequence flow: every path must end in an end event",
        "error"),
    "an unreachable element": (
        (*OK, task("u"), flow("f2", "u", "done")), "u",
        "user task 'u' cannot be reached from the start event of process 'p'", "error"),
    "a loop with no way to an end": (
        (START, flow("f0", "s", "g0"), '<bpmn:exclusiveGateway id="g0" default="fa"/>',
         flow("fa", "g0", "done"), flow("fb", "g0", "t", "${a}"), task("t"),
         flow("f1", "t", "g"), '<bpmn:exclusiveGateway id="g"/>', flow("f2", "g", "t"), AUTH),
        "t", "no path from user task 't' leads to an end event of process 'p': a request "
        "reaching it could never finish (it can only go on to g)", "error"),
    "no start event": ((task("t"), flow("f9", "t", "done"), AUTH), "p",
                       "process 'p' has no start event", "error"),
    "two untriggered start events": (
        (*OK, '<bpmn:startEvent id="s2"/>', flow("f2", "s2", "t")), "s2",
        "process 'p' has 2 start events without a trigger (s, s2)", "error"),
    "a subprocess without a start": (
        (START, flow("f0", "s", "sub"), '<bpmn:subProcess id="sub">', task("t"),
         flow("sf", "t", "inner_end"), '<bpmn:endEvent id="inner_end"/>', "</bpmn:subProcess>",
         flow("f9", "sub", "done"), AUTH),
        "sub", "subprocess 'sub' needs exactly one start event; it has 0", "error"),
    "a boundary event on nothing": (
        (*OK, f'<bpmn:boundaryEvent id="b" attachedToRef="gone">{TIMER}</bpmn:boundaryEvent>',
         flow("fb", "b", "done")),
        "b", "boundary event 'b' is attached to 'gone', which is not an activity", "error"),
    "a call to a process not deployed": (
        (START, flow("f0", "s", "call"), '<bpmn:callActivity id="call" calledElement="review"/>',
         flow("f1", "call", "t"), task("t"), flow("f9", "t", "done"), AUTH),
        "call", "call activity 'call' calls process 'review': deploy the file of the process it "
        "calls with the flow (the processes deployed here: p)", "error"),
    "an id SpiffWorkflow keeps for itself": (
        (START, flow("f0", "s", "End"), task("End"), flow("f9", "End", "done"), AUTH),
        "End", "the id 'End' is one SpiffWorkflow uses for a task of its own", "error"),
    "incoming and outgoing lists that contradict the flows": (
        (START, flow("f0", "s", "t"),
         task("t", "<bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>"),
         flow("f9", "t", "done"), AUTH),
        "t", "user task 't' lists outgoing flows f7, but the sequence flows make them f9",
        "warning"),
    "a default flow with a condition": (
        (START, flow("f0", "s", "t"), task("t"), flow("f1", "t", "g"),
         '<bpmn:exclusiveGateway id="g" default="f9"/>', flow("f9", "g", "done", "${a}"),
         flow("f8", "g", "done", "${b}"), AUTH),
        "g", "the default flow 'f9' of exclusive gateway 'g' has a condition, which is ignored",
        "warning"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_broken_structure_is_reported_with_its_element_and_line(name):
    lines, element, words, severity = CASES[name]
    data = doc(*lines)
    if severity == "warning":
        found = [w.as_dict() for w in load_flow({"p.bpmn": data}).warnings]
    else:
        with pytest.raises(InvalidProcess) as info:
            load_flow({"p.bpmn": data})
        found = info.value.problems
    mine = [p for p in found if words in p["message"]]
    assert mine, found
    assert mine[0]["element"] == element
    assert (mine[0]["line"], mine[0]["severity"], mine[0]["file"]) == (
        line_of(data, element), severity, "p.bpmn")


def test_the_issue_flow_names_both_dangling_flows_and_never_spiffworkflows_guess():
    lines = (*GATE, flow("f2", "g", "nowhere", "${a}"), flow("f3", "g", "nowhere", "${b}"))
    data = doc(*lines, pid="x")
    with pytest.raises(InvalidProcess) as info:
        load_flow({"x.bpmn": data})
    problems = info.value.problems
    assert [(p["element"], p["line"], p["message"]) for p in problems] == [
        (f, line_of(data, f),
         f"sequence flow '{f}' points at 'nowhere', which is not an element of process 'x'")
        for f in ("f2", "f3")]
    assert "perhaps a form" not in str(info.value)


@pytest.mark.parametrize(("lines", "words"), [
    ((*GATE, flow("f2", "g", "nowhere", "${a}"), flow("f3", "g", "nowhere", "${b}")),
     "a sequence flow out of 'g' points at 'nowhere', which is not an element of its process"),
    ((*OK, flow("f2", "t", "done")),
     "'t' has more than one outgoing sequence flow: put a gateway after it"),
    (CASES["a call to a process not deployed"][0],
     "a call activity calls process 'review', which is not deployed with the flow"),
])
def test_should_spiffworkflow_see_a_broken_file_its_message_is_said_plainly(lines, words):
    """The fallback behind check_structure: SpiffWorkflow's own refusal, translated."""
    data = doc(*lines)
    root, _ = parse_xml("p.bpmn", data, 1 << 20)
    with pytest.raises(Exception) as info:  # noqa: PT011 - whatever SpiffWorkflow raises
        build_spec({"p.bpmn": data.decode()}, "p")
    problem = bpmn._spiff_problem(info.value, {"p.bpmn": root})
    assert problem.message == words
    assert problem.element and problem.line == line_of(data, problem.element)


def test_a_refusal_of_our_own_parser_keeps_its_message_for_the_callers_language():
    """Behind the checks, flows/spiff.py refuses a script task itself: the problem keeps that
    message's key, so a Chinese designer reads it in Chinese, not as SpiffWorkflow's English."""
    data = doc(START, flow("f0", "s", "t"), '<bpmn:scriptTask id="t"/>', flow("f9", "t", "done"),
               AUTH)
    root, _ = parse_xml("p.bpmn", data, 1 << 20)
    with pytest.raises(Exception) as info:  # noqa: PT011 - SpiffWorkflow's ValidationException
        build_spec({"p.bpmn": data.decode()}, "p")
    problem = bpmn._spiff_problem(info.value, {"p.bpmn": root})
    assert problem.message.key.startswith("%(tag)s '%(id)s' is a script task")
    assert problem.message.params == {"tag": "scriptTask", "id": "t"}
    assert problem.element == "t"


def test_every_problem_of_a_file_is_reported_at_once():
    lines = (START, flow("f0", "s", "t"), task("t"), flow("f1", "t", "nowhere"),
             flow("f2", "t", "done"), task("orphan"), flow("f3", "orphan", "done"),
             '<bpmn:exclusiveGateway id="g"/>', flow("f4", "g", "t"), flow("f5", "done", "t"),
             AUTH)
    with pytest.raises(InvalidProcess) as info:
        load_flow({"p.bpmn": doc(*lines)})
    elements = sorted(str(p["element"]) for p in info.value.problems)
    assert elements == ["f1", "f5", "g", "orphan"], info.value.problems


def test_ids_are_distinct_across_the_files_deployed_together():
    called = doc('<bpmn:startEvent id="s"/>', flow("r0", "s", "review"),
                 '<bpmn:userTask id="review" camunda:assignee="${requester}"/>',
                 flow("r1", "review", "r_end"), '<bpmn:endEvent id="r_end"/>', pid="sub")
    main = doc(START, flow("f0", "s", "call"),
               '<bpmn:callActivity id="call" calledElement="sub"/>', flow("f1", "call", "review"),
               task("review"), flow("f9", "review", "done"), AUTH)
    with pytest.raises(InvalidProcess) as info:
        load_flow({"main.bpmn": main, "sub.bpmn": called})
    assert [(p["element"], p["file"], p["line"]) for p in info.value.problems] == [
        ("s", "sub.bpmn", line_of(called, "s")), ("review", "sub.bpmn", line_of(called, "review"))]
    assert "also used in main.bpmn" in info.value.problems[1]["message"]
    called = called.replace(b'"s"', b'"rs"').replace(b'"review"', b'"look"')
    assert load_flow({"main.bpmn": main, "sub.bpmn": called}).key == "p"
    twin = doc('<bpmn:startEvent id="ts"/>', flow("tf", "ts", "te"), '<bpmn:endEvent id="te"/>',
               pid="sub")
    with pytest.raises(InvalidProcess) as info:
        load_flow({"main.bpmn": main, "sub.bpmn": called, "twin.bpmn": twin})
    assert [(p["element"], p["file"]) for p in info.value.problems] == [("sub", "twin.bpmn")]


@pytest.mark.parametrize("lines", [
    # Two flows into one task; two out of a start event (both paths run).
    (START, flow("f0", "s", "g"), '<bpmn:exclusiveGateway id="g" default="f2"/>',
     flow("f1", "g", "t", "${a}"), flow("f2", "g", "t"), task("t"), flow("f9", "t", "done"),
     AUTH),
    # A loop whose way out is an interrupting timer; a reminder that ends where it starts.
    (START, flow("f0", "s", "t"), task("t"), flow("f1", "t", "g"),
     '<bpmn:exclusiveGateway id="g"/>', flow("f2", "g", "t"),
     f'<bpmn:boundaryEvent id="late" attachedToRef="t">{TIMER}</bpmn:boundaryEvent>',
     flow("f9", "late", "done"),
     f'<bpmn:boundaryEvent id="nag" attachedToRef="t" cancelActivity="false">{TIMER}'
     "</bpmn:boundaryEvent>", AUTH),
    # An event subprocess, entered by its own trigger, with its own end.
    (*OK, '<bpmn:subProcess id="on_message" triggeredByEvent="true">',
     f'<bpmn:startEvent id="es">{TIMER.replace("Duration", "Date").replace("P3D", "2030-01-01")}'
     "</bpmn:startEvent>", flow("ef", "es", "ee"), '<bpmn:endEvent id="ee"/>',
     "</bpmn:subProcess>"),
    # Loops through a manual task that someone confirms: named as its performer, or by lane.
    (*GATE, flow("f2", "g", "m", "${decision == 'again'}"),
     '<bpmn:manualTask id="m" camunda:candidateGroups="legal"/>', flow("f3", "m", "g")),
    ('<bpmn:laneSet id="ls"><bpmn:lane id="l" name="legal"><bpmn:flowNodeRef>m'
     '</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>', *GATE,
     flow("f2", "g", "m", "${decision == 'again'}"), '<bpmn:manualTask id="m"/>',
     flow("f3", "m", "g")),
], ids=["merges and splits", "timer way out", "event subprocess", "manual task confirmed",
        "manual task in a lane"])
def test_shapes_that_are_sound_are_not_reported(lines):
    problems: list[Problem] = []
    warnings: list[Problem] = []
    root, _ = parse_xml("p.bpmn", doc(*lines), 1 << 20)
    check_structure({"p.bpmn": root}, problems, warnings)
    assert (problems, warnings) == ([], [])


def _deployments() -> list[tuple[str, dict[str, bytes]]]:
    """Every flow under bpmn/, tests/e2e/data and bench/data as it is deployed: a folder's
    flow (named after it) with the other BPMN and DMN files beside it, else each file alone."""
    found = []
    for base in (ROOT / "bpmn", ROOT / "tests" / "e2e" / "data", ROOT / "bench" / "data"):
        for folder in [base, *sorted(p for p in base.iterdir() if p.is_dir())]:
            main = folder / f"{folder.name}.bpmn"
            others = sorted(p for p in folder.iterdir() if p.suffix in (".bpmn", ".dmn")
                            and p != main)
            if main.exists():
                found.append((folder.name, {p.name: p.read_bytes() for p in [main, *others]}))
            else:
                found.extend((p.stem, {p.name: p.read_bytes()}) for p in others
                             if p.suffix == ".bpmn")
    return found


DEPLOYMENTS = _deployments()


def test_the_walk_finds_the_flows():
    names = {name for name, _ in DEPLOYMENTS}
    assert {"contract_seal", "seal_void", "call_activity", "guarded", "slippery",
            "revision_loop", "timer_escalation"} <= names
    assert len(DEPLOYMENTS) >= 25


@pytest.mark.parametrize(("name", "files"), DEPLOYMENTS, ids=[n for n, _ in DEPLOYMENTS])
def test_every_shipped_test_and_bench_flow_passes_the_structure_check(name, files):
    roots = {n: parse_xml(n, b, 1 << 22)[0] for n, b in files.items() if n.endswith(".bpmn")}
    problems: list[Problem] = []
    warnings: list[Problem] = []
    check_structure(roots, problems, warnings)
    if name == "gateway_loop":  # kept to show that a loop with nothing that waits is refused
        assert [(p.element, p.severity) for p in problems + warnings] == [("gw1", "error")]
        with pytest.raises(InvalidProcess, match="loops through gw1, gw2 with no task"):
            load_flow(files)
        return
    assert (problems, warnings) == ([], [])
    if name == "event_based_gateway":  # kept to show that they are refused
        with pytest.raises(InvalidProcess, match="event-based gateways are not supported"):
            load_flow(files)
    else:
        assert load_flow(files).key

