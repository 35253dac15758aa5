"""The bare engine in this process, the baseline the engine benchmarks measure Sealflow
against (StockEngine), and Sealflow's own engine called directly (SealflowEngine)."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any


class StockEngine:
    """SpiffWorkflow as shipped, as SpiffArena-style apps store it: the spec parsed once (with
    processes.flows.spiff.SealflowParser), the stock serializer (CAMUNDA_CONFIG, plus converters for
    Sealflow's own task specs such as DMN tasks; full JSON with the spec) per instance, nothing
    compacted. ``complete`` is one round trip: deserialize -> set the script engine -> complete
    the user task -> run -> serialize."""

    def __init__(self, files: list[Path], key: str) -> None:
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
        from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
        from SpiffWorkflow.camunda.serializer.event_definition import (
            MessageEventDefinitionConverter,
        )

        from processes.flows import spiff
        from processes.flows.bpmn import build_spec
        from processes.flows.spiff_state import DecisionTableTaskConverter

        self.spec, self.subprocess_specs = build_spec(
            {f.name: f.read_text("utf-8") for f in files}, key)  # SealflowParser
        config = dict(CAMUNDA_CONFIG)
        config.update({spiff.MessageDefinition: MessageEventDefinitionConverter,
                       spiff.VotingParallelTask: MultiInstanceTaskConverter,
                       spiff.VotingSequentialTask: MultiInstanceTaskConverter,
                       spiff.DecisionTableTask: DecisionTableTaskConverter})
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self.scripts = spiff.script_engine()

    def start(self, variables: dict[str, Any]) -> tuple[str, Any]:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.task import TaskState

        wf = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.scripts)
        for task in wf.get_tasks(state=TaskState.READY):
            task.set_data(**variables)
        wf.do_engine_steps()
        return self.serializer.serialize_json(wf), wf

    def complete(self, state: str, task_id: str, values: dict[str, Any]) -> tuple[str, Any]:
        wf = self.load(state)
        task = wf.get_task_from_id(uuid.UUID(task_id))
        task.set_data(**values)
        task.run()
        wf.do_engine_steps()
        return self.serializer.serialize_json(wf), wf

    def load(self, state: str) -> Any:
        wf = self.serializer.deserialize_json(state)
        wf.script_engine = self.scripts
        return wf

    @staticmethod
    def ready(wf: Any, **kwargs: Any) -> list[tuple[str, str]]:
        """(task id, element id) of the READY user tasks (``kwargs`` go to get_tasks)."""
        from SpiffWorkflow.camunda.specs.user_task import UserTask
        from SpiffWorkflow.task import TaskState

        return [(str(t.id), t.task_spec.bpmn_id)
                for t in wf.get_tasks(state=TaskState.READY, spec_class=UserTask, **kwargs)]


class SealflowEngine:
    """processes.flows.engine as the app runs it: the spec cache, spec-free state, finished history
    compacted at each dump. ``complete`` is load -> complete -> dump."""

    _ids = itertools.count(os.getpid() + 1)

    def __init__(self, files: list[Path], key: str) -> None:
        from processes.flows import engine

        self.engine = engine
        # A negative id: never one of a database's definitions (the spec cache's key).
        self.definition = SimpleNamespace(id=-next(self._ids), key=key,
                                          files={f.name: f.read_text("utf-8") for f in files})

    def start(self, variables: dict[str, Any]) -> tuple[str, Any]:
        wf = self.engine.start(self.definition, variables)
        return self.engine.dump(wf)[0], wf

    def complete(self, state: str, task_id: str, values: dict[str, Any]) -> tuple[str, Any]:
        wf = self.engine.load(self.definition, state)
        self.engine.complete(wf, task_id, values)
        return self.engine.dump(wf)[0], wf

    def load(self, state: str) -> Any:
        return self.engine.load(self.definition, state)

    def ready(self, wf: Any) -> list[tuple[str, str]]:
        return [(r.id, r.element_id) for r in self.engine.ready_user_tasks(wf)]
