"""A seal whose key lives in an HSM (SoftHSM2): made in the token, sealing a contract through the
shipped flow, and never in the database."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import signer
from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.models import KeyStorage, Seal
from processes.people import directory
from processes.seals import registry
from tests.conftest import approve, submit
from tests.pdfcheck import assert_sealed
from tests.softhsm import softhsm_token


@pytest.fixture(scope="module")
def hsm(tmp_path_factory):
    with softhsm_token(tmp_path_factory.mktemp("softhsm"), "sealflow-e2e") as config:
        yield config


@pytest.fixture
def hsm_app(app, hsm):
    """The app configured with the SoftHSM2 token (SEALFLOW_PKCS11_*)."""
    app.config.update(PKCS11_MODULE=hsm.module, PKCS11_TOKEN=hsm.token_label,
                      PKCS11_PIN=hsm.user_pin)
    app.extensions.pop("sealflow_env", None)  # built from the config on first use
    return app


def _seal_contract(org, seal_id: int, pdf: bytes) -> tuple[dict, bytes]:
    req = submit(org.alice, seal_id, pdf).get_json()
    assert approve(org.bob).status_code == 200
    assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed", body
    resp = org.alice.get(f"/api/v1/requests/{req['id']}/sealed")
    assert resp.status_code == 200
    sealed = resp.data
    resp.close()
    return body, sealed


def _row(app, seal_id: int) -> Seal:
    with app.app_context():
        seal = db.session.get(Seal, seal_id)
        db.session.expunge(seal)
        return seal


def test_an_hsm_seal_made_by_the_domain_seals_a_contract(hsm_app, org, pdf, trust_roots, hsm):
    name = "测试科技有限公司合同专用章（HSM）"
    with hsm_app.app_context(), unit_of_work(db.session):
        carol = directory.get_user(db.session, "carol")
        seal_id = registry.create_seal(db.session, env(), name, custodians=[carol],
                                    key_storage="pkcs11").id

    body, sealed = _seal_contract(org, seal_id, pdf)

    assert sealed.startswith(pdf)
    (report,) = assert_sealed(sealed, trust_roots)
    assert report.signer == name
    row = _row(hsm_app, seal_id)
    assert row.key_storage is KeyStorage.pkcs11
    assert row.key_pem == b""  # no private key in the database, not even encrypted
    assert row.key_label and row.key_label.startswith("sealflow-")
    assert report.certificate_serial == row.certificate_serial
    assert isinstance(signer.certificate_from_pem(row.cert_pem).public_key(), rsa.RSAPublicKey)
    assert signer.key_protection(hsm, row.key_label).held_in_token
    with pytest.raises(signer.KeyUnavailable, match="refuses to export"):
        signer.export_private_key(hsm, row.key_label)


def test_an_hsm_seal_made_on_the_command_line(hsm_app, org, pdf, trust_roots, hsm):
    out = hsm_app.test_cli_runner().invoke(args=[
        "seal", "create", "财务专用章", "--custodian", "carol", "--key-storage", "pkcs11",
        "--key-type", "p256"])
    assert out.exit_code == 0, out.output
    assert hsm.user_pin not in out.output
    seal_id = int(out.output.split()[-1])

    _, sealed = _seal_contract(org, seal_id, pdf)

    (report,) = assert_sealed(sealed, trust_roots)
    assert report.signer == "财务专用章"
    row = _row(hsm_app, seal_id)
    assert row.key_storage is KeyStorage.pkcs11 and row.key_pem == b""
    public = signer.certificate_from_pem(row.cert_pem).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert signer.key_protection(hsm, row.key_label).held_in_token


def test_an_hsm_seal_renewed_signs_with_its_new_certificate(hsm_app, org, pdf, trust_roots):
    with hsm_app.app_context(), unit_of_work(db.session):
        carol = directory.get_user(db.session, "carol")
        seal = registry.create_seal(db.session, env(), "合同专用章（续期）", custodians=[carol],
                                 key_storage="pkcs11", key_type="p256")
        seal_id, old_serial = seal.id, seal.certificate_serial
    with hsm_app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, seal_id)
        registry.renew_certificate(db.session, env(), seal, actor=seal.custodians[0])
        new_serial = seal.certificate_serial
    assert new_serial != old_serial

    _, sealed = _seal_contract(org, seal_id, pdf)

    (report,) = assert_sealed(sealed, trust_roots)
    assert report.certificate_serial == new_serial
    assert _row(hsm_app, seal_id).key_pem == b""


def test_without_an_hsm_a_pkcs11_seal_is_refused(app, make_user):
    make_user("carol")
    out = app.test_cli_runner().invoke(args=[
        "seal", "create", "合同专用章", "--custodian", "carol", "--key-storage", "pkcs11"])
    assert out.exit_code == 1
    assert "no HSM is configured" in out.output
    with app.app_context():
        assert db.session.query(Seal).count() == 0
