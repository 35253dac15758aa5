"""The engine adapter: state without the spec, specs parsed again after a restart, compaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from processes.flows import engine
from processes.flows.bpmn import load_flow
from processes.models import ProcessDefinition

DATA = Path(__file__).resolve().parents[1] / "e2e" / "data"


def _definition(folder: str, definition_id: int) -> tuple[ProcessDefinition, str]:
    files = {f.name: f.read_bytes() for f in sorted((DATA / folder).glob("*.bpmn"))}
    flow = load_flow(files)
    return ProcessDefinition(id=definition_id, key=flow.key, files=flow.files), \
        flow.authorized_end


@pytest.fixture
def restart(monkeypatch):
    """Forget every parsed spec, as a new process would."""
    def forget() -> None:
        engine.SPECS._items.clear()
    return forget


def test_a_countersign_in_progress_survives_a_restart(restart):
    definition, authorized = _definition("mi_all", 9001)
    wf = engine.start(definition, {"approvers": ["bob", "carol"], "requester": "alice"})
    state, _ = engine.dump(wf)
    for _ in ("bob", "carol"):
        restart()
        wf = engine.load(definition, state)
        task = engine.ready_user_tasks(wf)[0]
        engine.complete(wf, task.id, {"decision": "approve"})
        state, _ = engine.dump(wf)
    assert engine.reached_end(wf, authorized) == authorized


def test_state_is_stored_without_the_spec_and_round_trips(restart):
    definition, _ = _definition("revision_loop", 9002)
    wf = engine.start(definition, {"seal_custodians": ["carol"], "requester": "alice"})
    state, version = engine.dump(wf)
    assert version == "1.5"
    assert '"spec"' not in state and '"task_specs"' not in state  # the definition has it
    restart()
    again = engine.load(definition, state)
    assert [t.element_id for t in engine.ready_user_tasks(again)] == ["review"]


def test_a_long_loop_keeps_a_small_live_tree():
    definition, _ = _definition("revision_loop", 9003)
    wf = engine.start(definition, {"seal_custodians": ["carol"], "requester": "alice"})
    sizes = []
    for step in range(1200):
        task = engine.ready_user_tasks(wf)[0]
        engine.complete(wf, task.id, {"decision": "return" if task.element_id == "review"
                                      else "approve"})
        state, _ = engine.dump(wf)
        wf = engine.load(definition, state)
        if step in (10, 1199):
            sizes.append((len(wf.tasks), len(state)))
    # Past a task-tree depth of 1000 SpiffWorkflow would stop finding READY tasks: it still
    # finds one, and the live tree and the stored state stay as small as after ten steps.
    assert engine.ready_user_tasks(wf)
    (tasks_early, bytes_early), (tasks_late, bytes_late) = sizes
    assert tasks_late <= tasks_early
    assert bytes_late <= bytes_early * 1.1
