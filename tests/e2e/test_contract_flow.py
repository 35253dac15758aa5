"""The shipped contract flow end to end over HTTP."""

from tests.conftest import approve, only_task, submit


def test_small_contract_is_sealed(org, pdf, trust_roots):
    resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert req["status"] == "running"
    assert [t["element_id"] for t in req["tasks"]] == ["dept_head_approve"]
    assert approve(org.bob).status_code == 200
    r = approve(org.carol)
    assert r.status_code == 200, r.get_json()
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed", body
    sealed = org.alice.get(f"/api/v1/requests/{req['id']}/sealed")
    assert sealed.status_code == 200
    assert sealed.data[:5] == b"%PDF-"
    sealed.close()
