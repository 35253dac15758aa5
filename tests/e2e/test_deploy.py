"""Deploying flows over the API: versions, and bad BPMN answered 422 with the problem named."""

from __future__ import annotations

from tests.conftest import CONTRACT_BPMN, approve, deploy, deploy_bytes, only_task, submit
from tests.pdfcheck import assert_sealed

BPMN_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" '
             b'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def flow(body: bytes, pid: bytes = b"p") -> bytes:
    return (BPMN_HEAD + b'<bpmn:process id="' + pid + b'" isExecutable="true">\n' + body
            + b"\n</bpmn:process>\n</bpmn:definitions>\n")


AUTH_END = (b'<bpmn:endEvent id="done"><bpmn:extensionElements><camunda:properties>'
            b'<camunda:property name="outcome" value="authorized"/></camunda:properties>'
            b'</bpmn:extensionElements></bpmn:endEvent>')


def test_deploy_versions_and_identical_bytes_are_a_no_op(api):
    dana = api("dana", roles=["designer"])
    first = deploy(dana)
    assert first.status_code == 201
    assert first.get_json()["key"] == "contract_seal"
    assert first.get_json()["version"] == 1
    again = deploy(dana)
    assert again.status_code == 200
    assert again.get_json()["version"] == 1
    table = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_bytes()
    second = deploy_bytes(dana, {"contract_seal.bpmn": CONTRACT_BPMN.read_bytes(),
                                 "contract_routing.dmn": table.replace(b"1000000", b"2000000")})
    assert second.status_code == 201
    assert second.get_json()["version"] == 2
    listed = dana.get("/api/v1/processes").get_json()
    assert [(p["key"], p["version"], p["versions"]) for p in listed] == [
        ("contract_seal", 2, [1, 2])]


def test_only_designers_managers_and_admins_deploy(api):
    alice = api("alice")
    resp = deploy(alice)
    assert resp.status_code == 403
    assert api("mona", roles=["manager"]).get("/api/v1/me").get_json()["roles"] == ["manager"]
    assert deploy(api("root", roles=["admin"])).status_code == 201


def _problems(resp) -> list[dict]:
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_process"
    return err["problems"]


def test_malformed_xml_names_the_line(api):
    dana = api("dana", roles=["designer"])
    problems = _problems(deploy_bytes(dana, {"x.bpmn": BPMN_HEAD + b"<bpmn:process id='p'>\n"}))
    assert "not well-formed" in problems[0]["message"]
    assert problems[0]["line"] is not None


def test_an_entity_bomb_is_refused_without_expanding(api):
    dana = api("dana", roles=["designer"])
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
            + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1
                                                   else b"&lol;" * 10) for i in range(1, 10))
            + b"]>\n<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">"
            b"&lol9;</bpmn:definitions>")
    problems = _problems(deploy_bytes(dana, {"bomb.bpmn": bomb}))
    assert "DTD" in problems[0]["message"] or "entit" in problems[0]["message"]
    assert problems[0]["line"] == 2


def test_a_script_task_is_refused_naming_the_element(api):
    dana = api("dana", roles=["designer"])
    body = (b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" '
            b'targetRef="evil"/><bpmn:scriptTask id="evil" scriptFormat="python">'
            b"<bpmn:script>__import__('os').system('id')</bpmn:script></bpmn:scriptTask>"
            b'<bpmn:sequenceFlow id="f2" sourceRef="evil" targetRef="done"/>' + AUTH_END)
    problems = _problems(deploy_bytes(dana, {"evil.bpmn": flow(body)}))
    assert problems[0]["element"] == "evil"
    assert "script task" in problems[0]["message"]
    assert dana.get("/api/v1/processes").get_json() == []


def test_no_authorized_end_is_refused(api):
    dana = api("dana", roles=["designer"])
    body = (b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" '
            b'targetRef="end"/><bpmn:endEvent id="end"/>')
    problems = _problems(deploy_bytes(dana, {"p.bpmn": flow(body)}))
    assert problems[0]["element"] == "p"
    assert "authorized end" in problems[0]["message"]


def test_every_problem_is_reported_at_once(api):
    dana = api("dana", roles=["designer"])
    body = (b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" '
            b'targetRef="t"/><bpmn:userTask id="t" camunda:assignee="${a &amp;&amp;}"/>'
            b'<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="x"/>'
            b'<bpmn:scriptTask id="x"><bpmn:script>1</bpmn:script></bpmn:scriptTask>'
            b'<bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="end"/><bpmn:endEvent id="end"/>')
    problems = _problems(deploy_bytes(dana, {"p.bpmn": flow(body)}))
    elements = {p["element"] for p in problems}
    assert {"t", "x", "p"} <= elements, problems


def test_a_business_system_deploys_plain_bpmn_with_lanes_and_drives_it(api, make_seal, pdf,
                                                                      trust_roots):
    """No Camunda extensions: the lane's name names the group; the deploy names the end."""
    dana = api("dana", roles=["designer"])
    ops = api("olga", groups=["ops"])
    requester = api("ray")
    make_seal(["olga"])
    lanes = (b'<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="ops">'
             b"<bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef>"
             b"<bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>ok</bpmn:flowNodeRef>"
             b"<bpmn:flowNodeRef>no</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>")
    body = lanes + (
        b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>'
        b'<bpmn:userTask id="check" name="Ops check"/>'
        b'<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw"/>'
        b'<bpmn:exclusiveGateway id="gw" default="f4"/>'
        b'<bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="ok"><bpmn:conditionExpression>'
        b"decision == 'approve'</bpmn:conditionExpression></bpmn:sequenceFlow>"
        b'<bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="no"/>'
        b'<bpmn:endEvent id="ok"/><bpmn:endEvent id="no"/>')
    refused = deploy_bytes(dana, {"ops.bpmn": flow(body, b"ops_flow")})
    assert refused.status_code == 422
    resp = deploy_bytes(dana, {"ops.bpmn": flow(body, b"ops_flow")}, authorized_end="ok")
    assert resp.status_code == 201, resp.get_json()
    seal_id = requester.get("/api/v1/seals").get_json()[0]["id"]
    req = submit(requester, seal_id, pdf, process="ops_flow", data={}).get_json()
    task = only_task(ops)
    assert task["lane"] == "ops" and task["candidate_groups"] == ["ops"]
    assert approve(ops).status_code == 200
    body = requester.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed"
    resp = requester.get(f"/api/v1/requests/{req['id']}/sealed")
    assert_sealed(resp.data, trust_roots)
    resp.close()
