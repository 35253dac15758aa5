"""Who finds which archived documents: the requesters, the approvers, the seals' custodians
(one appointed after the sealings, who worked none of their tasks), someone copied (抄送) and
a stranger each find exactly the documents of the requests they may see, newest first, for a
word in every document and for a word in one; whether they see few documents (found first,
then searched) or many (the archive's index walked, each document found tested)."""

from __future__ import annotations

import pytest

from processes.archive import search
from tests.app.test_archive import chinese_pdf, ids
from tests.conftest import approve, only_task, submit

RARE = "董事会决议"


def _sealed(requester, seal_id: int, lines: list[str], *approvers) -> int:
    req = submit(requester, seal_id, chinese_pdf(lines)).get_json()
    for approver in approvers:
        assert approve(approver).status_code == 200
    assert requester.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
    return req["id"]


@pytest.fixture
def root(org, login, make_user):
    make_user("root", roles=["admin"])
    return login("root")


def test_each_finds_the_documents_they_may_see(org, api, make_seal, root, monkeypatch):
    oscar = api("oscar", head_of=["ops"])
    erin = api("erin", groups=["ops"])
    kate = api("kate")
    cathy, nina, mallory = api("cathy"), api("nina"), api("mallory")
    auditor = api("audrey", roles=["auditor"])
    other_seal = make_seal(["kate"], name="测试科技有限公司财务专用章")
    first = _sealed(org.alice, org.seal_id, ["采购合同"], org.bob, org.carol)
    larry = api("larry", groups=["legal"])
    req = submit(erin, other_seal, chinese_pdf(["借款合同", RARE]),  # legal reviews it
                 data={"amount": 2_000_000, "purpose": "借款合同"}).get_json()
    copied = oscar.post(f"/api/v1/tasks/{only_task(oscar)['id']}/cc", json={"users": ["cathy"]})
    assert copied.status_code == 200, copied.get_json()
    for approver, data in ((oscar, {}), (org.lily, {"legal_opinion": "无异议"}), (kate, {})):
        assert approve(approver, **data).status_code == 200
    rare = req["id"]
    last = _sealed(org.alice, other_seal, ["租赁合同"], org.bob, kate)
    handed = root.post(f"/seals/{other_seal}/change", data={
        "change": "custodians", "custodians": "kate, nina", "reason": "保管人交接"})
    assert handed.status_code == 302
    expected = [  # who: (合同, in every document; RARE, in one), newest first
        (org.alice, ([last, first], [])),  # the requester of two
        (erin, ([rare], [rare])),  # of one
        (org.bob, ([last, first], [])),  # the approver of alice's
        (oscar, ([rare], [rare])),  # of erin's
        (cathy, ([rare], [rare])),  # copied on erin's
        (org.carol, ([first], [])),  # the first seal's custodian (its approver too)
        (kate, ([last, rare], [rare])),  # the other's
        (nina, ([last, rare], [rare])),  # its custodian since, who approved none of them
        (mallory, ([], [])),
        (org.lily, ([rare], [rare])),  # legal reviewed erin's (the others were below it)
        (larry, ([rare], [rare])),  # the legal group was its candidate: larry too
        (auditor, ([last, rare, first], [rare])),
    ]
    for few_seen in (search.FEW_SEEN, {"sqlite": 0, "postgresql": 0}):  # few; any: walked
        monkeypatch.setattr(search, "FEW_SEEN", few_seen)
        for client, (common, rarely) in expected:
            assert (ids(client, q="合同"), ids(client, q=RARE)) == (common, rarely), \
                (client.user, few_seen)
            assert ids(client) == common, (client.user, few_seen)  # no text: the same
