"""PAdES B-LT and B-LTA: validation data in the DSS, the document timestamp and its renewal; and
several seals on one document where the first certifies it and prepares the others' fields."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import io

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore, SimpleTrustManager

from signer import (
    KeyMaterial,
    LongTermSettings,
    PreparedField,
    SealPlacement,
    SealSettings,
    SigningFailed,
    archive_timestamp_expiry,
    issue_tsa_certificate,
    renew_archive_timestamp,
    seal_pdf,
    validate_document,
    validate_pdf,
)
from signer.crl import Revocation, make_crl

from .conftest import ORG, PASSPHRASE, Pki

LEGAL_REP = SealPlacement(page=1, x=72, y=72)


def _asn1(pem: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER))


def _timestamper(pki: Pki, tsa: KeyMaterial) -> DummyTimeStamper:
    key = tsa.private_key(PASSPHRASE).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    return DummyTimeStamper(
        tsa_cert=_asn1(tsa.cert_pem), tsa_key=asn1_keys.PrivateKeyInfo.load(key),
        certs_to_embed=SimpleCertificateStore.from_certs([_asn1(pki.issuing.cert_pem)]))


@pytest.fixture(scope="module")
def tsa_km(pki: Pki) -> KeyMaterial:
    return issue_tsa_certificate(pki.issuing, PASSPHRASE, org_name=ORG, valid_days=30,
                                 crl_url="http://sealflow.example/pki/crl")


@pytest.fixture(scope="module")
def timestamper(pki: Pki, tsa_km: KeyMaterial) -> DummyTimeStamper:
    """The TSA whose certificate runs out in 30 days."""
    return _timestamper(pki, tsa_km)


@pytest.fixture(scope="module")
def renewed_tsa_km(pki: Pki) -> KeyMaterial:
    return issue_tsa_certificate(pki.issuing, PASSPHRASE, org_name=ORG, name="Renewed TSA",
                                 crl_url="http://sealflow.example/pki/crl")


@pytest.fixture(scope="module")
def renewed_timestamper(pki: Pki, renewed_tsa_km: KeyMaterial) -> DummyTimeStamper:
    """The TSA with a new certificate, valid for five years."""
    return _timestamper(pki, renewed_tsa_km)


def _crl(issuer: KeyMaterial, revoked=()) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    return make_crl(issuer, PASSPHRASE, list(revoked), number=1, this_update=now,
                    next_update=now + datetime.timedelta(hours=48))


@pytest.fixture(scope="module")
def crl(pki: Pki) -> bytes:
    """The issuing CA's CRL, revoking nothing."""
    return _crl(pki.issuing)


def _long_term(pki: Pki, crls: list[bytes], level: str = "B-LT") -> LongTermSettings:
    return LongTermSettings(trust_roots=(pki.root.cert_pem,), crls=tuple(crls), level=level)


def _seal(data: bytes, seal_signer, appearance, **kw) -> bytes:
    return seal_pdf(data, expected_sha256=hashlib.sha256(data).hexdigest(), signer=seal_signer,
                    appearance_pdf=appearance.pdf, **kw)


@pytest.fixture(scope="module")
def sealed_lta(pdf_1p, signer_rsa, appearance, pki, crl, timestamper) -> bytes:
    return _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper,
                 long_term=_long_term(pki, [crl], "B-LTA"))


def _dss(data: bytes) -> DocumentSecurityStore:
    return DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data), strict=False))


def _dss_crls(data: bytes) -> list[bytes]:
    return [ref.get_object().data for ref in _dss(data).crls]


def _dss_certs(data: bytes) -> set[str]:
    return {cert.subject.native["common_name"] for cert in _dss(data).load_certs()}


def test_b_lt_puts_the_chain_and_the_crl_in_the_dss(pdf_1p, signer_rsa, appearance, pki, crl,
                                                    timestamper, pdfsig, qpdf_check):
    sealed = _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper,
                   long_term=_long_term(pki, [crl]))
    assert sealed.startswith(pdf_1p)
    assert _dss_crls(sealed) == [crl]
    assert {"合同专用章", f"{ORG} Issuing CA", f"{ORG} TSA"} <= _dss_certs(sealed)

    report = validate_document(sealed, [pki.root.cert_pem])
    (seal,) = report.signatures
    assert seal.bottom_line, seal.summary
    assert seal.modification_level == "LTA_UPDATES"
    assert seal.level == "B-LT"
    assert report.document_timestamps == []
    assert "Signature is Valid." in pdfsig(sealed)
    assert qpdf_check(sealed) == 0


def test_b_lta_adds_a_trusted_document_timestamp(sealed_lta, pdf_1p, pki, crl, tsa_km, pdfsig,
                                                 qpdf_check):
    assert sealed_lta.startswith(pdf_1p)
    assert _dss_crls(sealed_lta) == [crl]
    report = validate_document(sealed_lta, [pki.root.cert_pem])
    (seal,) = report.signatures
    assert seal.bottom_line and seal.level == "B-LTA", seal.summary
    (stamp,) = report.document_timestamps
    assert stamp.field == "ArchiveTimestamp"
    assert stamp.intact and stamp.trusted and stamp.bottom_line
    assert stamp.signed_length > seal.signed_length
    assert stamp.tsa == f"{ORG} TSA"
    expires = tsa_km.certificate().not_valid_after_utc
    assert stamp.tsa_certificate_expires == expires
    assert archive_timestamp_expiry(sealed_lta) == expires
    # validate_pdf reports the seal alone, as before.
    assert [r.field for r in validate_pdf(sealed_lta, [pki.root.cert_pem])] == ["Seal"]
    verdict = pdfsig(sealed_lta)
    assert verdict.count("Signature is Valid.") == 1, verdict
    assert qpdf_check(sealed_lta) == 0


def _ades_lta(data: bytes, pki: Pki):
    policy = RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED)
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=[_asn1(pki.root.cert_pem)]),
            revinfo_policy=CertRevTrustPolicy(policy))))
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    return asyncio.run(ades_lta_validation(reader.embedded_regular_signatures[0], spec))


def test_ades_lta_validation_passes_with_the_roots_list_for_the_issuing_ca(
        pdf_1p, signer_rsa, appearance, pki, crl, timestamper, renewed_timestamper):
    """ETSI EN 319 102-1 long-term validation wants revocation data for every certificate below
    the root, the issuing CA included: given the root's CRL too, B-LTA passes, renewed or not."""
    crls = [crl, _crl(pki.root)]
    sealed = _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper,
                   long_term=_long_term(pki, crls, "B-LTA"))
    assert _ades_lta(sealed, pki).ades_subindic == AdESPassed.OK
    renewed = renew_archive_timestamp(sealed, timestamper=renewed_timestamper,
                                      trust_roots=[pki.root.cert_pem], crls=crls)
    assert _ades_lta(renewed, pki).ades_subindic == AdESPassed.OK


def test_renewal_adds_a_newer_document_timestamp(sealed_lta, pki, crl, renewed_timestamper,
                                                 renewed_tsa_km, pdfsig, qpdf_check):
    renewed = renew_archive_timestamp(sealed_lta, timestamper=renewed_timestamper,
                                      trust_roots=[pki.root.cert_pem], crls=[crl])
    assert renewed.startswith(sealed_lta)
    report = validate_document(renewed, [pki.root.cert_pem])
    (seal,) = report.signatures
    assert seal.bottom_line and seal.level == "B-LTA", seal.summary
    assert seal.modification_level == "LTA_UPDATES"
    old, new = report.document_timestamps
    assert [old.field, new.field] == ["ArchiveTimestamp", "ArchiveTimestamp-2"]
    assert old.bottom_line and new.bottom_line
    assert new.timestamp >= old.timestamp
    assert new.signed_length > old.signed_length
    assert new.tsa == "Renewed TSA"
    assert archive_timestamp_expiry(renewed) == renewed_tsa_km.certificate().not_valid_after_utc
    assert archive_timestamp_expiry(renewed) > archive_timestamp_expiry(sealed_lta)
    verdict = pdfsig(renewed)
    assert verdict.count("Signature is Valid.") == 1, verdict
    assert qpdf_check(renewed) == 0

    again = renew_archive_timestamp(renewed, timestamper=renewed_timestamper,
                                    trust_roots=[pki.root.cert_pem], crls=[crl])
    report = validate_document(again, [pki.root.cert_pem])
    assert [ts.field for ts in report.document_timestamps] == [
        "ArchiveTimestamp", "ArchiveTimestamp-2", "ArchiveTimestamp-3"]
    assert all(ts.bottom_line for ts in report.document_timestamps)
    assert report.signatures[0].bottom_line


def test_only_a_b_lta_document_can_be_renewed(pdf_1p, signer_rsa, appearance, pki, crl,
                                              timestamper):
    sealed = _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper,
                   long_term=_long_term(pki, [crl]))
    assert archive_timestamp_expiry(sealed) is None
    with pytest.raises(SigningFailed, match="not PAdES B-LTA"):
        renew_archive_timestamp(sealed, timestamper=timestamper,
                                trust_roots=[pki.root.cert_pem], crls=[crl])


def test_renewal_refuses_a_timestamp_it_cannot_trust(sealed_lta, crl, timestamper):
    from signer import create_ca_hierarchy

    stranger, _ = create_ca_hierarchy("别的公司", PASSPHRASE)
    with pytest.raises(SigningFailed, match="could not be renewed"):
        renew_archive_timestamp(sealed_lta, timestamper=timestamper,
                                trust_roots=[stranger.cert_pem], crls=[crl])


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_need_a_timestamper(level, pdf_1p, signer_rsa, appearance, pki, crl):
    with pytest.raises(SigningFailed, match=f"PAdES {level} needs a timestamp authority"):
        _seal(pdf_1p, signer_rsa, appearance, long_term=_long_term(pki, [crl], level))


def test_long_term_settings_are_for_b_lt_and_b_lta(pki):
    with pytest.raises(ValueError, match="B-LT and B-LTA"):
        LongTermSettings(trust_roots=(pki.root.cert_pem,), level="B-T")


def test_a_revoked_seal_certificate_cannot_seal_at_b_lt(pdf_1p, signer_rsa, appearance, pki,
                                                        timestamper):
    revoked = _crl(pki.issuing, [Revocation(signer_rsa.certificate.serial_number,
                                            datetime.datetime.now(datetime.UTC))])
    with pytest.raises(SigningFailed, match="could not be validated"):
        _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper,
              long_term=_long_term(pki, [revoked]))


def test_levels_of_plain_seals(pdf_1p, signer_rsa, appearance, pki, timestamper):
    plain = _seal(pdf_1p, signer_rsa, appearance)
    assert [r.level for r in validate_pdf(plain, [pki.root.cert_pem])] == ["B-B"]
    stamped = _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper)
    assert [r.level for r in validate_pdf(stamped, [pki.root.cert_pem])] == ["B-T"]
    # A later B-T seal on a B-LTA document is B-T: the DSS has nothing for it.
    both = _seal(_seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper,
                       long_term=_long_term(pki, [_crl(pki.issuing)], "B-LTA")),
                 signer_rsa, appearance, timestamper=timestamper, placement=LEGAL_REP)
    assert [r.level for r in validate_pdf(both, [pki.root.cert_pem])] == ["B-LTA", "B-T"]
    # A seal that fails reaches no level.
    tampered = plain.replace(b"Contract 2024-001", b"Contract 2024-009")
    assert [r.level for r in validate_pdf(tampered, [pki.root.cert_pem])] == [None]


# Several seals, the first certifying ---------------------------------------------------------

CERTIFY = SealSettings(field_name="ContractSeal", certify=True,
                       prepare_fields=(PreparedField("LegalRep", LEGAL_REP),))


def _widget_rect(data: bytes, field: str) -> list[float]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    for name, _, ref in fields.enumerate_sig_fields(reader):
        if name == field:
            return [float(v) for v in ref.get_object()["/Rect"]]
    raise AssertionError(f"no field {field}")


@pytest.mark.parametrize("long_term", [None, "B-LTA"])
def test_certified_contract_seal_then_the_legal_representatives(
        long_term, pdf_1p, signer_rsa, signer_p256, appearance, pki, timestamper, pdfsig,
        qpdf_check):
    options = {}
    if long_term:
        options = {"timestamper": timestamper,
                   "long_term": _long_term(pki, [_crl(pki.issuing)], long_term)}
    contract = _seal(pdf_1p, signer_rsa, appearance, settings=CERTIFY, **options)
    (first,) = validate_pdf(contract, [pki.root.cert_pem])
    assert first.docmdp == "FILL_FORMS" and first.bottom_line, first.summary

    both = _seal(contract, signer_p256, appearance, settings=SealSettings(field_name="LegalRep"),
                 **options)
    assert both.startswith(contract)
    reports = validate_pdf(both, [pki.root.cert_pem])
    assert [r.field for r in reports] == ["ContractSeal", "LegalRep"]
    assert [r.signer for r in reports] == ["合同专用章", "财务专用章"]
    for report in reports:
        assert report.bottom_line and not report.modified_after, report.summary
    assert reports[0].docmdp == "FILL_FORMS"
    assert reports[0].modification_level == "FORM_FILLING"
    if long_term:
        assert [r.level for r in reports] == ["B-LTA", "B-LTA"]
    # The legal representative's seal sits where the certification prepared it.
    x1, y1, x2, y2 = _widget_rect(both, "LegalRep")
    assert (x1, y1, x2 - x1) == pytest.approx((LEGAL_REP.x, LEGAL_REP.y, LEGAL_REP.size))
    verdict = pdfsig(both)
    assert verdict.count("Signature is Valid.") == 2, verdict
    assert qpdf_check(both) == 0


def test_a_field_added_after_a_certification_breaks_it(pdf_1p, signer_rsa, signer_p256,
                                                       appearance, pki):
    """Why the fields are prepared: a signature in a new field (here by pyHanko directly, as
    another tool might) leaves the certification signature reported as modified; seal_pdf
    refuses to do it."""
    contract = _seal(pdf_1p, signer_rsa, appearance,
                     settings=SealSettings(field_name="ContractSeal", certify=True))
    with pytest.raises(SigningFailed, match="no empty field 'LegalRep'"):
        _seal(contract, signer_p256, appearance, settings=SealSettings(field_name="LegalRep"))

    writer = IncrementalPdfFileWriter(io.BytesIO(contract), strict=False)
    meta = signers.PdfSignatureMetadata(field_name="LegalRep", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    added = signers.PdfSigner(
        meta, signer=signer_p256.pyhanko_signer,
        new_field_spec=fields.SigFieldSpec(sig_field_name="LegalRep", on_page=0,
                                           box=(72, 72, 191, 191)),
    ).sign_pdf(writer).getvalue()
    first, second = validate_pdf(added, [pki.root.cert_pem])
    assert second.bottom_line
    assert first.intact and first.valid and first.trusted
    assert first.modified_after and not first.bottom_line


def test_a_certification_must_be_the_first_signature(pdf_1p, signer_rsa, appearance):
    sealed = _seal(pdf_1p, signer_rsa, appearance)
    with pytest.raises(SigningFailed, match="first signature"):
        _seal(sealed, signer_rsa, appearance, settings=CERTIFY)


def test_prepared_fields_are_checked(pdf_1p, signer_rsa, appearance):
    off_page = SealSettings(certify=True,
                            prepare_fields=(PreparedField("LegalRep", SealPlacement(2, 72, 72)),))
    from signer import InvalidPlacement

    with pytest.raises(InvalidPlacement):
        _seal(pdf_1p, signer_rsa, appearance, settings=off_page)
    own = SealSettings(field_name="Seal", prepare_fields=(PreparedField("Seal", LEGAL_REP),))
    with pytest.raises(SigningFailed, match="own field"):
        _seal(pdf_1p, signer_rsa, appearance, settings=own)
    twice = SealSettings(prepare_fields=(PreparedField("A", LEGAL_REP),
                                         PreparedField("A", LEGAL_REP)))
    with pytest.raises(SigningFailed, match="cannot be prepared"):
        _seal(pdf_1p, signer_rsa, appearance, settings=twice)


def test_the_seals_timestamp_time_is_read_past_the_document_timestamps(sealed_lta):
    """``timestamp_time`` reads the seal's own token (not the B-LTA document timestamp after
    it): the time pyHanko's validation-ready reading finds too."""
    from signer import timestamp_time
    reader = PdfFileReader(io.BytesIO(sealed_lta), strict=False)
    [seal] = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") != "/DocTimeStamp"]
    [token] = [a["values"][0]["content"] for a in seal.signer_info["unsigned_attrs"]
               if a["type"].native == "signature_time_stamp_token"]
    expected = token["encap_content_info"]["content"].parsed["gen_time"].native
    assert len(reader.embedded_signatures) == 2  # the seal, then the document timestamp
    assert timestamp_time(sealed_lta) == expected
    assert timestamp_time(sealed_lta, seal.field_name) == expected
    assert timestamp_time(sealed_lta, "no-such-field") is None
