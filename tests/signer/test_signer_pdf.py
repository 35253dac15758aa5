import hashlib
import io

import pikepdf
import pytest

from signer import InvalidDocument, PdfInfo, inspect_pdf
from signer.pdf import open_pdf


def test_inspect_one_page(pdf_1p):
    info = inspect_pdf(pdf_1p)
    with pikepdf.open(io.BytesIO(pdf_1p)) as pdf:
        page_ref = pdf.Root.Pages.Kids[0].objgen
    assert info == PdfInfo(
        pages=1,
        page_sizes=((pytest.approx(595.28, abs=0.01), pytest.approx(841.89, abs=0.01)),),
        sha256=hashlib.sha256(pdf_1p).hexdigest(),
        page_refs=(page_ref,),
    )


def nested_page_tree() -> bytes:
    """Five pages in a page tree two levels deep, page sizes telling them apart:
    root -> [node(p1, node(p2, p3)), p4, node(p5)], each page 100 + 10 n points wide; the
    root and the first node carry their own /Resources."""
    pdf = pikepdf.new()
    for n in range(1, 6):
        pdf.add_blank_page(page_size=(100 + 10 * n, 300))
        del pdf.pages[-1].obj.Resources
    pages = [page.obj for page in pdf.pages]
    root = pdf.Root.Pages

    def node(parent, kids):
        made = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Pages, Kids=pikepdf.Array(kids), Parent=parent, Count=0))
        for kid in kids:
            kid.Parent = made
        return made

    first = node(root, [pages[0]])
    inner = node(first, [pages[1], pages[2]])
    first.Kids.append(inner)
    first.Count, inner.Count = 3, 2
    first.Resources = pikepdf.Dictionary(Marker=pikepdf.Name.First)
    last = node(root, [pages[4]])
    last.Count = 1
    root.Kids = pikepdf.Array([first, pages[3], last])
    pages[3].Parent = root
    root.Resources = pikepdf.Dictionary(Marker=pikepdf.Name.Root)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_page_list_finds_pages_as_the_page_tree_walk_does():
    data = nested_page_tree()
    info = inspect_pdf(data)
    assert [round(w) for w, _ in info.page_sizes] == [110, 120, 130, 140, 150]
    assert len(info.page_refs) == 5 and len(set(info.page_refs)) == 5
    walked, known = open_pdf(data), open_pdf(data, page_refs=info.page_refs)
    for index in (*range(5), -1, -5):
        by_walk, by_list = walked.find_page_for_modification(index), \
            known.find_page_for_modification(index)
        assert by_list[0].reference == by_walk[0].reference
        assert by_list[1] == by_walk[1]
        parent_walk, parent_list = walked.find_page_container(index), \
            known.find_page_container(index)
        assert parent_list[0].reference == parent_walk[0].reference
        assert parent_list[1:] == parent_walk[1:]
    # Pages 1 to 3 inherit the first node's resources, pages 4 and 5 the root's.
    assert str(known.find_page_for_modification(2)[1].get_object()["/Marker"]) == "/First"
    assert str(known.find_page_for_modification(4)[1].get_object()["/Marker"]) == "/Root"
    with pytest.raises(Exception, match="out of range"):
        known.find_page_for_modification(5)


def test_a_page_list_that_does_not_fit_is_ignored(pdf_3p):
    info = inspect_pdf(pdf_3p)
    with pikepdf.open(io.BytesIO(pdf_3p)) as pdf:
        catalog = pdf.Root.objgen
    # Objects that are not pages, or not there at all: the page tree walk decides.
    for wrong in ((catalog,) * 3, ((9999, 0),) * 3):
        reader = open_pdf(pdf_3p, page_refs=wrong)
        for index in range(3):
            ref, _ = reader.find_page_for_modification(index)
            assert (ref.reference.idnum, ref.reference.generation) == info.page_refs[index]


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
