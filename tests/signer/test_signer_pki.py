import datetime

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from signer import (
    KeyUnavailable,
    certificate_from_file,
    certificate_from_pem,
    create_ca_hierarchy,
    issue_seal_certificate,
)

NOW = datetime.datetime(2025, 3, 1, 8, 0, tzinfo=datetime.UTC)


def _ext(cert: x509.Certificate, cls):
    return cert.extensions.get_extension_for_class(cls)


def _attr(name: x509.Name, oid) -> str:
    return name.get_attributes_for_oid(oid)[0].value


def test_chain_verifies(pki):
    root, issuing, seal = (
        pki.root.certificate(),
        pki.issuing.certificate(),
        pki.seal_rsa.certificate(),
    )
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    seal.verify_directly_issued_by(issuing)
    pki.seal_p256.certificate().verify_directly_issued_by(issuing)
    with pytest.raises(ValueError):
        seal.verify_directly_issued_by(root)


def test_ca_profiles(pki):
    root, issuing = pki.root.certificate(), pki.issuing.certificate()
    assert _attr(root.subject, NameOID.COMMON_NAME) == "示例科技有限公司 Root CA"
    assert _attr(issuing.subject, NameOID.COMMON_NAME) == "示例科技有限公司 Issuing CA"
    assert _attr(root.subject, NameOID.ORGANIZATION_NAME) == "示例科技有限公司"

    root_bc = _ext(root, x509.BasicConstraints)
    assert root_bc.critical and root_bc.value.ca and root_bc.value.path_length == 1
    issuing_bc = _ext(issuing, x509.BasicConstraints)
    assert issuing_bc.value.ca and issuing_bc.value.path_length == 0
    for cert in (root, issuing):
        ku = _ext(cert, x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert not ku.value.digital_signature
    root_ski = _ext(root, x509.SubjectKeyIdentifier).value.digest
    assert _ext(issuing, x509.AuthorityKeyIdentifier).value.key_identifier == root_ski
    assert _ext(issuing, x509.SubjectKeyIdentifier).value.digest != root_ski


def test_seal_certificate_profile(pki):
    seal, issuing = pki.seal_rsa.certificate(), pki.issuing.certificate()
    assert _attr(seal.subject, NameOID.COMMON_NAME) == "合同专用章"
    assert _attr(seal.subject, NameOID.ORGANIZATION_NAME) == "示例科技有限公司"
    assert seal.issuer == issuing.subject

    ku = _ext(seal, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    bc = _ext(seal, x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    issuing_ski = _ext(issuing, x509.SubjectKeyIdentifier).value.digest
    assert _ext(seal, x509.AuthorityKeyIdentifier).value.key_identifier == issuing_ski
    _ext(seal, x509.SubjectKeyIdentifier)
    (point,) = _ext(seal, x509.CRLDistributionPoints).value
    assert point.full_name[0].value == "http://sealflow.example/pki/crl"
    with pytest.raises(x509.ExtensionNotFound):
        _ext(pki.seal_p256.certificate(), x509.CRLDistributionPoints)

    assert 0 < seal.serial_number < 2**159
    assert pki.seal_rsa.serial_hex == format(seal.serial_number, "x")


def test_cjk_names_are_utf8_strings(pki):
    der = pki.seal_rsa.certificate().public_bytes(Encoding.DER)
    subject = asn1_x509.Certificate.load(der).subject
    values = [attr["value"] for rdn in subject.chosen for attr in rdn]
    assert {v.name for v in values} == {"utf8_string"}
    assert subject.native == {"common_name": "合同专用章", "organization_name": "示例科技有限公司"}


def test_validity_periods(passphrase):
    root, issuing = create_ca_hierarchy("测试机构", passphrase, key_type="p256", now=NOW)
    seal = issue_seal_certificate(
        issuing, passphrase, seal_name="公章", org_name="测试机构", key_type="p256", now=NOW
    )
    years = {
        "root": root.certificate().not_valid_after_utc - NOW,
        "issuing": issuing.certificate().not_valid_after_utc - NOW,
        "seal": seal.certificate().not_valid_after_utc - NOW,
    }
    assert abs(years["root"].days - 20 * 365.25) <= 1
    assert abs(years["issuing"].days - 10 * 365.25) <= 1
    assert years["seal"].days == 730
    for km in (root, issuing, seal):
        assert km.certificate().not_valid_before_utc <= NOW
    seal.certificate().verify_directly_issued_by(issuing.certificate())

    # A seal certificate never outlives its issuer.
    long = issue_seal_certificate(
        issuing, passphrase, seal_name="公章", org_name="测试机构", valid_days=40000, now=NOW
    )
    assert long.certificate().not_valid_after_utc == issuing.certificate().not_valid_after_utc


def test_issuing_needs_the_right_passphrase_and_a_ca(pki):
    with pytest.raises(KeyUnavailable):
        issue_seal_certificate(pki.issuing, b"wrong", seal_name="x", org_name="y")
    with pytest.raises(ValueError, match="not a CA"):
        issue_seal_certificate(pki.seal_rsa, b"irrelevant", seal_name="x", org_name="y")


def test_key_material_hides_the_key_and_loads(pki, passphrase, tmp_path):
    assert "PRIVATE KEY" not in repr(pki.seal_rsa)
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in pki.seal_rsa.key_pem
    key = pki.seal_rsa.private_key(passphrase)
    cert = pki.seal_rsa.certificate()
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()

    assert certificate_from_pem(pki.root.cert_pem) == pki.root.certificate()
    path = tmp_path / "root.pem"
    path.write_bytes(pki.root.cert_pem)
    assert certificate_from_file(path) == pki.root.certificate()


def test_long_organisation_names(passphrase):
    org = "北京示例某某网络信息科技发展有限责任公司上海分公司"  # 24 characters, 72 bytes
    root, issuing = create_ca_hierarchy(org, passphrase, key_type="p256", now=NOW)
    for km, suffix in ((root, " Root CA"), (issuing, " Issuing CA")):
        cert = km.certificate()
        cn = _attr(cert.subject, NameOID.COMMON_NAME)
        assert cn.endswith(suffix) and org.startswith(cn.removesuffix(suffix))
        assert len(cn.encode()) <= 64
        assert _attr(cert.subject, NameOID.ORGANIZATION_NAME) == org
    seal = issue_seal_certificate(
        issuing, passphrase, seal_name="合同专用章", org_name=org, key_type="p256", now=NOW
    )
    assert _attr(seal.certificate().subject, NameOID.ORGANIZATION_NAME) == org
    with pytest.raises(ValueError, match="seal name"):
        issue_seal_certificate(issuing, passphrase, seal_name="章" * 22, org_name=org)
