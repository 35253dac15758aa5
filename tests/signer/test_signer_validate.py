import datetime
import hashlib
import io

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signer import (
    InvalidDocument,
    KeyMaterial,
    SealPlacement,
    SealSettings,
    SealSigner,
    create_ca_hierarchy,
    encrypt_private_key,
    generate_private_key,
    seal_pdf,
    validate_pdf,
)
from tests.signer import damage


@pytest.fixture(scope="module")
def sealed(pdf_1p, signer_rsa, appearance) -> bytes:
    return seal_pdf(
        pdf_1p,
        expected_sha256=hashlib.sha256(pdf_1p).hexdigest(),
        signer=signer_rsa,
        appearance_pdf=appearance.pdf,
    )


def test_one_flipped_byte_breaks_the_seal(sealed, pki, pdfsig):
    offset = sealed.index(b"Contract 2024-001") + len("Contract 2024-00")
    tampered = sealed[:offset] + b"9" + sealed[offset + 1 :]
    assert len(tampered) == len(sealed)

    (report,) = validate_pdf(tampered, [pki.root.cert_pem])
    assert not report.intact and not report.bottom_line
    assert "Signature is Valid." not in pdfsig(tampered)


def test_changing_page_content_after_sealing_is_caught(sealed, pki, pdfsig):
    updated = _replace_page_text(sealed, b"Contract 9999-999")
    assert updated.startswith(sealed)

    (report,) = validate_pdf(updated, [pki.root.cert_pem])
    assert report.intact and report.valid and report.trusted  # the signed revision is untouched
    assert report.coverage == "ENTIRE_REVISION"
    assert report.modification_level == "OTHER"
    assert not report.bottom_line


def test_untrusted_root(sealed, passphrase):
    other_root, _ = create_ca_hierarchy("另一家公司", passphrase, key_type="p256")
    (report,) = validate_pdf(sealed, [other_root.cert_pem])
    assert report.intact and report.valid
    assert not report.trusted and not report.bottom_line


def test_unsigned_and_invalid_input(pdf_1p, garbage, pdf_encrypted, pki):
    assert validate_pdf(pdf_1p, [pki.root.cert_pem]) == []
    with pytest.raises(InvalidDocument, match="not a PDF"):
        validate_pdf(garbage, [pki.root.cert_pem])
    with pytest.raises(InvalidDocument, match="encrypted"):
        validate_pdf(pdf_encrypted, [pki.root.cert_pem])


def test_broken_signature_container_is_reported_not_raised(sealed, pki):
    # Overwrite the start of the CMS blob inside /Contents <...> with zeros.
    start = sealed.index(b"/Contents <") + len(b"/Contents <")
    broken = sealed[:start] + b"0" * 64 + sealed[start + 64 :]
    (report,) = validate_pdf(broken, [pki.root.cert_pem])
    assert not report.bottom_line and not report.intact


def test_an_untouched_seal_reports_every_field(sealed, pki):
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.field == "Seal" and report.signer == "合同专用章"
    assert report.certificate_serial == pki.seal_rsa.serial_hex
    der = pki.seal_rsa.certificate().public_bytes(serialization.Encoding.DER)
    assert report.certificate_sha256 == hashlib.sha256(der).hexdigest()
    assert report.intact and report.valid and report.trusted and report.bottom_line
    assert report.modification_level == "NONE" and report.modified_after is False
    assert report.coverage == "ENTIRE_FILE"
    assert report.signed_length == len(sealed)
    assert report.signed_at is not None and report.signed_at.tzinfo is not None
    # B-B: no timestamp, so nothing to say about one.
    assert report.timestamp is None
    assert report.timestamp_intact is None and report.timestamp_trusted is None
    assert report.docmdp is None


def test_changing_page_content_sets_modified_after(sealed, pki):
    updated = _replace_page_text(sealed, b"Contract 9999-999")
    (report,) = validate_pdf(updated, [pki.root.cert_pem])
    assert report.modified_after is True and not report.bottom_line
    # The signed revision is the sealed file itself: what the approval record is looked up by.
    assert report.signed_length == len(sealed)
    assert updated[: report.signed_length] == sealed


def test_a_second_seal_is_an_allowed_change(sealed, pki, signer_p256, appearance):
    second = seal_pdf(
        sealed,
        expected_sha256=hashlib.sha256(sealed).hexdigest(),
        signer=signer_p256,
        appearance_pdf=appearance.pdf,
        placement=SealPlacement(page=1, x=300, y=36, size=119),  # beside the first one
        settings=SealSettings(field_name="Seal2"),
    )
    first, last = validate_pdf(second, [pki.root.cert_pem])
    assert (first.field, last.field) == ("Seal", "Seal2")
    assert first.modification_level == "FORM_FILLING" and first.modified_after is False
    assert first.coverage == "ENTIRE_REVISION" and first.bottom_line
    assert second[: first.signed_length] == sealed
    assert last.signed_length == len(second) and last.modified_after is False
    # The later stamp is listed, and tolerated: a good seal of ours, beside this one.
    (change,) = first.visible_changes
    assert (change.kind, change.field, change.page, change.rect) == (
        "signature", "Seal2", 1, (300.0, 36.0, 419.0, 155.0))
    assert change.allowed and not change.covers_signature and first.visibly_modified is False
    assert (first.revision, last.revision, change.revision) == (2, 3, 3)


def test_a_second_seal_over_the_first_stamp_fails_the_first(sealed, pki, signer_p256,
                                                             appearance):
    over = seal_pdf(
        sealed,
        expected_sha256=hashlib.sha256(sealed).hexdigest(),
        signer=signer_p256,
        appearance_pdf=appearance.pdf,  # the default place: where the first seal is
        settings=SealSettings(field_name="Seal2"),
    )
    first, last = validate_pdf(over, [pki.root.cert_pem])
    assert first.modification_level == "FORM_FILLING"  # pyHanko alone lets it pass
    (change,) = first.visible_changes
    assert change.covers_signature and not change.allowed
    assert first.visibly_modified is True and first.modified_after is True
    assert not first.bottom_line and first.level is None
    assert last.bottom_line


def test_timestamped_seal_reports_the_timestamp(pdf_1p, pki, signer_rsa, appearance, passphrase):
    tsa = _tsa_material(pki.issuing, passphrase)
    stamped = _seal_with_tsa(pdf_1p, signer_rsa, appearance, tsa, passphrase)
    (report,) = validate_pdf(stamped, [pki.root.cert_pem])
    assert report.timestamp is not None and report.timestamp.tzinfo is not None
    assert report.timestamp_intact is True and report.timestamp_trusted is True
    assert report.bottom_line and "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in report.summary


def test_a_timestamp_from_an_unknown_authority_is_not_trusted(
    pdf_1p, pki, signer_rsa, appearance, passphrase
):
    _, foreign_issuing = create_ca_hierarchy("别家时间戳机构", passphrase)
    tsa = _tsa_material(foreign_issuing, passphrase)
    stamped = _seal_with_tsa(pdf_1p, signer_rsa, appearance, tsa, passphrase)
    (report,) = validate_pdf(stamped, [pki.root.cert_pem])
    assert report.trusted  # the seal itself is ours
    assert report.timestamp is not None
    assert report.timestamp_intact is True and report.timestamp_trusted is False
    assert not report.bottom_line


def test_a_certificate_the_validator_chokes_on_is_reported_not_raised(pdf_1p, pki, appearance):
    # Our seal's name, serial and issuer, but a P-256 signature where the issuer's key is RSA:
    # pyhanko-certvalidator fails an assertion on it.
    ours = pki.seal_rsa.certificate()
    key = generate_private_key("p256")
    now = datetime.datetime.now(datetime.UTC)
    fake = (
        x509.CertificateBuilder()
        .subject_name(ours.subject)
        .issuer_name(ours.issuer)
        .public_key(key.public_key())
        .serial_number(ours.serial_number)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    material = KeyMaterial(
        fake.public_bytes(serialization.Encoding.PEM), encrypt_private_key(key, b"pw")
    )
    forged = seal_pdf(
        pdf_1p,
        expected_sha256=hashlib.sha256(pdf_1p).hexdigest(),
        signer=SealSigner.from_key_material(material, b"pw", []),
        appearance_pdf=appearance.pdf,
    )
    (report,) = validate_pdf(forged, [pki.root.cert_pem, pki.issuing.cert_pem])
    assert not report.trusted and not report.bottom_line
    assert report.certificate_serial == pki.seal_rsa.serial_hex
    assert report.certificate_sha256 != hashlib.sha256(
        ours.public_bytes(serialization.Encoding.DER)
    ).hexdigest()


def test_hybrid_xref_files_are_read(pki, signer_p256, appearance, qpdf_check):
    hybrid = hybrid_xref_pdf()
    assert qpdf_check(hybrid) == 0
    assert validate_pdf(hybrid, [pki.root.cert_pem]) == []
    sealed = seal_pdf(
        hybrid,
        expected_sha256=hashlib.sha256(hybrid).hexdigest(),
        signer=signer_p256,
        appearance_pdf=appearance.pdf,
    )
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.bottom_line and report.modified_after is False


def test_a_file_cut_short_is_an_invalid_document(sealed, pki):
    # Cut anywhere, the sealed file loses its cross-reference data: it is no PDF any more (the
    # damaged-signature branches are reached by the test below, on files that stay PDFs).
    for cut in (len(sealed) // 3, len(sealed) // 2, len(sealed) - 40):
        with pytest.raises(InvalidDocument):
            validate_pdf(sealed[:cut], [pki.root.cert_pem])


@pytest.mark.parametrize(("spoil", "intact", "valid", "coverage", "reason"), [
    # The bytes are as signed, but the signature value over them is not the signer's.
    (damage.flipped_signature_value, True, False, "ENTIRE_FILE", None),
    # The /ByteRange stops short of the file: it no longer covers the end of the document.
    (damage.short_byte_range, False, True, "CONTIGUOUS_BLOCK_FROM_START", None),
    # The CMS object cannot be read at all: reported, with pyHanko's reason, not raised.
    (damage.truncated_signature, False, False, "UNKNOWN",
     "INVALID: signer_infos should contain exactly one entry"),
    # The CMS object reads, but its validation fails on what is missing.
    (damage.without_message_digest, False, False, "UNKNOWN",
     "INVALID: Message digest not found in signature"),
    (damage.unknown_signer, False, False, "UNKNOWN",
     "INVALID: signer certificate not included in signature"),
], ids=["signature value", "byte range", "truncated CMS", "no digest", "unknown signer"])
def test_a_damaged_signature_is_reported_with_what_is_wrong(sealed, pki, spoil, intact, valid,
                                                           coverage, reason):
    (good,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert good.bottom_line
    damaged = spoil(sealed)
    assert len(damaged) == len(sealed) and damaged != sealed
    (report,) = validate_pdf(damaged, [pki.root.cert_pem])
    assert (report.intact, report.valid, report.coverage) == (intact, valid, coverage)
    assert not report.trusted and not report.bottom_line
    assert report.field == good.field
    if reason is None:
        assert report.summary == "INVALID"
        assert report.signer == "合同专用章"  # the certificate is read; the signature fails
    else:
        assert report.summary.startswith(reason)


def hybrid_xref_pdf(text: str = "Contract 2024-001 hybrid") -> bytes:
    """A one-page PDF with a hybrid cross-reference (ISO 32000-1 §7.5.8.4): a classic xref
    table whose trailer's /XRefStm points to an xref stream. The page's font is object 5, in an
    object stream that only the xref stream lists; the classic table skips it."""
    content = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode()
    objstm_body = b"5 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        6: b"<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n"
        % (len(b"5 0 "), len(objstm_body)) + objstm_body + b"\nendstream",
    }
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num, body in objects.items():
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    # The xref stream has one type-2 entry: object 5 is object 0 of object stream 6.
    row = bytes([2]) + (6).to_bytes(4, "big") + (0).to_bytes(2, "big")
    offsets[7] = len(out)
    out += (
        b"7 0 obj\n<< /Type /XRef /Size 8 /Index [5 1] /W [1 4 2] /Length %d >>\nstream\n"
        % len(row) + row + b"\nendstream\nendobj\n"
    )
    xref_at = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offsets[num] for num in (1, 2, 3, 4))
    out += b"6 2\n" + b"".join(b"%010d 00000 n \n" % offsets[num] for num in (6, 7))
    out += b"trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        offsets[7],
        xref_at,
    )
    return bytes(out)


def _replace_page_text(data: bytes, text: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 742 Td (" + text + b") Tj ET")
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _tsa_material(
    issuer: KeyMaterial, passphrase: bytes
) -> tuple[bytes, rsa.RSAPrivateKey, bytes]:
    """A timestamp authority certificate (EKU timeStamping, critical) issued by ``issuer``, its
    key, and the issuer's certificate (DER), which the tokens embed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer_cert = issuer.certificate()
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试时间戳服务")]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
        .sign(issuer.private_key(passphrase), hashes.SHA256())
    )
    der = serialization.Encoding.DER
    return cert.public_bytes(der), key, issuer_cert.public_bytes(der)


def _seal_with_tsa(pdf, seal_signer, appearance, tsa, passphrase) -> bytes:
    cert_der, key, issuer_der = tsa
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert_der),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(issuer_der)]),
    )
    return seal_pdf(
        pdf,
        expected_sha256=hashlib.sha256(pdf).hexdigest(),
        signer=seal_signer,
        appearance_pdf=appearance.pdf,
        timestamper=stamper,
    )
