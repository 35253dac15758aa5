"""The decision-table page, server side: it is linked from the flow page, opens the version's
DMN file (another version or file by choice) with every file of the version for the script to
deploy, says so when a flow has no table, and is for the studio's people only."""

from __future__ import annotations

import json
import re

from tests.conftest import CONTRACT_BPMN, deploy, deploy_bytes


def _data(page_text: str) -> dict:
    found = re.search(r'<script type="application/json" id="decisions-data">(.*?)</script>',
                      page_text, re.S)
    assert found
    return json.loads(found.group(1))


def test_the_page_opens_the_versions_table_with_every_file_of_it(api, login):
    mara = api("mara", roles=["manager"])
    assert deploy(mara).status_code == 201
    table = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_text(encoding="utf-8")
    raised = table.replace("&gt; 1000000", "&gt; 2000000").replace("&lt;= 1000000",
                                                                    "&lt;= 2000000")
    assert deploy_bytes(mara, {"contract_seal.bpmn": CONTRACT_BPMN.read_bytes(),
                               "contract_routing.dmn": raised.encode()}).status_code == 201
    client = login("mara")
    assert 'href="/processes/contract_seal/decisions"' in client.get(
        "/processes/contract_seal").text
    page = client.get("/processes/contract_seal/decisions")
    assert page.status_code == 200
    data = _data(page.text)
    assert (data["version"], data["editing"]) == (2, "contract_routing.dmn")
    assert sorted(data["files"]) == ["contract_routing.dmn", "contract_seal.bpmn"]
    assert "&gt; 2000000" in data["files"]["contract_routing.dmn"]
    older = _data(client.get("/processes/contract_seal/decisions?version=1").text)
    assert "&gt; 1000000" in older["files"]["contract_routing.dmn"]
    assert client.get("/processes/contract_seal/decisions?version=3").status_code == 404


def test_a_flow_without_tables_says_so(api, login):
    mara = api("mara", roles=["manager"])
    official = CONTRACT_BPMN.parents[1] / "official_document" / "official_document.bpmn"
    assert deploy(mara, official).status_code == 201
    page = login("mara").get("/processes/official_document/decisions")
    assert page.status_code == 200
    assert "This flow has no decision tables" in page.text
    assert 'id="decisions-deploy"' not in page.text


def test_the_page_is_for_the_studios_people_only(api, login, app):
    assert deploy(api("mara", roles=["manager"])).status_code == 201
    assert login("alice").get("/processes/contract_seal/decisions").status_code == 403
    anonymous = app.test_client().get("/processes/contract_seal/decisions")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
