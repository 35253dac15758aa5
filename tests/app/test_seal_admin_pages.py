"""The seal administration pages (issue 12, item 6): a seal admin edits a seal's usage policy
and sees each flow's proof; custodians and appearance change through the 印章变更 flow started
from the seal page, or directly by an administrator with a reason; a new seal through 制章申请,
or made directly by an administrator; voiding and revoking ask for the seal's name typed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from processes.models import AuditEvent, Request, Seal, SealStatus
from processes.seal_models import SealPolicy, SealTransition
from tests.conftest import deploy, seal_one

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())


def _seal(app, seal_id: int) -> Seal:
    with app.app_context():
        seal = db.session.get(Seal, seal_id)
        assert seal is not None
        seal.custodian_names = [u.name for u in seal.custodians]  # read while the session lives
        db.session.expunge(seal)
        return seal


@pytest.fixture
def root(make_user, login):
    make_user("root", roles=["admin"])
    return login("root")


@pytest.fixture
def lifecycle_flows(org):
    for key in ("seal_make", "seal_change"):
        assert deploy(org.seal_admin, BPMN / key / f"{key}.bpmn").status_code == 201
    return org


POLICY = {"max_uses": "5", "max_per_month": "", "max_pages": "20", "max_bytes": "",
          "min_approvals": "2", "groups": "", "users": "", "valid_from": "2026-01-01T09:00",
          "valid_to": "", "demands": "custodian", "distinct_demands": "on"}


def test_a_seal_admin_edits_the_policy_and_sees_each_flows_proof(app, org, login):
    sam = login("sam")
    seal = org.seal_id
    form = sam.get(f"/seals/{seal}/policy")
    assert form.status_code == 200
    assert 'name="max_uses"' in form.text and 'name="demands"' in form.text
    saved = sam.post(f"/seals/{seal}/policy", data=POLICY)
    assert saved.status_code == 302 and saved.headers["Location"] == f"/seals/{seal}/policy"
    page = sam.get(f"/seals/{seal}/policy").text
    assert "Every flow it allows passes the proof" in page
    assert "Passes" in page and "Cannot be used" not in page
    assert 'value="5"' in page and "2026-01-01T09:00" in page
    with app.app_context():
        policy = db.session.get(SealPolicy, seal)
        assert (policy.max_uses, policy.max_pages, policy.min_approvals) == (5, 20, 2)
        assert policy.demands == [{"kind": "custodian"}] and policy.max_per_month is None
    event = _events(app, "seal.policy_changed")[-1]
    assert event.actor == "sam" and event.details["policy"]["max_uses"] == 5
    # The seal page shows the policy in words.
    shown = sam.get(f"/seals/{seal}").text
    assert "Uses in total at most" in shown and "a custodian of the seal" in shown
    # A demand the contract flow can slip past: the path is shown, and the flash says so.
    slipped = sam.post(f"/seals/{seal}/policy", data={**POLICY, "demands": "group:legal"},
                       follow_redirects=True)
    assert "cannot be used with this seal" in slipped.text
    assert "Cannot be used" in slipped.text
    assert "without an approval by a member of department legal" in slipped.text
    assert "→" in slipped.text
    refused = _events(app, "seal.policy_changed")[-1].details["refused_flows"]
    assert refused == ["contract_seal v1"]


def test_bad_policy_input_is_refused_with_the_values_kept(app, org, login):
    sam = login("sam")
    bad = sam.post(f"/seals/{org.seal_id}/policy", data={
        **POLICY, "max_uses": "lots", "groups": "sales, nosuch", "demands": "custodian\nboss",
        "valid_from": "2027-02-01T00:00", "valid_to": "2027-01-01T00:00"})
    assert bad.status_code == 400
    text = bad.text
    assert "must be a whole number" in text and "no group with the key nosuch" in text
    assert "boss is not a demand" in text and "must be after the start" in text
    assert 'value="lots"' in text and 'value="sales, nosuch"' in text
    assert "custodian\nboss</textarea>" in text and 'value="2027-02-01T00:00"' in text
    with app.app_context():
        assert db.session.get(SealPolicy, org.seal_id) is None  # nothing saved
    assert _events(app, "seal.policy_changed") == []


def test_only_seal_admins_edit_a_policy(org, login):
    for name in ("carol", "alice"):
        client = login(name)
        assert client.get(f"/seals/{org.seal_id}/policy").status_code == 403
        assert client.post(f"/seals/{org.seal_id}/policy", data=POLICY).status_code == 403
    assert "Edit the policy" not in login("carol").get(f"/seals/{org.seal_id}").text
    assert login("sam").get("/seals/999/policy").status_code == 404


def test_an_admin_changes_custodians_and_appearance_directly_with_a_reason(app, org, root,
                                                                          login, make_user):
    make_user("lily")
    seal = org.seal_id
    page = root.get(f"/seals/{seal}").text
    assert "Change directly" in page
    no_reason = root.post(f"/seals/{seal}/change", data={"change": "custodians",
                                                          "custodians": "lily"})
    assert no_reason.status_code == 400 and "reason is required" in no_reason.text
    assert 'value="lily"' in no_reason.text  # kept
    assert _seal(app, seal).custodian_names == ["carol"]
    unknown = root.post(f"/seals/{seal}/change", data={
        "change": "custodians", "custodians": "nobody", "reason": "交接"})
    assert unknown.status_code == 400 and "no user named nobody" in unknown.text
    assert "交接</textarea>" in unknown.text
    done = root.post(f"/seals/{seal}/change", data={
        "change": "custodians", "custodians": "lily, carol", "reason": "保管人交接"})
    assert done.status_code == 302
    assert _seal(app, seal).custodian_names == ["carol", "lily"]
    before = _seal(app, seal).appearance_png
    redrawn = root.post(f"/seals/{seal}/change", data={
        "change": "appearance", "serial": "3201000012345", "reason": "印模更新"})
    assert redrawn.status_code == 302
    assert _seal(app, seal).appearance_png != before
    event = _events(app, "seal.changed")
    assert [(e.actor, e.details["change"], e.details["reason"]) for e in event] == [
        ("root", "custodians", "保管人交接"), ("root", "appearance", "印模更新")]
    assert _events(app, "seal.custodians_changed")[-1].details["after"] == ["carol", "lily"]
    history = root.get(f"/seals/{seal}").text
    assert "custodians changed: 保管人交接" in history and "Changed" in history
    assert "new appearance: 印模更新" in history
    # Sealflow's words in the reader's language, the administrator's as they wrote them.
    history = root.get(f"/seals/{seal}?lang=zh_CN").text
    assert "保管人变更：保管人交接" in history and "更换印模：印模更新" in history
    assert "custodians changed" not in history
    root.get(f"/seals/{seal}?lang=en")
    # A custodian may not: they start the flow.
    carol = login("carol")
    assert carol.post(f"/seals/{seal}/change", data={
        "change": "custodians", "custodians": "carol", "reason": "x"}).status_code == 403
    assert "Change directly" not in carol.get(f"/seals/{seal}").text


def test_a_custodian_starts_the_seal_change_flow_from_the_seal_page(app, lifecycle_flows,
                                                                    login, make_user):
    make_user("lily")
    carol = login("carol")
    seal = lifecycle_flows.seal_id
    assert "Ask for the change" in carol.get(f"/seals/{seal}").text
    refused = carol.post(f"/seals/{seal}/change-request", data={
        "change": "custodians", "custodians": "nobody", "reason": "交接"})
    assert refused.status_code == 422
    assert "nobody" in refused.text and 'value="交接"' in refused.text  # kept
    started = carol.post(f"/seals/{seal}/change-request", data={
        "change": "custodians", "custodians": "lily", "reason": "岗位调整"})
    assert started.status_code == 302
    request_id = int(re.search(r"/requests/(\d+)$", started.headers["Location"]).group(1))
    with app.app_context():
        req = db.session.get(Request, request_id)
        assert req.process.key == "seal_change" and req.seal_id == seal
        assert req.data["custodians"] == "lily" and req.data["reason"] == "岗位调整"
        assert req.requester.name == "carol" and req.document_id is None
    assert _seal(app, seal).custodian_names == ["carol"]  # not before the flow approves it
    # Someone who manages no seal may not start it.
    assert login("alice").post(f"/seals/{seal}/change-request", data={
        "change": "renew", "reason": "x"}).status_code == 403


def test_a_new_seal_through_its_flow_or_directly_by_an_admin(app, lifecycle_flows, root,
                                                             login):
    carol = login("carol")
    assert login("alice").get("/seals/new").status_code == 403
    assert "New seal" not in login("alice").get("/seals").text
    page = carol.get("/seals/new")
    assert page.status_code == 200 and "Ask for a new seal" in page.text
    assert "Make a seal directly" not in page.text
    started = carol.post("/seals/new/request", data={
        "seal_name": "测试科技有限公司人事专用章", "new_seal_type": "人事专用章",
        "custodians": "carol", "ca": "organisation", "reason": "新设人事部"})
    assert started.status_code == 302, started.text
    with app.app_context():
        req = db.session.execute(select(Request).order_by(Request.id.desc())).scalars().first()
        assert req.process.key == "seal_make" and req.seal_id is None
        assert req.data["seal_name"] == "测试科技有限公司人事专用章"
    kept = carol.post("/seals/new/request", data={
        "seal_name": "x章", "new_seal_type": "公章", "custodians": "nobody", "reason": "r"})
    assert kept.status_code == 422 and 'value="x章"' in kept.text
    # An admin makes one directly, with the command line's checks and a reason.
    assert "Make a seal directly" in root.get("/seals/new").text
    bad = root.post("/seals/new", data={"name": "新章", "custodians": "nobody",
                                        "type": "公章", "reason": "启用"})
    assert bad.status_code == 400 and "no user named nobody" in bad.text
    assert 'value="新章"' in bad.text
    no_reason = root.post("/seals/new", data={"name": "新章", "custodians": "carol"})
    assert no_reason.status_code == 400 and "reason is required" in no_reason.text
    made = root.post("/seals/new", data={"name": "测试科技有限公司公章", "custodians": "carol",
                                         "type": "公章", "key_type": "p256", "reason": "系统启用"})
    assert made.status_code == 302
    seal_id = int(made.headers["Location"].rsplit("/", 1)[1])
    seal = _seal(app, seal_id)
    assert (seal.name, seal.type, seal.status) == ("测试科技有限公司公章", "公章",
                                                   SealStatus.active)
    assert seal.custodian_names == ["carol"]
    created = _events(app, "seal.created")[-1]
    assert created.actor == "root" and created.details["key_type"] == "p256"
    with app.app_context():
        step = db.session.execute(select(SealTransition).where(
            SealTransition.seal_id == seal_id)).scalar_one()
        assert (step.reason, step.from_status, step.authority.value) == (
            "系统启用", None, "admin")
    assert carol.post("/seals/new", data={"name": "x", "custodians": "carol",
                                          "reason": "x"}).status_code == 403


def test_void_and_revoke_need_the_seals_name_typed(app, org, root, login):
    seal = org.seal_id
    in_chinese = login("root", "zh-CN,zh;q=0.9").post(f"/seals/{seal}/status", data={
        "to": "revoked", "reason": "私钥泄露", "confirm_name": "合同专用章"})
    assert in_chinese.status_code == 400
    assert "请准确输入印章名称「测试科技有限公司合同专用章」以确认" in in_chinese.text
    page = root.get(f"/seals/{seal}").text
    assert 'name="confirm_name"' in page and "Type the seal" in page
    for typed in ("", "测试科技有限公司", "wrong"):
        refused = root.post(f"/seals/{seal}/status", data={
            "to": "voided", "reason": "印章遗失", "confirm_name": typed})
        assert refused.status_code == 400
        assert "exactly to confirm" in refused.text
        assert "印章遗失</textarea>" in refused.text  # the reason kept
        assert _seal(app, seal).status is SealStatus.active
    done = root.post(f"/seals/{seal}/status", data={
        "to": "revoked", "reason": "私钥泄露", "confirm_name": "测试科技有限公司合同专用章"})
    assert done.status_code == 302
    assert _seal(app, seal).status is SealStatus.revoked


def test_the_usage_log_and_history_read_as_words_and_local_times(app, org, login, pdf):
    sealed = seal_one(org, pdf)
    assert sealed["status"] == "sealed"
    page = login("carol").get(f"/seals/{org.seal_id}").text
    log = page.split("Usage log", 1)[1].split("Lifecycle", 1)[0]
    assert f"#{sealed['id']}" in log and "contract_seal" in log
    assert re.search(r"\d{1,2}:\d{2}", log) and "+00:00" not in log and "T0" not in log
    assert "in total <strong>1</strong>" in page
