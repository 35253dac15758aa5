"""Issue 10: the base URL. `sealflow run` and `sealflow serve` without SEALFLOW_BASE_URL take it
from their host and port (the default named :5000 whatever port they served on), and a server
on any port seals at B-T: its jobs never call the base URL. At start-up they warn, without
waiting for it, when a set base URL does not answer, or when the organisation's certificates
(made earlier by `sealflow init`) name another address. Real processes, on the test's
database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from cryptography import x509
from sqlalchemy import select

import config
from app import base_url
from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.models import Seal, User
from processes.seals import registry
from tests.conftest import make_pdf
from tests.pdfcheck import assert_timestamped
from tests.processes_live import (
    Http,
    Listening,
    command,
    environment,
    free_port,
    started,
    until,
)


class _Listening(Listening):
    """A `sealflow run` or `sealflow serve` on ``port``, ready once its API answers."""

    def __init__(self, args: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        super().__init__(f"sealflow {args[0]}", command(*args, "--port", str(port)), env, log)

    def says(self, text: str) -> str:
        """Wait until the log says ``text`` (the start-up check runs in the background)."""
        def said() -> bool:
            self.check_alive()
            return text in self.log()
        until(said, timeout=60, what=f"{self.name} to log {text!r}")
        return self.log()


def test_sealflow_run_on_another_port_without_a_base_url_seals_at_b_t(app, org, tmp_path,
                                                                     trust_roots, ca_pems):
    port = free_port()
    settings = environment(app, PADES_LEVEL="B-T")  # no SEALFLOW_BASE_URL, no TSA_URL
    assert "SEALFLOW_BASE_URL" not in settings and "SEALFLOW_TSA_URL" not in settings
    server = _Listening(["run"], port, settings, tmp_path / "run.log")
    with started(server):
        server.says(f"base URL http://127.0.0.1:{port} (from --host and --port")
        alice, bob, carol = (Http(server.url, c.token) for c in (org.alice, org.bob, org.carol))
        created = alice.post("/api/v1/requests", data={
            "process": "contract_seal", "seal": str(org.seal_id),
            "data": json.dumps({"amount": 50000, "purpose": "采购合同"})},
            files={"document": ("contract.pdf", make_pdf(), "application/pdf")})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        for who in (bob, carol):
            (task,) = who.get("/api/v1/tasks").json()
            done = who.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
            assert done.status_code == 200, done.text

        def sealed() -> dict | None:
            server.check_alive()
            body = alice.get(f"/api/v1/requests/{request_id}").json()
            assert body["status"] in {"authorized", "sealed"}, body
            return body if body["status"] == "sealed" else None

        until(sealed, timeout=60, what=f"request {request_id} to be sealed")
        document = alice.get(f"/api/v1/requests/{request_id}/sealed")
        assert document.status_code == 200
        (report,) = assert_timestamped(document.content, trust_roots, ca_pems)
        assert report.level == "B-T"
        server.says(f"base URL http://127.0.0.1:{port} checked: nothing to warn about")
        assert "WARNING app.base_url" not in server.log()


def test_a_seal_made_while_run_serves_names_its_address(app, make_user):
    """What `run` does first, before any job runs: what is made from then on (a seal's
    certificate here: its CRL and OCSP addresses) names the address it serves at."""
    make_user("carol")
    assert app.config["BASE_URL_SET"] is False
    with app.app_context():
        assert env().base_url == "http://localhost"  # TestConfig's, as the default before
        assert base_url.adopt(app, "127.0.0.1", 5123) == "http://127.0.0.1:5123"
        with unit_of_work(db.session):
            carol = db.session.execute(select(User).where(User.name == "carol")).scalar_one()
            seal = registry.create_seal(db.session, env(), "测试章", custodians=[carol])
        cert = x509.load_pem_x509_certificate(db.session.get(Seal, seal.id).cert_pem)
        db.session.rollback()
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name] == ["http://127.0.0.1:5123/pki/crl"]
    ocsp = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in ocsp] == ["http://127.0.0.1:5123/pki/ocsp"]
    # A base URL that was set is kept.
    app.config.update(BASE_URL="https://seal.example.com", BASE_URL_SET=True)
    assert base_url.adopt(app, "127.0.0.1", 5123) == "https://seal.example.com"


def test_serve_without_a_base_url_warns_that_init_named_another_address(bare_app, tmp_path):
    """`sealflow init` ran without SEALFLOW_BASE_URL (the CA names :5000), then `serve` on
    another port: its base URL is its own address, and it says the certificates name another."""
    bare_app.config["BASE_URL"] = "http://127.0.0.1:5000"  # the default, as `init` had it
    result = bare_app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    port = free_port()
    server = _Listening(["serve", "--workers", "1"], port, environment(bare_app),
                        tmp_path / "serve.log")
    with started(server):
        log = server.says("name http://127.0.0.1:5000 for their CRLs")
        assert f"base URL http://127.0.0.1:{port} (from --host and --port" in log
        assert f"but this server's base URL is http://127.0.0.1:{port}: " in log
        assert "Set SEALFLOW_BASE_URL=http://127.0.0.1:5000" in log


def test_run_warns_at_start_up_when_its_base_url_does_not_answer(app, tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    server = _Listening(["run"], port, environment(app, BASE_URL=nowhere),
                        tmp_path / "run.log")
    with started(server):  # it serves meanwhile: the check does not hold start-up
        log = server.says(f"SEALFLOW_BASE_URL {nowhere} does not answer (GET {nowhere}/pki/ca")
        assert f"base URL {nowhere} (SEALFLOW_BASE_URL)" in log
        assert "WARNING app.base_url" in log
        assert requests.get(f"{server.url}/pki/ca", timeout=10).status_code == 200


@pytest.mark.parametrize("value", ["seal.example.com", "ftp://seal.example.com"])
def test_a_base_url_that_is_not_http_is_refused(monkeypatch, value):
    monkeypatch.setenv("SEALFLOW_SECRET_KEY", "s")
    monkeypatch.setenv("SEALFLOW_KEY_PASSPHRASE", "p")
    monkeypatch.setenv("SEALFLOW_AUDIT_KEY", "a" * 16)
    monkeypatch.setenv("SEALFLOW_BASE_URL", value)
    with pytest.raises(config.ConfigurationError, match="SEALFLOW_BASE_URL"):
        config.Config().validate()
