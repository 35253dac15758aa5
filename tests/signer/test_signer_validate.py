import hashlib
import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signer import InvalidDocument, create_ca_hierarchy, seal_pdf, validate_pdf


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
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    forged = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 742 Td (Contract 9999-999) Tj ET")
    page["/Contents"] = writer.add_object(forged)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
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
