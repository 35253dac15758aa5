"""Instance state: SpiffWorkflow's serializer, configured for Sealflow's task types, storing an
instance without a copy of its spec (each process definition holds it once) and restoring it
onto the cached, already-parsed spec.

Built once by a factory function; nothing here changes a library-global registry.
"""

from __future__ import annotations

import json
from functools import lru_cache
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter

from processes.flows.dmn import table_from_dict
from processes.flows.spiff import (
    DecisionTableTask,
    MessageDefinition,
    VotingParallelTask,
    VotingSequentialTask,
    script_engine,
)
from processes.flows.timer_events import TIMER_CLASSES


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Serializes an instance without its spec (the process definition holds it once), and
    restores it onto the cached, already-parsed spec: about half the cost of a round trip."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("restoring an instance needs its process spec")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class DecisionTableTaskConverter(TaskSpecConverter):
    """A business rule task spec with its table as cell texts (compiled again on restore)."""

    def to_dict(self, spec):
        dct = self.get_default_attributes(spec)
        dct.update(table=spec.table.to_dict(), result_variable=spec.result_variable,
                   map_decision_result=spec.map_decision_result)
        return dct

    def from_dict(self, dct):
        dct["table"] = table_from_dict(dct["table"])
        return self.task_spec_from_dict(dct)


class InstanceSerializer(BpmnWorkflowSerializer):
    """JSON of an instance (SpiffWorkflow's format, minus the spec) plus the format version."""

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self.serialize_json(workflow)

    def loads(self, state: str, spec, subprocess_specs) -> BpmnWorkflow:
        dct = json.loads(state)
        self.migrate(dct)
        workflow = self.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
        workflow.script_engine = script_engine()
        return workflow


@lru_cache(maxsize=1)
def serializer() -> InstanceSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = SpecFreeWorkflowConverter
    config[MessageDefinition] = MessageEventDefinitionConverter
    config[VotingParallelTask] = MultiInstanceTaskConverter
    config[VotingSequentialTask] = MultiInstanceTaskConverter
    config[DecisionTableTask] = DecisionTableTaskConverter
    for stock, ours in TIMER_CLASSES.items():
        config[ours] = config[stock]
    registry = BpmnWorkflowSerializer.configure(config)
    return InstanceSerializer(registry)
