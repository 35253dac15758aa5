"""A refused deployment's BPMN findings (the structure check, the element checks, timers,
business rule tasks, reading the XML, the authorized end, the approval paths) answer in the
caller's language through POST /api/v1/processes: Chinese to a Chinese caller, the English as
before to an English one, the ``code``, elements and lines the same (processes.errors.msg,
app/errors.py problems_of)."""

from __future__ import annotations

import io
import re

import pytest

from tests.processes.test_bpmn_structure import AUTH, CASES, GATE, OK, START, doc, flow, task

ZH = "zh-CN,zh;q=0.9"
EN = "en-US,en;q=0.9"
# Three English words in a row: a sentence (or part of one) left untranslated.
ENGLISH = re.compile(r"\b[a-z]{2,} [a-z]{2,} [a-z]{2,}\b")


def _deploy(client, files: dict[str, bytes], language: str):
    data = {"file": [(io.BytesIO(b), n) for n, b in files.items()]}
    return client.post("/api/v1/processes", data=data, content_type="multipart/form-data",
                       headers={"Accept-Language": language})


def _refused(api, files: dict[str, bytes]) -> tuple[dict, dict]:
    """The error a Chinese and an English designer get for the same files (both refused)."""
    dana = api("dana", roles=["designer"])
    zh, en = _deploy(dana, files, ZH), _deploy(dana, files, EN)
    assert zh.status_code == en.status_code == 422, en.get_json()
    zh_error, en_error = zh.get_json()["error"], en.get_json()["error"]
    assert zh_error["code"] == en_error["code"] == "invalid_process"
    assert [{k: v for k, v in p.items() if k != "message"} for p in zh_error["problems"]] == [
        {k: v for k, v in p.items() if k != "message"} for p in en_error["problems"]]
    assert dana.get("/api/v1/processes").get_json() == []
    return zh_error, en_error


def _chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text)) and not ENGLISH.search(text)


def _pair(zh: dict, en: dict, words: str) -> tuple[str, str]:
    """The Chinese and English message of the problem whose English has ``words``."""
    index = next(i for i, p in enumerate(en["problems"]) if words in p["message"])
    return zh["problems"][index]["message"], en["problems"][index]["message"]


@pytest.mark.parametrize("name", CASES)
def test_each_structural_finding_is_chinese_to_a_chinese_designer(api, name):
    lines, _element, words, severity = CASES[name]
    if severity == "warning":  # refused for a flow from nowhere: the warning comes along
        lines = (*lines, flow("fx", "ghost", "done"))
    zh, en = _refused(api, {"p.bpmn": doc(*lines)})
    zh_text, en_text = _pair(zh, en, words)
    assert _chinese(zh_text), zh_text
    assert _chinese(zh["message"]) and en["message"].startswith("the BPMN was refused: ")


def test_a_dangling_flow_in_both_languages(api):
    data = doc(*GATE, flow("f2", "g", "nowhere", "${decision == 'a'}"),
               flow("f3", "g", "nowhere", "${decision == 'b'}"), pid="x")
    zh, en = _refused(api, {"x.bpmn": data})
    assert en["message"] == (
        "the BPMN was refused: sequence flow 'f2' points at 'nowhere', which is not an element "
        "of process 'x' (f2, line 11); and 1 more problem(s)")
    assert zh["message"] == (
        "BPMN 被拒绝：顺序流 'f2' 指向 'nowhere'，它不是流程 'x' 中的元素（f2，第 11 行）；"
        "另有 1 个问题")


def test_an_element_named_by_its_kind_is_named_in_chinese(api):
    zh, en = _refused(api, {"p.bpmn": doc(*OK, flow("f2", "t", "done"))})
    assert en["problems"][0]["message"].startswith(
        "user task 't' has 2 outgoing sequence flows (f9, f2): SpiffWorkflow follows only one")
    assert zh["problems"][0]["message"].startswith(
        "用户任务 't' 有 2 条流出的顺序流（f9, f2）：任务或事件之后 SpiffWorkflow 只走其中一条")


def test_a_flow_without_an_id_is_named_by_its_line_in_chinese(api):
    zh, en = _refused(api, {"p.bpmn": doc(*OK, flow("", "ghost", "done"))})
    zh_text, en_text = _pair(zh, en, "starts from 'ghost'")
    assert en_text.startswith("sequence flow at line 9 starts from 'ghost'")
    assert zh_text.startswith("顺序流 （第 9 行） 从 'ghost' 出发"), zh_text


ELEMENT_CASES = {
    "a script task": (
        (START, flow("f0", "s", "t"), '<bpmn:scriptTask id="t"/>', flow("f9", "t", "done"),
         AUTH),
        "scriptTask 't': script tasks are refused",
        "scriptTask 't'：不接受脚本任务：Sealflow 从不执行 BPMN 中的脚本"),
    "a user task no one may work": (
        (START, flow("f0", "s", "t"), '<bpmn:userTask id="t"/>', flow("f9", "t", "done"), AUTH),
        "user task 't' has no assignee, no candidates and no lane",
        "用户任务 't' 没有办理人、候选人，也不在泳道中：没有人能办理它"),
    "an id used twice": (
        (*OK, '<bpmn:textAnnotation id="t"/>'),
        "id 't' is used 2 times", "id 't' 被使用了 2 次"),
    "a timer that is no ISO 8601": (
        (START, flow("f0", "s", "w"), '<bpmn:intermediateCatchEvent id="w">'
         '<bpmn:timerEventDefinition><bpmn:timeDuration>three days</bpmn:timeDuration>'
         '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', flow("f1", "w", "t"),
         task("t"), flow("f9", "t", "done"), AUTH),
        "timeDuration 'three days' of 'w' is not a valid ISO 8601 value",
        "'w' 的 timeDuration 'three days' 不是有效的 ISO 8601 值（表达式请写成 ${...}）"),
    "a cycle that would fire for ever": (
        (START, flow("f0", "s", "w"), '<bpmn:intermediateCatchEvent id="w">'
         '<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT0S</bpmn:timeCycle>'
         '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', flow("f1", "w", "t"),
         task("t"), flow("f9", "t", "done"), AUTH),
        "timeCycle 'R/PT0S' of 'w': a cycle's period must be at least 1 second",
        "'w' 的 timeCycle 'R/PT0S'：循环周期至少为 1 秒：更短的周期会无休止地触发"),
    "a multi-instance collection that is no variable": (
        (START, flow("f0", "s", "t"),
         '<bpmn:userTask id="t" camunda:assignee="bob"><bpmn:multiInstanceLoopCharacteristics '
         'camunda:collection="a b"/></bpmn:userTask>', flow("f9", "t", "done"), AUTH),
        "multi-instance 't': camunda:collection must name a variable",
        "多实例 't'：camunda:collection 必须是一个变量名（如 ${approvers}），而不是 'a b'"),
    "a business rule task without its decision": (
        (START, flow("f0", "s", "r"), '<bpmn:businessRuleTask id="r"/>', flow("f1", "r", "t"),
         task("t"), flow("f9", "t", "done"), AUTH),
        "business rule task 'r' has no camunda:decisionRef",
        "业务规则任务 'r' 没有 camunda:decisionRef：Sealflow 执行与流程一起部署的 DMN 决策表"),
    "no authorized end": (
        (START, flow("f0", "s", "t"), task("t"), flow("f9", "t", "done"),
         '<bpmn:endEvent id="done"/>'),
        "process 'p' has no authorized end event",
        "流程 'p' 没有授权结束事件：请给一个结束事件加上扩展属性 outcome=authorized"),
    "two authorized ends": (
        (START, flow("f0", "s", "g"), '<bpmn:exclusiveGateway id="g" default="f1"/>',
         flow("f1", "g", "done"), flow("f2", "g", "done2", "${a}"), AUTH,
         AUTH.replace('id="done"', 'id="done2"'), task("t")),
        "more than one end event is marked outcome=authorized",
        "有多个结束事件标记了 outcome=authorized"),
}


@pytest.mark.parametrize("name", ELEMENT_CASES)
def test_each_element_finding_is_chinese_to_a_chinese_designer(api, name):
    lines, words, chinese = ELEMENT_CASES[name]
    zh, en = _refused(api, {"p.bpmn": doc(*lines)})
    zh_text, en_text = _pair(zh, en, words)
    assert chinese in zh_text, zh_text
    assert en_text.startswith(words) or words in en_text


def test_a_gateway_without_a_default_warns_in_chinese(api):
    lines = (START, flow("f0", "s", "g"), '<bpmn:exclusiveGateway id="g"/>',
             flow("f1", "g", "done", "${a}"), flow("f2", "g", "done", "${b}"), AUTH,
             flow("fx", "ghost", "done"))
    zh, en = _refused(api, {"p.bpmn": doc(*lines)})
    zh_text, en_text = _pair(zh, en, "has no default flow")
    assert en_text == ("gateway 'g' has no default flow: if no condition holds, the request "
                       "stops with an incident")
    assert zh_text == "网关 'g' 没有默认流：如果所有条件都不成立，申请将因故障而停止"


@pytest.mark.parametrize(("data", "english", "chinese"), [
    (b"<bpmn:definitions", "not well-formed XML: ", "XML 格式不正确："),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>',
     "DTDs and entity declarations are not allowed in BPMN files",
     "BPMN 文件中不允许 DTD 和实体声明"),
    (b"<definitions/>", "not a BPMN file: the root element must be bpmn:definitions",
     "不是 BPMN 文件：根元素必须是 bpmn:definitions"),
    (b'<?xml version="1.0" encoding="klingon"?><x/>',
     "the BPMN file cannot be read: the XML declaration names an unknown encoding 'klingon'",
     "无法读取 BPMN 文件：XML 声明中的编码 'klingon' 无法识别"),
    (b'<?xml version="1.0" encoding="ascii"?><x>\xe4</x>',
     "the BPMN file cannot be read: the file is not valid ascii at byte 41",
     "无法读取 BPMN 文件：该文件不是有效的 ascii 编码（第 41 字节处）"),
])
def test_an_unreadable_file_is_said_so_in_chinese(api, data, english, chinese):
    zh, en = _refused(api, {"p.bpmn": data})
    assert en["problems"][0]["message"].startswith(english)
    assert zh["problems"][0]["message"].startswith(chinese)


def test_a_path_past_every_approval_is_refused_in_chinese(api):
    lines = (START, flow("f0", "s", "t"),
             '<bpmn:userTask id="t" name="自己确认" camunda:assignee="${requester}"/>',
             flow("f1", "t", "m"), '<bpmn:manualTask id="m"/>', flow("f9", "m", "done"), AUTH)
    zh, en = _refused(api, {"p.bpmn": doc(*lines)})
    assert en["message"].startswith(
        "the BPMN was refused: a path reaches the authorized end without a task that someone "
        "other than the requester works: s → 自己确认 → m → done.")
    assert zh["message"].startswith(
        "BPMN 被拒绝：有一条路径不经过任何由申请人以外的人办理的任务就到达了授权结束："
        "s → 自己确认 → m → done。")
    # The flow's own warnings come with the refusal, in Chinese too.
    zh_text, en_text = _pair(zh, en, "manual task 'm' has no assignee")
    assert zh_text.startswith("人工任务 'm' 没有办理人、候选人，也不在泳道中：它会直接通过而无人"
                              "确认"), zh_text
    assert en_text.startswith("manual task 'm' has no assignee, no candidates and no lane: it "
                              "passes through without anyone confirming it")


def test_a_business_type_refused_in_chinese(api):
    """processes/flows/definitions.py: a flow not deployed, a name too long."""
    mia = api("mia", roles=["manager"])
    for body, english, chinese in (
            ({"process": "nope"}, "no process with key 'nope' is deployed",
             "未部署标识为「nope」的流程"),
            ({"process": "nope", "name": "x" * 201},
             "the business type's name must be text of at most 200 characters",
             "业务类型的名称必须是不超过 200 个字符的文本")):
        zh, en = (mia.put("/api/v1/business-types/contract", json=body,
                          headers={"Accept-Language": lang}) for lang in (ZH, EN))
        assert zh.status_code == en.status_code
        zh_error, en_error = zh.get_json()["error"], en.get_json()["error"]
        assert zh_error["code"] == en_error["code"]
        assert (zh_error["message"], en_error["message"]) == (chinese, english)
