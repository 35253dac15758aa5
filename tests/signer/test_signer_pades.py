import datetime
import hashlib
import io

import pikepdf
import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signer import (
    HashMismatch,
    InvalidDocument,
    InvalidPlacement,
    KeyUnavailable,
    SealPlacement,
    SealSettings,
    SealSigner,
    SigningFailed,
    generate_private_key,
    inspect_pdf,
    seal_pdf,
    validate_pdf,
)

DPI = 50


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _seal(data, signer, appearance, **kwargs) -> bytes:
    return seal_pdf(
        data, expected_sha256=_sha(data), signer=signer, appearance_pdf=appearance.pdf, **kwargs
    )


def _red_pixels(image, box=None) -> int:
    """Red pixels in the image, or inside ``box`` = (left, top, right, bottom) in pixels."""
    if box is not None:
        image = image.crop(box)
    data = image.tobytes()  # RGB
    return sum(
        1
        for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True)
        if r > 150 and g < 110 and b < 110
    )


def _pixel_box(placement: SealPlacement, page_height: float):
    scale = DPI / 72
    return (
        int(placement.x * scale),
        int((page_height - placement.y - placement.size) * scale),
        int((placement.x + placement.size) * scale) + 1,
        int((page_height - placement.y) * scale) + 1,
    )


def test_sealed_pdf_validates(any_signer, appearance, pdf_1p, pki, pdfsig, qpdf_check):
    settings = SealSettings(reason="申请 #42 已批准", location="北京", contact="seal@example.cn")
    sealed = _seal(pdf_1p, any_signer, appearance, settings=settings)

    assert sealed.startswith(pdf_1p)  # an incremental update: the approved bytes are intact
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.field == "Seal"
    assert report.intact and report.valid and report.trusted and report.bottom_line
    assert report.modification_level == "NONE" and report.coverage == "ENTIRE_FILE"
    assert (
        report.signer
        == any_signer.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    )
    assert report.certificate_serial == any_signer.serial_hex
    assert report.timestamp is None
    assert abs(report.signed_at - datetime.datetime.now(datetime.UTC)).total_seconds() < 600

    out = pdfsig(sealed)
    assert "Signature is Valid." in out
    assert "ETSI.CAdES.detached" in out and "SHA-256" in out
    assert qpdf_check(sealed) == 0

    sig = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0].sig_object
    assert sig["/Reason"] == "申请 #42 已批准" and sig["/Location"] == "北京"
    assert sig["/ContactInfo"] == "seal@example.cn"


def test_stamp_is_on_the_requested_page_only(signer_rsa, appearance, pdf_3p, render_page):
    placement = SealPlacement(page=2, x=100, y=150, size=119)
    sealed = _seal(pdf_3p, signer_rsa, appearance, placement=placement)
    info = inspect_pdf(sealed)

    for page in (1, 2, 3):
        image = render_page(sealed, page)
        if page == 2:
            box = _pixel_box(placement, info.page_sizes[1][1])
            inside = _red_pixels(image, box)
            assert inside > 0.1 * (box[2] - box[0]) * (box[3] - box[1])
            assert _red_pixels(image) == inside  # nothing red outside the box
        else:
            assert _red_pixels(image) == 0


def test_placement_is_relative_to_the_media_box_corner(signer_rsa, appearance, render_page):
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 400))
    pdf.pages[0].obj.MediaBox = pikepdf.Array([100, 200, 400, 600])
    out = io.BytesIO()
    pdf.save(out)
    placement = SealPlacement(page=1, x=10, y=20, size=100)
    sealed = _seal(out.getvalue(), signer_rsa, appearance, placement=placement)

    image = render_page(sealed, 1)
    assert image.size == pytest.approx((300 * DPI / 72, 400 * DPI / 72), abs=1)
    box = _pixel_box(placement, 400)
    assert _red_pixels(image, box) > 0 and _red_pixels(image) == _red_pixels(image, box)


def test_default_placement_is_bottom_right_of_last_page(
    signer_p256, appearance, pdf_3p, render_page
):
    info = inspect_pdf(pdf_3p)
    placement = SealPlacement.default_for(info)
    width, height = info.page_sizes[-1]
    assert placement.page == 3
    assert placement.x + placement.size == pytest.approx(width - 36)
    assert placement.y == pytest.approx(36)

    sealed = _seal(pdf_3p, signer_p256, appearance)
    image = render_page(sealed, 3)
    box = _pixel_box(placement, height)
    assert _red_pixels(image, box) > 0 and _red_pixels(image) == _red_pixels(image, box)
    assert _red_pixels(render_page(sealed, 1)) == 0


def test_hash_mismatch(signer_rsa, appearance, pdf_1p, pdf_3p):
    with pytest.raises(HashMismatch) as excinfo:
        seal_pdf(
            pdf_3p, expected_sha256=_sha(pdf_1p), signer=signer_rsa, appearance_pdf=appearance.pdf
        )
    assert _sha(pdf_1p) in str(excinfo.value) and _sha(pdf_3p) in str(excinfo.value)
    # The check comes first, whatever the bytes are.
    with pytest.raises(HashMismatch):
        seal_pdf(b"junk", expected_sha256="0" * 64, signer=signer_rsa, appearance_pdf=b"")
    # Upper-case hex is the same hash.
    sealed = seal_pdf(
        pdf_1p,
        expected_sha256=_sha(pdf_1p).upper(),
        signer=signer_rsa,
        appearance_pdf=appearance.pdf,
    )
    assert sealed.startswith(pdf_1p)


def _large_pdf(size: int) -> bytes:
    """A one-page PDF of more than ``size`` bytes (a page content of spaces, stored as is)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj.Contents = pdf.make_stream(b" " * size)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def test_hash_mismatch_of_a_large_document(signer_rsa, appearance, pdf_1p):
    # Past 1 MB the hash is compared in a thread while the PDF is read; the answer is the same,
    # and for bytes that are also unreadable the mismatch is still what is reported.
    large = _large_pdf(2 << 20)
    with pytest.raises(HashMismatch):
        seal_pdf(large, expected_sha256=_sha(pdf_1p), signer=signer_rsa,
                 appearance_pdf=appearance.pdf)
    with pytest.raises(HashMismatch):
        seal_pdf(b"%PDF-1.7\n" + bytes(2 << 20), expected_sha256=_sha(pdf_1p),
                 signer=signer_rsa, appearance_pdf=appearance.pdf)
    sealed = _seal(large, signer_rsa, appearance)
    assert sealed.startswith(large)


def test_page_list_from_the_upload_puts_the_seal_on_its_page(
    signer_p256, appearance, pki, render_page
):
    from tests.signer.test_signer_pdf import nested_page_tree

    data = nested_page_tree()
    info = inspect_pdf(data)
    placement = SealPlacement(page=3, x=5, y=100, size=100)
    sealed = _seal(data, signer_p256, appearance, placement=placement, page_refs=info.page_refs)
    assert validate_pdf(sealed, [pki.root.cert_pem])[0].bottom_line
    for page in range(1, 6):
        red = _red_pixels(render_page(sealed, page))
        assert (red > 0) == (page == 3), page


@pytest.mark.parametrize("document", ["pdf_encrypted", "garbage"])
def test_unusable_documents(request, document, signer_rsa, appearance):
    data = request.getfixturevalue(document)
    with pytest.raises(InvalidDocument):
        _seal(data, signer_rsa, appearance)


@pytest.mark.parametrize(
    "placement",
    [
        SealPlacement(page=4, x=100, y=100),
        SealPlacement(page=0, x=100, y=100),
        SealPlacement(page=1, x=500, y=100),  # runs off the right edge of A4 portrait
        SealPlacement(page=1, x=-1, y=100),
        SealPlacement(page=1, x=100, y=100, size=0),
        SealPlacement(page=1, x=float("nan"), y=100),
    ],
)
def test_bad_placement(placement, signer_rsa, appearance, pdf_3p):
    with pytest.raises(InvalidPlacement):
        _seal(pdf_3p, signer_rsa, appearance, placement=placement)


def test_landscape_page_takes_a_wide_placement(signer_rsa, appearance, pdf_3p, pki):
    placement = SealPlacement(page=3, x=700, y=20)  # beyond A4 portrait width, fine in landscape
    sealed = _seal(pdf_3p, signer_rsa, appearance, placement=placement)
    assert validate_pdf(sealed, [pki.root.cert_pem])[0].bottom_line


def test_second_seal_gets_its_own_field(signer_rsa, signer_p256, appearance, pdf_1p, pki, pdfsig):
    first = _seal(pdf_1p, signer_rsa, appearance)
    second = _seal(first, signer_p256, appearance, placement=SealPlacement(1, 72, 72))
    reports = validate_pdf(second, [pki.root.cert_pem])
    assert [r.field for r in reports] == ["Seal", "Seal-2"]
    assert all(r.bottom_line for r in reports)
    assert reports[0].modification_level == "FORM_FILLING"
    assert pdfsig(second).count("Signature is Valid.") == 2


def test_bad_appearance_is_a_signing_failure(signer_rsa, pdf_1p):
    with pytest.raises(SigningFailed, match="appearance"):
        seal_pdf(
            pdf_1p, expected_sha256=_sha(pdf_1p), signer=signer_rsa, appearance_pdf=b"not a pdf"
        )


def test_signer_construction(pki, passphrase):
    with pytest.raises(KeyUnavailable):
        SealSigner.from_key_material(pki.seal_rsa, b"wrong passphrase")
    with pytest.raises(KeyUnavailable, match="does not belong"):
        SealSigner.from_key(generate_private_key("p256"), pki.seal_p256.cert_pem)

    signer = SealSigner.from_key_material(pki.seal_rsa, passphrase)
    assert signer.serial_hex == pki.seal_rsa.serial_hex
    assert "合同专用章" in repr(signer) and "PRIVATE" not in repr(signer)
    assert signer.certificate == pki.seal_rsa.certificate()


@pytest.fixture(scope="module")
def timestamper(pki, passphrase):
    """An in-process TSA with a certificate from the organisation's issuing CA."""
    issuing = pki.issuing.certificate()
    key = generate_private_key("rsa2048")
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(pki.issuing.private_key(passphrase), hashes.SHA256())
    )
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    chain = SimpleCertificateStore()
    chain.register(asn1_x509.Certificate.load(issuing.public_bytes(serialization.Encoding.DER)))
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=chain,
    )


def test_timestamped_seal(signer_rsa, appearance, pdf_1p, pki, timestamper, pdfsig):
    sealed = _seal(pdf_1p, signer_rsa, appearance, timestamper=timestamper)
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.bottom_line and report.timestamp is not None
    assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in report.summary
    assert "Signature is Valid." in pdfsig(sealed)
