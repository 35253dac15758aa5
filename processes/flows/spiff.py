"""SpiffWorkflow adapted to Sealflow: the Camunda parser that keeps what designers wrote, the safe
script engine (the serializer that stores instance state without a copy of the spec is in
processes/flows/spiff_state.py).

Built once per process by factory functions; nothing here changes a library-global registry.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    ManualTask,
    NoneTask,
    ReceiveTask,
    ScriptTask,
    ServiceTask,
)
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser as _CamundaUserTaskParser
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessageEventDefinition,
)
from SpiffWorkflow.camunda.specs.multiinstance_task import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask

from processes.errors import msg
from processes.flows.dmn import DecisionTable, map_result
from processes.flows.dmn_xml import read_decisions
from processes.flows.expressions import ExpressionError, compile_expression, evaluate
from processes.flows.timer_events import parse_timer_event
from processes.isotime import is_iso_timer, normalise

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_C = "{" + CAMUNDA_NS + "}"


# -- expressions ------------------------------------------------------------------------------

class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions with Sealflow's safe language; refuses to execute any script.

    Timer values may be bare ISO 8601 (``PT1H``, as Camunda Modeler writes them), quoted, or
    an expression giving one; dates without an offset are read in the organisation's zone."""

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None):
        if isinstance(expression, str) and is_iso_timer(expression):
            return normalise(expression)
        names = dict(external_context or {})
        names.update(context)
        value = evaluate(expression, names)
        if isinstance(value, str) and is_iso_timer(value):
            return normalise(value)
        return value

    def execute(self, script: str, context: dict, external_context: dict | None = None):
        raise ExpressionError(msg("scripts are not executed by Sealflow"))

    def call_service(self, context: dict, **kwargs: Any):
        raise ExpressionError(msg("service tasks are not executed by Sealflow"))


class SafeScriptEngine(PythonScriptEngine):
    """PythonScriptEngine with the safe environment; its eval/exec paths are never reached."""

    def __init__(self) -> None:
        super().__init__(environment=SafeEnvironment())

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def call_service(self, task, **kwargs):  # the stock one raises NameError on failure
        raise ExpressionError(msg("service tasks are not executed by Sealflow"))


@lru_cache(maxsize=1)
def script_engine() -> SafeScriptEngine:
    return SafeScriptEngine()


# -- parsing ----------------------------------------------------------------------------------

def _form_fields(node: Any) -> list[dict]:
    """``camunda:formData`` fields as plain dicts (Camunda Modeler writes them without formKey)."""
    fields = []
    for xml_field in node.iter(f"{_C}formField"):
        field: dict[str, Any] = {
            "id": xml_field.get("id"),
            "label": xml_field.get("label") or xml_field.get("id"),
            "type": xml_field.get("type") or "string",
            "default": xml_field.get("defaultValue"),
            "required": False,
            "values": [],
            "line": xml_field.sourceline,
        }
        for child in xml_field:
            if child.tag == f"{_C}value":
                field["values"].append({"id": child.get("id"), "name": child.get("name")})
            elif child.tag == f"{_C}validation":
                for constraint in child:
                    if constraint.get("name") == "required" and constraint.get("config") not in (
                            "false", "False"):
                        field["required"] = True
        fields.append(field)
    return fields


def _properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    for ext in node.findall("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements"):
        for prop in ext.iter(f"{_C}property"):
            if prop.get("name"):
                props[prop.get("name")] = prop.get("value") or ""
    return props


class MessageDefinition(CamundaMessageEventDefinition):
    """Camunda's message event, with Camunda's REST semantics for payloads from outside: the
    JSON object's members become process variables, unless the catching element names a
    ``camunda:resultVariable`` (then the whole object lands there)."""

    def update_internal_data(self, my_task, event):
        payload = dict(event.payload or {})
        payload.setdefault("result_var", None)
        if payload["result_var"] is None and self.result_var:
            payload["result_var"] = self.result_var
        my_task.internal_data[self.name] = payload

    def update_task_data(self, my_task):
        event_data = my_task.internal_data.get(self.name) or {}
        value = event_data.get("payload")
        if event_data.get("result_var"):
            my_task.data[event_data["result_var"]] = value
        elif isinstance(value, dict):
            my_task.set_data(**value)


def _parse_message_event(self, message_event):
    """The Camunda parser's message events, made as MessageDefinition."""
    parsed = CamundaEventDefinitionParser.parse_message_event(self, message_event)
    return MessageDefinition(parsed.name, parsed.correlation_properties, parsed.expression,
                             parsed.result_var)


class SealflowTaskParser(CamundaTaskParser):
    """Keeps ``camunda:properties`` under ``properties`` in the task spec's extensions."""

    def parse_extensions(self, node=None):
        return {"properties": _properties(node if node is not None else self.node)}


class SealflowUserTaskParser(_CamundaUserTaskParser):
    """Also keeps ``assignee``, ``candidateUsers``, ``candidateGroups`` and the form fields,
    which the stock CamundaParser drops."""

    def parse_extensions(self, node=None):
        node = node if node is not None else self.node
        return {
            "properties": _properties(node),
            "assignee": node.get(f"{_C}assignee"),
            "candidateUsers": node.get(f"{_C}candidateUsers"),
            "candidateGroups": node.get(f"{_C}candidateGroups"),
            "dueDate": node.get(f"{_C}dueDate"),
            "form": _form_fields(node),
        }

    def _add_multiinstance_task(self, loop_characteristics):
        # Camunda Modeler writes camunda:collection="${approvers}"; SpiffWorkflow wants the
        # variable's name. (Deploy validation refuses any other collection expression.)
        attr = f"{_C}collection"
        collection = loop_characteristics.get(attr)
        if collection:
            match = _COLLECTION.match(collection)
            if match:
                loop_characteristics.set(attr, match.group(1))
        super()._add_multiinstance_task(loop_characteristics)
        task = self.task
        if task.cardinality is None and task.data_output is not None \
                and task.output_item is not None:
            # What SpiffWorkflow's Camunda task sets on its spec when it first runs, set at
            # parse time: a spec parsed again (after a restart) must behave the same.
            task.data_input = TaskDataReference(task.data_output.bpmn_id)
            task.input_item = TaskDataReference(task.output_item.bpmn_id)
        # The voting classes only add behaviour to the ones the parser just built.
        cls = {ParallelMultiInstanceTask: VotingParallelTask,
               SequentialMultiInstanceTask: VotingSequentialTask}.get(type(self.task))
        if cls is not None:
            self.task.__class__ = cls


_COLLECTION = re.compile(r"^\s*[$#]\{\s*([A-Za-z_]\w*)\s*\}\s*$")


class _Votes:
    """DESIGN: after a multi-instance user task, ``decision`` is ``reject`` if any instance
    rejected, else the last decision; each instance's vote is kept in ``decisions``."""

    def _update_hook(self, my_task):
        my_task.data["decisions"] = []
        my_task.data.pop("decision", None)
        return super()._update_hook(my_task)  # type: ignore[misc]  # a mixin: Spiff's is next

    def merge_child(self, workflow, child):
        parent = child.parent
        vote = child.data.get("decision")
        parent.data["decisions"] = [*(parent.data.get("decisions") or []), vote]
        if parent.data.get("decision") != "reject":
            parent.data["decision"] = vote
        super().merge_child(workflow, child)  # type: ignore[misc]  # a mixin: Spiff's is next


class VotingParallelTask(_Votes, ParallelMultiInstanceTask):
    """Parallel countersign (会签) with Sealflow's vote rule."""


class VotingSequentialTask(_Votes, SequentialMultiInstanceTask):
    """Sequential countersign with Sealflow's vote rule."""


_PERFORMERS = ("assignee", "candidateUsers", "candidateGroups")


class ManualTaskParser(SealflowTaskParser):
    """``bpmn:manualTask``: work done outside Sealflow that someone confirms. With performers
    (``camunda:assignee``, ``candidateUsers``, ``candidateGroups``, or a lane) it waits for one
    of them to confirm it, like a user task (as SpiffArena does); its confirmation is never an
    approval. With none it passes through, as in Camunda (deploy warns: the parse decides,
    through the spec's ``manual`` flag, what ``do_engine_steps`` runs by itself)."""

    def parse_extensions(self, node=None):
        node = node if node is not None else self.node
        return {"properties": _properties(node),
                **{attr: node.get(f"{_C}{attr}") for attr in _PERFORMERS},
                "dueDate": node.get(f"{_C}dueDate"), "form": []}

    def create_task(self):
        task = super().create_task()
        task.manual = bool(self.lane or any(
            (self.node.get(f"{_C}{attr}") or "").strip() for attr in _PERFORMERS))
        return task


class PassThroughTaskParser(SealflowTaskParser):
    """``bpmn:task``, the undefined task: it does nothing and passes through, as in Camunda
    (SpiffWorkflow would wait for someone to run it, and no one ever would)."""

    def create_task(self):
        task = super().create_task()
        task.manual = False
        return task


def is_manual(task_spec: Any) -> bool:
    """A manual task that waits for one of its performers to confirm it."""
    return isinstance(task_spec, ManualTask) and task_spec.manual


def is_human(task_spec: Any) -> bool:
    """Whether the engine waits for a person at this task: a user task, or a manual task with
    performers."""
    return isinstance(task_spec, UserTask) or is_manual(task_spec)


class RefusedTaskParser(CamundaTaskParser):
    """Refuses an element type at deploy time, naming the element."""

    def create_task(self):
        raise ValidationException(self.refusal(self.node.tag.split('}')[-1], self.bpmn_id),
                                  node=self.node, file_name=self.filename)

    def refusal(self, tag: str, element: str) -> str:
        return msg("%(tag)s '%(id)s' is not allowed", tag=tag, id=element)


class ScriptTaskRefuser(RefusedTaskParser):
    def refusal(self, tag: str, element: str) -> str:
        return msg("%(tag)s '%(id)s' is a script task: Sealflow never runs scripts from BPMN; "
                   "use gateways with conditions, DMN tables or user tasks instead", tag=tag,
                   id=element)


class ServiceTaskRefuser(RefusedTaskParser):
    def refusal(self, tag: str, element: str) -> str:
        return msg("%(tag)s '%(id)s' is a service task, which Sealflow does not run yet",
                   tag=tag, id=element)


class DecisionTableTask(BpmnSpecMixin):
    """A business rule task: evaluates a DMN table deployed with the flow (flows.dmn, never
    SpiffWorkflow's DMN engine, which evaluates cells with Python eval) and stores the result,
    mapped by ``camunda:mapDecisionResult``, in ``camunda:resultVariable``. A table that gives
    no usable result raises DmnError, and the instance stops with an incident."""

    def __init__(self, wf_spec, bpmn_id, table: DecisionTable, result_variable: str,
                 map_decision_result: str | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.table = table
        self.result_variable = result_variable
        self.map_decision_result = map_decision_result

    def _run_hook(self, my_task):
        rows = self.table.evaluate(my_task.data)
        my_task.data[self.result_variable] = map_result(rows, self.map_decision_result,
                                                        self.table.decision_id)
        return super()._run_hook(my_task)


class DecisionTaskParser(SealflowTaskParser):
    """``camunda:decisionRef`` names a decision of the DMN files deployed with the flow."""

    def create_task(self):
        ref = self.get_decision_ref(self.node)
        decisions = self.process_parser.parser.decisions
        if ref not in decisions:
            raise ValidationException(msg(
                "business rule task '%(id)s' names decision %(ref)s, which no DMN file "
                "deployed with the flow has", id=self.bpmn_id, ref=repr(ref)),
                node=self.node, file_name=self.filename)
        result_variable = self.node.get(f"{_C}resultVariable")
        if not result_variable:
            raise ValidationException(msg(
                "business rule task '%(id)s' has no camunda:resultVariable", id=self.bpmn_id),
                node=self.node, file_name=self.filename)
        return self.spec_class(self.spec, self.bpmn_id, table=decisions[ref],
                               result_variable=result_variable,
                               map_decision_result=self.node.get(f"{_C}mapDecisionResult"),
                               **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):
        return node.get(f"{_C}decisionRef")


class SealflowParser(CamundaParser):
    """Camunda 7 flavour plus what Sealflow needs: assignment attributes, forms, refusals."""

    OVERRIDE_PARSER_CLASSES = dict(CamundaParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES.update({
        full_tag("userTask"): (SealflowUserTaskParser, UserTask),
        full_tag("scriptTask"): (ScriptTaskRefuser, ScriptTask),
        full_tag("serviceTask"): (ServiceTaskRefuser, ServiceTask),
        full_tag("sendTask"): (ServiceTaskRefuser, ServiceTask),
        full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTableTask),
        full_tag("manualTask"): (ManualTaskParser, ManualTask),
        full_tag("task"): (PassThroughTaskParser, NoneTask),
    })
    for _tag in ("endEvent", "startEvent", "boundaryEvent",
                 "intermediateCatchEvent", "intermediateThrowEvent"):
        _parser, _spec = OVERRIDE_PARSER_CLASSES[full_tag(_tag)]
        OVERRIDE_PARSER_CLASSES[full_tag(_tag)] = (
            type(f"Sealflow{_parser.__name__}", (_parser,),
                 {"parse_extensions": SealflowTaskParser.parse_extensions,
                  "parse_message_event": _parse_message_event,
                  "parse_timer_event": parse_timer_event}), _spec)
    del _tag, _parser, _spec
    # A receive task waits for the same message kind the API delivers (the stock parser gives
    # it BPMN's plain one, which nothing could send).
    OVERRIDE_PARSER_CLASSES[full_tag("receiveTask")] = (
        type("SealflowReceiveTaskParser", (CamundaEventDefinitionParser, ReceiveTaskParser),
             {"parse_extensions": SealflowTaskParser.parse_extensions,
              "parse_message_event": _parse_message_event}), ReceiveTask)

    def __init__(self, namespaces=None, validator=None):
        super().__init__(namespaces, validator)
        self.decisions: dict[str, DecisionTable] = {}

    def add_dmn_xml(self, node, filename=None):
        """Reads the decision tables with processes.flows.dmn (cells compiled, never eval'd)."""
        tables, problems = read_decisions(node, filename)
        if problems:
            raise ValidationException(problems[0].message, file_name=filename,
                                      id=problems[0].element or "",
                                      line_number=problems[0].line or "")
        self.decisions.update({k: v for k, v in tables.items() if v is not None})

    def get_engine(self, decision_ref, node):
        raise ValidationException("SpiffWorkflow's DMN engine is not used by Sealflow",
                                  node=node)
