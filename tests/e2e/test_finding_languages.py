"""The studio's findings on decision tables and expressions, a seal's proof, a deploy's own
warnings and a dry run's problems answer in the caller's language through the API the modeler
calls (Validate, Deploy, dry run), their other keys (element, file, line, severity, path)
unchanged; the compare page names what changed in the caller's words. processes.errors.msg in
processes/flows/dmn*.py, feel.py, expressions.py, expression_budget.py, processes/design/,
processes/seals/proof.py and the dry run; app/findings.py puts them in words."""

from __future__ import annotations

import io
from typing import Any

from tests.conftest import CONTRACT_BPMN
from tests.e2e.test_validate_seal_proof import SEAL_NAME, SKIPPED_PATH, SKIPPING, _demand
from tests.e2e.test_version_diff import _v2

TABLE = CONTRACT_BPMN.parent / "contract_routing.dmn"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
VALIDATE = "/api/v1/processes/validate"


def _table(old: bytes, new: bytes) -> bytes:
    table = TABLE.read_bytes()
    assert table.count(old) == 1
    return table.replace(old, new)


def _post(client, url: str, table: bytes, headers: dict, **form: Any):
    files = [(io.BytesIO(CONTRACT_BPMN.read_bytes()), "contract_seal.bpmn"),
             (io.BytesIO(table), "contract_routing.dmn")]
    return client.post(url, data={"file": files, **form}, content_type="multipart/form-data",
                       headers=headers)


def _both(client, table: bytes, kind: str = "problems") -> tuple[dict, dict]:
    """The one finding of ``kind`` a Validate gives, for a Chinese and an English caller."""
    zh, en = (_post(client, VALIDATE, table, h).get_json()[kind] for h in (ZH, EN))
    [zh_one], [en_one] = ([f for f in found if f["file"] == "contract_routing.dmn"]
                          for found in (zh, en))
    assert {k: v for k, v in zh_one.items() if k != "message"} == \
        {k: v for k, v in en_one.items() if k != "message"}
    return zh_one, en_one


def test_a_cell_that_is_no_feel_unary_test(api):
    mara = api("mara", roles=["manager"])
    zh, en = _both(mara, _table(b"<text>&gt; 1000000</text>", b"<text>&gt; 1000000]</text>"))
    assert en["message"] == (
        "decision 'contract_routing': rule Rule_contract_large (row 3), input '合同金额 (元) "
        "Amount': input entry '> 1000000]' is not a FEEL unary test Sealflow understands: "
        "unexpected ']'")
    assert zh["message"] == (
        "决策 'contract_routing'：规则 Rule_contract_large（第 3 行），输入 '合同金额 (元) "
        "Amount'：输入条目 '> 1000000]' 不是 Sealflow 能识别的 FEEL 一元测试：意外的 ']'")
    assert zh["element"] == "Rule_contract_large" and zh["severity"] == "error"


def test_rules_that_overlap_under_unique(api):
    mara = api("mara", roles=["manager"])
    zh, en = _both(mara, _table(b"<text>&lt;= 1000000</text>", b"<text>&lt;= 2000000</text>"),
                   "warnings")
    assert en["message"].startswith(
        "decision 'contract_routing': rules Rule_contract_large (row 3) and Rule_contract_small "
        "(row 4) overlap under hit policy UNIQUE: ")
    assert zh["message"].startswith(
        "决策 'contract_routing'：在命中策略 UNIQUE 下，规则 Rule_contract_large（第 3 行）与 "
        "Rule_contract_small（第 4 行）相互重叠：")
    assert en["message"].endswith(
        "合同金额 (元) Amount=2000000, 印章类型 Seal type=any other text matches both, and a "
        "request with it would stop with an incident (make the rules exclusive, or choose hit "
        "policy FIRST)")
    assert zh["message"].endswith(
        "合同金额 (元) Amount=2000000，印章类型 Seal type=其他任意文本 同时匹配两者，带有该输入的"
        "申请会因异常而停止（请让规则互斥，或改用命中策略 FIRST）")
    assert zh["severity"] == "warning"


def test_an_input_expression_that_is_not_allowed(api):
    mara = api("mara", roles=["manager"])
    zh, en = _both(mara, _table(b"<text>amount</text>", b"<text>amount.real</text>"))
    assert en["message"] == (
        "decision 'contract_routing': input '合同金额 (元) Amount': expression 'amount.real' "
        "uses Attribute, which is not allowed (only literals, variables, comparisons, "
        "and/or/not, in, arithmetic)")
    assert zh["message"] == (
        "决策 'contract_routing'：输入 '合同金额 (元) Amount'：表达式 'amount.real' 使用了 "
        "Attribute，这是不允许的（只允许字面量、变量、比较、and/or/not、in 和算术运算）")


def test_an_input_expression_over_its_budget(api):
    mara = api("mara", roles=["manager"])
    long = "amount" + " + 1" * 1100
    zh, en = _both(mara, _table(b"<text>amount</text>", f"<text>{long}</text>".encode()))
    assert en["message"].endswith(f"… is {len(long)} characters long; at most 4096 are allowed")
    assert zh["message"].startswith("决策 'contract_routing'：输入 '合同金额 (元) Amount'：表达式 ")
    assert zh["message"].endswith(f"… 长 {len(long)} 个字符；最多允许 4096 个")


def test_an_expression_language_the_table_cannot_use(api):
    mara = api("mara", roles=["manager"])
    zh, en = _both(mara, _table(b'<inputExpression id="InputExpression_amount" typeRef="number">',
                                b'<inputExpression id="InputExpression_amount" typeRef="number" '
                                b'expressionLanguage="python">'))
    assert en["message"] == ("decision 'contract_routing': input expression language 'python' "
                             "is not supported (FEEL or JUEL)")
    assert zh["message"] == ("决策 'contract_routing'：不支持输入表达式语言 'python'（仅支持 FEEL "
                             "或 JUEL）")
    assert zh["element"] == "Input_amount"


def test_a_table_whose_output_values_are_not_literals(api):
    mara = api("mara", roles=["manager"])
    zh, en = _both(mara, _table(
        b'typeRef="boolean" />',
        b'typeRef="boolean"><outputValues><text>yes</text></outputValues></output>'))
    assert en["message"] == ("decision 'contract_routing': output values 'yes' must be literals "
                             'such as "high","low"')
    assert zh["message"] == ("决策 'contract_routing'：输出值 'yes' 必须是字面量，如 "
                             '"high","low"')


def test_deploying_the_files_of_a_retired_version_warns_in_the_callers_language(api):
    mara = api("mara", roles=["manager"])
    table = TABLE.read_bytes()
    assert _post(mara, "/api/v1/processes", table, EN).status_code == 201
    assert mara.post("/api/v1/processes/contract_seal/versions/1/retire").status_code == 200
    for headers, expected in ((EN, "these files are version 1, which is retired: reinstate it "
                                   "to start requests on it"),
                              (ZH, "这些文件就是已停用的版本 1：请恢复该版本后再用它发起申请")):
        again = _post(mara, "/api/v1/processes", table, headers)
        assert again.status_code == 200
        assert expected in [w["message"] for w in again.get_json()["warnings"]]


def test_a_scenario_a_deploy_moves_is_named_in_the_callers_language(org):
    save = {"requester": "alice", "seal": org.seal_id,
            "data": {"amount": 700_000, "purpose": "采购合同"}}
    assert org.designer.put("/api/v1/processes/contract_seal/scenarios/medium",
                            json=save).status_code == 201
    lowered = TABLE.read_bytes().replace(b"1000000", b"500000")
    body = _post(org.designer, "/api/v1/processes", lowered, ZH, comment="法务审核从 50 万起")
    assert body.status_code == 201
    assert ("场景 'medium' 现在走了另一条路线或到达了另一个结束事件（仍已部署）"
            in [w["message"] for w in body.get_json()["warnings"]])


def test_the_compare_page_names_properties_and_types_in_the_callers_language(org, login):
    _v2(org)
    en = login("dana").get("/processes/contract_seal/diff?from=1&to=2").text
    zh = login("dana", "zh-CN,zh;q=0.9").get("/processes/contract_seal/diff?from=1&to=2").text
    assert "<td>target</td>" in en and "<td>目标</td>" in zh
    assert "(User task)" in en and "(用户任务)" in zh  # finance_review, added
    # The API keeps the modeler's words, whoever asks.
    body = org.designer.get("/api/v1/processes/contract_seal/diff?from=1&to=2",
                            headers=ZH).get_json()
    assert {"id": "finance_review", "type": "userTask", "name": "财务审核"} in body["added"]


def test_a_dry_runs_problems_in_the_callers_language(org):
    form = {"process": "contract_seal", "requester": "alice", "seal": str(org.seal_id),
            "data": '{"amount": 5000, "purpose": "采购合同"}',
            "decisions": '{"no_such_task": "approve"}'}
    zh, en = (org.designer.post("/api/v1/processes/dry-run", data=form, headers=h,
                                content_type="multipart/form-data").get_json()["problems"]
              for h in (ZH, EN))
    assert en == [{"element": "no_such_task", "line": None, "severity": "warning",
                   "message": "decisions name 'no_such_task', which the run never reached"}]
    assert zh == [{**en[0], "message": "decisions 中指定了 'no_such_task'，但试运行从未到达该元素"}]


def test_a_flow_that_slips_past_a_seals_demand_is_named_in_the_callers_language(app, org):
    _demand(app, org.seal_id, demands=[{"kind": "custodian"}])
    files = (("contract_seal.bpmn", SKIPPING), ("contract_routing.dmn", TABLE.read_bytes()))
    zh, en = ([w for w in org.designer.post(
        VALIDATE, data={"file": [(io.BytesIO(b), n) for n, b in files]},
        content_type="multipart/form-data", headers=h).get_json()["warnings"] if "seal" in w]
        for h in (ZH, EN))
    assert [w["path"] for w in zh] == [w["path"] for w in en] == [SKIPPED_PATH]
    assert en[0]["message"].startswith(
        f"cannot be used with seal {org.seal_id} ({SEAL_NAME}): a path reaches the authorized "
        "end without an approval by a custodian of the seal: ")
    assert zh[0]["message"].startswith(
        f"不能用于印章 {org.seal_id}（{SEAL_NAME}）：存在一条无需印章保管人审批即可到达授权结束"
        "的路径：")
