"""B-B and B-T seals write only the incremental update after the original bytes, and their
byte-range digest goes on from the approved bytes' SHA-256: the same signature as pyHanko's own
path, checked by pyHanko and by the byte ranges themselves."""

from __future__ import annotations

import hashlib
import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

import signer.appended as appended
from signer import HashMismatch, SealPlacement, seal_pdf, validate_pdf
from signer.appended import AppendedOutput


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_original_bytes_are_never_written_again():
    out = AppendedOutput(b"%PDF-1.7 original")
    assert out.tell() == 17
    out.write(b" update")
    out.seek(17 + 1)
    out.write(b"U")
    assert out.getvalue() == b"%PDF-1.7 original Update"
    out.seek(0)  # pyHanko seeks back to 0 when it is done; that is allowed
    with pytest.raises(io.UnsupportedOperation):
        out.write(b"x")
    assert out.getvalue() == b"%PDF-1.7 original Update"


def test_the_seal_is_the_approved_bytes_then_the_update(signer_rsa, appearance, pdf_3p, pki,
                                                        monkeypatch):
    used = []
    real = appended.fill_after
    monkeypatch.setattr(appended, "fill_after", lambda *a: used.append(a) or real(*a))
    sealed = seal_pdf(pdf_3p, expected_sha256=_sha(pdf_3p), signer=signer_rsa,
                      appearance_pdf=appearance.pdf, placement=SealPlacement(2, 72, 72))
    assert len(used) == 1  # the appended path, not pyHanko's copy
    assert sealed.startswith(pdf_3p)
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.bottom_line, report.summary
    # The signed byte range covers the whole file but the signature itself.
    (embedded,) = PdfFileReader(io.BytesIO(sealed), strict=False).embedded_signatures
    a, b, c, d = embedded.sig_object["/ByteRange"]
    assert a == 0 and c + d == len(sealed) and b > len(pdf_3p)


def test_bytes_that_are_not_the_approved_ones_are_never_signed(signer_rsa, appearance, pdf_1p,
                                                               monkeypatch):
    signed = []
    monkeypatch.setattr(signer_rsa.pyhanko_signer, "sign_raw",
                        lambda *a, **k: signed.append(a) or b"")
    from tests.signer.test_signer_pades import _large_pdf

    big = _large_pdf(2 << 20)  # a readable PDF, over the threaded check's threshold
    with pytest.raises(HashMismatch):
        seal_pdf(big, expected_sha256=_sha(pdf_1p), signer=signer_rsa,
                 appearance_pdf=appearance.pdf)
    assert signed == []
