import hashlib
import io

import pikepdf
import pytest

from signer import InvalidDocument, PdfInfo, inspect_pdf


def test_inspect_one_page(pdf_1p):
    info = inspect_pdf(pdf_1p)
    assert info == PdfInfo(
        pages=1,
        page_sizes=((pytest.approx(595.28, abs=0.01), pytest.approx(841.89, abs=0.01)),),
        sha256=hashlib.sha256(pdf_1p).hexdigest(),
    )


def test_inspect_three_pages_with_landscape(pdf_3p):
    info = inspect_pdf(pdf_3p)
    assert info.pages == 3
    (w1, h1), (w2, h2), (w3, h3) = info.page_sizes
    assert w1 < h1 and w2 < h2
    assert w3 > h3 and round(w3) == 842


def test_inherited_media_box_and_nested_page_tree():
    pdf = pikepdf.new()
    for _ in range(3):
        pdf.add_blank_page(page_size=(200, 300))
    for page in pdf.pages:
        del page.obj.MediaBox
    pdf.Root.Pages.MediaBox = pikepdf.Array([0, 0, 400, 500])
    out = io.BytesIO()
    pdf.save(out)
    info = inspect_pdf(out.getvalue())
    assert info.page_sizes == ((400.0, 500.0),) * 3


def test_not_a_pdf(garbage):
    with pytest.raises(InvalidDocument, match="not a PDF"):
        inspect_pdf(garbage)
    with pytest.raises(InvalidDocument, match="not a PDF"):
        inspect_pdf(b"")


def test_encrypted(pdf_encrypted):
    with pytest.raises(InvalidDocument, match="encrypted PDFs cannot be sealed; remove the pass"):
        inspect_pdf(pdf_encrypted)


@pytest.mark.parametrize(
    "mangle",
    [lambda d: d[: len(d) // 2], lambda d: b"%PDF-1.7\n" + b"\x00garbage" * 100],
    ids=["truncated", "header-only"],
)
def test_damaged(pdf_1p, mangle):
    with pytest.raises(InvalidDocument, match="damaged"):
        inspect_pdf(mangle(pdf_1p))


def test_no_pages():
    out = io.BytesIO()
    pikepdf.new().save(out)
    with pytest.raises(InvalidDocument, match="no pages"):
        inspect_pdf(out.getvalue())
