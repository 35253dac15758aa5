"""`sealflow audit verify | anchor | rotate-key` and GET /api/v1/audit/verify (issue 13): what an
operator and an auditor see, with the built-in TSA in-process and a TSA over real HTTP."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from app.extensions import db
from processes import audit, audit_keys
from processes.audit_models import AuditAnchor
from processes.db import unit_of_work
from processes.models import AuditEvent


def cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["audit", *args], input=input)


def _append(app, n: int) -> None:
    with app.app_context():
        for i in range(n):
            with unit_of_work(db.session):
                audit.record(db.session, "test.event", n=i)


def _change(app, seq: int, **values) -> None:
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(**values))


def test_verify_reports_a_whole_log_and_exits_non_zero_at_the_first_bad_event(app):
    _append(app, 5)
    done = cli(app, "verify", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report | {"events": 5, "ok": True, "first_bad": None} == report
    _change(app, 3, action="changed")
    done = cli(app, "verify")
    assert done.exit_code == 1
    assert "does not hold at event 3" in done.stderr and "changed" in done.stderr


def test_an_interrupted_check_goes_on_from_its_checkpoint(app, tmp_path, monkeypatch):
    _append(app, 9)
    from processes import audit_verify

    real = audit_verify.verify
    calls = []

    def interrupted(*args, progress=None, **kw):
        def stop(at):  # as Ctrl-C would, after the first 4 events
            progress(at)
            calls.append(at.seq)
            raise KeyboardInterrupt
        return real(*args, progress=stop, every=4, **kw)

    checkpoint = tmp_path / "verify.checkpoint"
    monkeypatch.setattr(audit_verify, "verify", interrupted)
    done = cli(app, "verify", "--checkpoint", str(checkpoint))
    assert done.exit_code == 130 and checkpoint.exists() and calls == [4]
    monkeypatch.setattr(audit_verify, "verify", real)
    done = cli(app, "verify", "--checkpoint", str(checkpoint), "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["start"] == 5 and report["events"] == 9
    assert not checkpoint.exists()  # the whole log verified
    checkpoint.write_text('{"seq": 8}')
    assert cli(app, "verify", "--checkpoint", str(checkpoint)).exit_code == 1  # not ours
    done = cli(app, "verify", "--from", "6", "--json")
    assert json.loads(done.stdout)["start"] == 6 and done.exit_code == 0


def test_anchors_are_timestamped_by_the_built_in_tsa_and_checked(app):
    _append(app, 3)
    done = cli(app, "anchor")
    assert done.exit_code == 0 and "anchored event 3" in done.output, done.output
    assert "nothing to anchor" in cli(app, "anchor").output  # only the TSA's own event since
    _append(app, 2)
    assert "anchored event" in cli(app, "anchor").output
    report = json.loads(cli(app, "verify", "--json").stdout)
    assert report["ok"] is True and report["anchors"] == 2, report
    # Whoever holds the key rewrites event 2 and every MAC after it: the anchor still differs.
    with app.app_context():
        ring = audit_keys.for_bind(db.engine)
        rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        prev, mac = rows[0].hash, rows[0].mac
        rows[1].details = {"n": 99}
        for row in rows[1:]:
            row.prev_hash = prev
            row.hash = prev = audit.digest(prev, row.at, row.actor, row.action, row.request_id,
                                           row.seal_id, row.details)
            row.mac = mac = audit_keys.chain_mac(ring.key, mac, row.hash)
        db.session.commit()
    report = json.loads(cli(app, "verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad"] == 3, report
    assert "anchor" in report["reason"]


def test_a_token_that_is_not_over_its_head_is_found(app):
    _append(app, 2)
    cli(app, "anchor")
    _append(app, 2)
    cli(app, "anchor")
    with app.app_context(), unit_of_work(db.session):
        first, second = db.session.execute(select(AuditAnchor).order_by(AuditAnchor.seq)) \
            .scalars().all()
        first.token = second.token
    report = json.loads(cli(app, "verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad"] == 2, report
    assert "imprint" in report["reason"]


def test_anchors_from_a_tsa_over_http(app, live_tsa):
    _append(app, 2)
    done = cli(app, "anchor")
    assert done.exit_code == 0 and "anchored event" in done.output, done.output
    with app.app_context():
        served = db.session.execute(select(AuditEvent.details).where(
            AuditEvent.action == "tsa.timestamp_granted")).scalars().all()
    assert served and all(d["client"] != "in-process" for d in served)  # over HTTP
    assert json.loads(cli(app, "verify", "--json").stdout)["ok"] is True


def test_rotate_key_records_the_rotation_and_prints_the_new_key(app):
    _append(app, 1)
    done = cli(app, "rotate-key")
    assert done.exit_code == 0, done.output
    new = done.output.split("SEALFLOW_AUDIT_KEY=", 1)[1].split()[0]
    with app.app_context():
        event = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())
                                   .limit(1)).scalar_one()
        assert event.action == "audit.key_rotated"
        assert event.details["new_key_id"] == audit_keys.fingerprint(new.encode())
        assert event.key_id == audit_keys.fingerprint(app.config["AUDIT_KEY"].encode())
    done = cli(app, "rotate-key", "--new-key-stdin", input="short\n")
    assert done.exit_code == 1 and "16 characters" in done.output


def test_the_api_verifies_for_auditors_and_admins_only(app, api):
    _append(app, 2)
    for name, roles, status in (("alice", [], 403), ("audrey", ["auditor"], 200),
                                ("adam", ["admin"], 200)):
        resp = api(name, roles=roles).get("/api/v1/audit/verify")
        assert resp.status_code == status, (name, resp.get_json())
    body = resp.get_json()
    assert body["ok"] is True and body["events"] >= 2 and body["first_bad"] is None
    _change(app, 1, actor="someone else")
    body = api("zoe", roles=["auditor"]).get("/api/v1/audit/verify",
                                               headers={"Accept-Language": "en"}).get_json()
    assert body["ok"] is False and body["first_bad"] == 1 and "changed" in body["reason"]
    body = api("zoe2", roles=["auditor"]).get("/api/v1/audit/verify",
                                                headers={"Accept-Language": "zh-CN"}).get_json()
    assert body["reason"] == "事件 1 被改动：内容与其哈希不符"


def test_the_scheduled_anchor_job_anchors_and_a_tsa_that_refuses_is_logged(app, caplog):
    from app.audit_jobs import anchor_in_app

    _append(app, 2)
    anchor_in_app(app)
    with app.app_context():
        assert db.session.execute(select(AuditAnchor.seq)).scalars().all() == [2]
        db.session.rollback()
    _append(app, 1)
    app.config.update(PADES_LEVEL="B-T", TSA_URL="http://127.0.0.1:9/tsa")  # nobody there
    app.extensions.pop("sealflow_env", None)
    anchor_in_app(app)  # logged, not raised: tried again at the next run
    assert "anchoring the audit chain failed" in caplog.text
