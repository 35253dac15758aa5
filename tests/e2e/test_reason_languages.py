"""The last texts a person read only in English: why a running request cannot move to another
version (the migrate API the compare page shows), why a seal's lifecycle step was taken (the
seal page, its usage log), the incidents' refusal and an unknown sort. Sealflow's words come in
the caller's language, the code unchanged; a person's own words stay as they wrote them."""

from __future__ import annotations

from tests.conftest import submit
from tests.e2e.test_lifecycle_flows import _change, _completed, office  # noqa: F401 (fixture)
from tests.e2e.test_migration import (
    decide,
    deploy_version,
    migrate,
    with_finance_review,
    without_dept_head,
)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def test_why_a_request_cannot_move_to_the_other_version(org, pdf, api):
    root = api("root", roles=["admin"])
    waiting = submit(org.alice, org.seal_id, pdf).get_json()
    past = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, past["id"])
    deploy_version(org, with_finance_review(), 2)
    deploy_version(org, without_dept_head(), 3)
    zh = root.post("/api/v1/processes/contract_seal/migrate", headers=ZH,
                   json={"from": 1, "to": 3, "dry_run": True}).get_json()
    en = migrate(root, 1, 3, dry_run=True).get_json()
    assert [(r["request"], r["element"]) for r in zh["refused"]] == \
        [(r["request"], r["element"]) for r in en["refused"]] == \
        [(waiting["id"], "dept_head_approve"), (past["id"], "dept_head_approve")]
    assert [r["reason"] for r in zh["refused"]] == [
        "正在 “dept_head_approve” 等待，而版本 3 删除了该元素",
        "已经过 “dept_head_approve”，而版本 3 删除了该元素：其历史无法迁移到新版本"]
    assert [r["reason"] for r in en["refused"]] == [
        "waiting in 'dept_head_approve', which version 3 removed",
        "already passed 'dept_head_approve', which version 3 removed: its history cannot move "
        "to the new version"]
    assert zh["diff"] == en["diff"]  # element ids and aspects: data, not sentences


def test_a_seal_changed_through_its_flow_says_why_in_the_readers_language(office, pdf,  # noqa: F811
                                                                         login):
    change = _change(office, pdf, "seal_change", "证书即将到期", change="renew")
    _completed(office, change)
    url = f"/api/v1/seals/{office.seal_id}/usage"
    [zh] = office.carol.get(url, headers=ZH).get_json()["lifecycle"]
    [en] = office.carol.get(url, headers=EN).get_json()["lifecycle"]
    assert zh["reason"] == f"申请 #{change['id']}：证书续期：证书即将到期"
    assert en["reason"] == f"request #{change['id']}: certificate renewed: 证书即将到期"
    assert zh["request"] == en["request"] == change["id"]
    page = login("carol").get(f"/seals/{office.seal_id}?lang=zh_CN").text
    assert f"申请 #{change['id']}：证书续期：证书即将到期" in page


def test_the_incidents_are_for_administrators(org, login):
    alice = login("alice")
    zh = alice.get("/admin/incidents?lang=zh_CN")
    assert zh.status_code == 403 and "异常列表仅供管理员查看" in zh.text
    en = alice.get("/admin/incidents?lang=en")
    assert en.status_code == 403 and "the incidents are for administrators" in en.text


def test_an_unknown_sort(org):
    zh = org.alice.get("/api/v1/requests?sort=oldest_first", headers=ZH)
    en = org.alice.get("/api/v1/requests?sort=oldest_first", headers=EN)
    assert zh.status_code == en.status_code == 400
    assert zh.get_json()["error"]["code"] == en.get_json()["error"]["code"] == "bad_request"
    assert zh.get_json()["error"]["message"].startswith("未知的排序方式 “oldest_first”：可选 ")
    assert en.get_json()["error"]["message"].startswith("unknown sort 'oldest_first': one of ")
