"""What the decision-table page's Validate and Deploy report on a DMN table: a cell that is no
FEEL unary test, named with its rule, refuses the deploy; rules of a UNIQUE table that one input
matches are a warning naming both rules and the input, on Validate and on Deploy."""

from __future__ import annotations

import io

from tests.conftest import CONTRACT_BPMN

TABLE = CONTRACT_BPMN.parent / "contract_routing.dmn"


def _files(table: bytes) -> dict:
    return {"file": [(io.BytesIO(CONTRACT_BPMN.read_bytes()), "contract_seal.bpmn"),
                     (io.BytesIO(table), "contract_routing.dmn")]}


def _post(client, url: str, table: bytes, **form):
    return client.post(url, data={**_files(table), **form}, content_type="multipart/form-data")


def _edited(old: bytes, new: bytes) -> bytes:
    table = TABLE.read_bytes()
    assert table.count(old) == 1
    return table.replace(old, new)


def test_a_broken_unary_test_is_a_problem_naming_its_rule_and_nothing_deploys(api):
    mara = api("mara", roles=["manager"])
    broken = _edited(b"<text>&gt; 1000000</text>", b"<text>&gt; 1000000]</text>")
    problems = _post(mara, "/api/v1/processes/validate", broken).get_json()["problems"]
    [problem] = problems
    assert problem["element"] == "Rule_contract_large"
    assert problem["file"] == "contract_routing.dmn"
    assert "rule Rule_contract_large (row 3)" in problem["message"]
    assert "'> 1000000]' is not a FEEL unary test" in problem["message"]
    refused = _post(mara, "/api/v1/processes", broken, comment="typo")
    assert refused.status_code == 422
    assert mara.get("/api/v1/processes").get_json() == []


def test_overlapping_rules_under_unique_are_named_on_validate_and_deploy(api):
    mara = api("mara", roles=["manager"])
    # The small rule now reaches 2,000,000 while the large one starts above 1,000,000.
    overlapping = _edited(b"<text>&lt;= 1000000</text>", b"<text>&lt;= 2000000</text>")
    checked = _post(mara, "/api/v1/processes/validate", overlapping).get_json()
    assert checked["problems"] == []
    [warning] = [w for w in checked["warnings"] if "UNIQUE" in w["message"]]
    assert warning["element"] == "Rule_contract_small"
    assert warning["message"].startswith(
        "decision 'contract_routing': rules Rule_contract_large (row 3) and "
        "Rule_contract_small (row 4) overlap under hit policy UNIQUE: "
        "合同金额 (元) Amount=2000000, 印章类型 Seal type=any other text matches both")
    deployed = _post(mara, "/api/v1/processes", overlapping, comment="overlap")
    assert deployed.status_code == 201
    assert any("Rule_contract_small" in w["message"] for w in deployed.get_json()["warnings"])


def test_exclusive_rules_and_other_hit_policies_give_no_overlap_warning(api):
    mara = api("mara", roles=["manager"])
    first = _edited(b'hitPolicy="UNIQUE"', b'hitPolicy="FIRST"').replace(
        b"<text>&lt;= 1000000</text>", b"<text>&lt;= 2000000</text>")
    lowered = _edited(b"<text>&gt; 1000000</text>", b"<text>&gt; 500000</text>").replace(
        b"<text>&lt;= 1000000</text>", b"<text>&lt;= 500000</text>")
    for table in (TABLE.read_bytes(), first, lowered):
        checked = _post(mara, "/api/v1/processes/validate", table).get_json()
        assert checked["problems"] == []
        assert not [w for w in checked["warnings"] if "overlap" in w["message"]]
