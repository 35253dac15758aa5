"""Uploaded seal images: transparency checked, wrapped as a stamp that seals and validates."""

import hashlib
import io

import pytest
from PIL import Image, ImageDraw

from signer import seal_pdf, validate_pdf
from signer.uploaded import InvalidImage, appearance_from_png


def _png(mode="RGBA", background=(0, 0, 0, 0), size=(400, 400)) -> bytes:
    image = Image.new(mode, size, background)
    ImageDraw.Draw(image).ellipse((20, 20, 380, 380), outline=(210, 0, 0, 255)
                                  if mode == "RGBA" else (210, 0, 0), width=18)
    out = io.BytesIO()
    image.save(out, "PNG" if mode != "JPEG" else "JPEG")
    return out.getvalue()


def test_a_transparent_png_becomes_a_stamp_that_seals(pki, pdf_1p, signer_rsa, pdfsig):
    appearance = appearance_from_png(_png())
    assert appearance.pdf.startswith(b"%PDF")
    document = pdf_1p
    sealed = seal_pdf(document, expected_sha256=hashlib.sha256(document).hexdigest(),
                      signer=signer_rsa, appearance_pdf=appearance.pdf)
    report = validate_pdf(sealed, [pki.root.cert_pem])[0]
    assert report.intact and report.valid and report.trusted and report.bottom_line
    assert "Signature is Valid." in pdfsig(sealed)


@pytest.mark.parametrize(("data", "message"), [
    (b"not an image", "not a readable PNG"),
    (_png(mode="RGB", background=(255, 255, 255)), "no transparency"),
    (_png(background=(255, 255, 255, 255)), "corners are not transparent"),
    (_png(mode="RGBA", background=(0, 0, 0, 0), size=(10, 10)), "entirely transparent"),
], ids=["garbage", "opaque-rgb", "opaque-corners", "empty"])
def test_unusable_images_are_refused_with_the_reason(data, message):
    with pytest.raises(InvalidImage, match=message):
        appearance_from_png(data)


def test_a_jpeg_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, "JPEG")
    with pytest.raises(InvalidImage, match="must be a PNG"):
        appearance_from_png(out.getvalue())
