"""Items 15 and 17a of issue 8: BPMN and DMN files are read in the encoding XML says they are in
(a byte-order mark, else the XML declaration), the DTD check runs on the decoded text (a UTF-16
DOCTYPE used to slip past a check on the raw bytes), and the flow is stored as UTF-8. A number
thousands of digits long in a DMN cell is refused at deploy, not a 500."""

from __future__ import annotations

import codecs

from tests.conftest import CONTRACT_BPMN, deploy_bytes, only_task, submit

CONTRACT = CONTRACT_BPMN.read_text(encoding="utf-8")
TABLE = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_text(encoding="utf-8")
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def declared(text: str, encoding: str) -> str:
    assert text.startswith(DECLARATION)
    return text.replace(DECLARATION, f'<?xml version="1.0" encoding="{encoding}"?>', 1)


def problems_of(resp) -> list[dict]:
    assert resp.status_code == 422, resp.get_json()
    return resp.get_json()["error"]["problems"]


def test_utf16_and_latin1_flows_deploy_and_run(org, pdf):
    # v2: the contract flow as UTF-16 with a byte-order mark, its table as UTF-16 BE
    utf16 = codecs.BOM_UTF16_LE + declared(CONTRACT, "UTF-16").encode("utf-16-le")
    table16 = codecs.BOM_UTF16_BE + declared(TABLE, "UTF-16").encode("utf-16-be")
    resp = deploy_bytes(org.designer, {"contract_seal.bpmn": utf16,
                                       "contract_routing.dmn": table16})
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["version"], resp.get_json()["name"]) == (2, "合同用印 Contract seal")
    # v3: Latin-1, declared, with a character outside ASCII (the Chinese as references)
    latin = declared(CONTRACT.replace('name="合同用印 Contract seal" isExecutable',
                                      'name="合同用印 Contrat scellé" isExecutable'),
                     "ISO-8859-1").encode("latin-1", errors="xmlcharrefreplace")
    assert b"scell\xe9" in latin
    resp = deploy_bytes(org.designer, {"contract_seal.bpmn": latin,
                                       "contract_routing.dmn": TABLE.encode()})
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["version"], resp.get_json()["name"]) == (3, "合同用印 Contrat scellé")
    # requests run on it: the department head, then the custodian
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["process"]["version"] == 3
    assert only_task(org.bob)["element_id"] == "dept_head_approve"


def test_a_doctype_in_utf16_is_refused_by_sealflows_own_check(api):
    dana = api("dana", roles=["designer"])
    text = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY e "x">]>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;'
            "</bpmn:definitions>")
    for data in (codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
                 text.encode("utf-16-be"),  # no mark: recognised by its "<?"
                 codecs.BOM_UTF16_BE + text.encode("utf-16-be")):
        [problem] = problems_of(deploy_bytes(dana, {"d.bpmn": data}))
        assert problem["message"] == "DTDs and entity declarations are not allowed in BPMN files"
        assert problem["line"] == 2
    dmn = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    flow = CONTRACT.encode()
    messages = [p["message"] for p in problems_of(deploy_bytes(dana, {
        "contract_seal.bpmn": flow, "contract_routing.dmn": dmn}))]
    assert "DTDs and entity declarations are not allowed in DMN files" in messages


def test_files_that_are_not_in_the_encoding_they_claim_are_refused(api):
    dana = api("dana", roles=["designer"])
    for data, expected in (
            (declared(CONTRACT, "x-no-such-encoding").encode(), "unknown encoding"),
            (declared(CONTRACT, "UTF-7").encode(), "not supported"),
            (CONTRACT.replace("Contract seal", "Contract \udcff", 1).encode(
                "utf-8", errors="surrogateescape"), "not valid utf-8"),
            (codecs.BOM_UTF16_LE + b"<\x00?\x00x", "not valid utf-16")):
        [problem] = problems_of(deploy_bytes(dana, {"contract_seal.bpmn": data}))
        assert expected in problem["message"].lower(), problem


def test_a_dmn_cell_with_a_number_thousands_of_digits_long_is_refused(org):
    huge = TABLE.replace("&gt; 1000000", "&gt; " + "9" * 5000, 1)
    problems = problems_of(deploy_bytes(org.designer, {
        "contract_seal.bpmn": CONTRACT.encode(), "contract_routing.dmn": huge.encode()}))
    # Refused by the bound on a cell's text (processes/flows/feel.py), naming the rule.
    assert any("at most 4096 are allowed" in p["message"] and p["file"] == "contract_routing.dmn"
               and p["element"] == "Rule_contract_large" for p in problems), problems
