"""The `sealflow` command line, run the way an administrator runs it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from processes.models import Seal, User
from tests.conftest import CONTRACT_BPMN


def _run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_init_is_idempotent_and_creates_the_pki_and_system_seal(bare_app):
    app = bare_app
    first = _run(app, "init")
    assert first.exit_code == 0, first.output
    again = _run(app, "init")
    assert again.exit_code == 0, again.output
    with app.app_context():
        system = db.session.execute(select(Seal).where(Seal.system.is_(True))).scalars().all()
        assert len(system) == 1


def test_users_groups_tokens_seals_and_deploy(bare_app):
    app, client = bare_app, bare_app.test_client()
    assert _run(app, "init").exit_code == 0
    assert _run(app, "user", "add", "bob", "--password", "s3cret-pass").exit_code == 0
    out = _run(app, "group", "add", "sales", "--name", "销售部", "--head", "bob")
    assert out.exit_code == 0, out.output
    out = _run(app, "user", "add", "alice", "--password-stdin", "--groups", "sales",
               input="another-pass\n")
    assert out.exit_code == 0, out.output
    out = _run(app, "user", "add", "dana", "--roles", "designer,manager")
    assert out.exit_code == 0
    bad = _run(app, "user", "add", "eve", "--roles", "emperor")
    assert bad.exit_code != 0 and "unknown role" in bad.output
    token = _run(app, "user", "token", "alice").output.split()[-1]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["name"] == "alice" and me["groups"] == ["sales"]
    out = _run(app, "seal", "create", "合同专用章", "--custodian", "bob")
    assert out.exit_code == 0, out.output
    seal_id = int(out.output.split()[-1])
    table = str(CONTRACT_BPMN.parent / "contract_routing.dmn")
    out = _run(app, "process", "deploy", str(CONTRACT_BPMN), table)
    assert out.exit_code == 0 and "version 1 deployed" in out.output
    out = _run(app, "process", "deploy", str(CONTRACT_BPMN), table)
    assert "version 1 unchanged" in out.output
    out = _run(app, "business-type", "add", "contract", "--process", "contract_seal")
    assert out.exit_code == 0, out.output
    with app.app_context():
        seal = db.session.get(Seal, seal_id)
        assert [u.name for u in seal.custodians] == ["bob"]
        assert b"ENCRYPTED PRIVATE KEY" in seal.key_pem
        alice = db.session.execute(select(User).where(User.name == "alice")).scalar_one()
        assert alice.password_hash and "another-pass" not in alice.password_hash
    out = _run(app, "user", "deactivate", "alice")
    assert out.exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


def test_deploying_a_bad_file_fails_with_the_problem(app, tmp_path: Path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<not-bpmn/>")
    out = _run(app, "process", "deploy", str(bad))
    assert out.exit_code == 1
    assert "not a BPMN file" in out.output


def test_unknown_user_fails(app):
    out = _run(app, "user", "token", "nobody")
    assert out.exit_code == 1 and "no user named" in out.output
