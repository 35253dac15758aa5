"""signer.overlays: which later annotations count as drawn over the page, and what happens when
the analysis cannot be done."""

from __future__ import annotations

import hashlib
import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signer import SealPlacement, SealSettings, layout, overlays, seal_pdf, validate_pdf


def _n(name: str) -> generic.NameObject:
    return generic.NameObject(name)


@pytest.fixture(scope="module")
def sealed(pdf_1p, signer_rsa, appearance) -> bytes:
    return seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(),
                    signer=signer_rsa, appearance_pdf=appearance.pdf)


def _square(data: bytes, rect, *, flags: int = 4, crop=None) -> bytes:
    """A later revision adding a Square annotation (with an appearance) at ``rect``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    ap = writer.add_object(generic.StreamObject({
        _n("/Type"): _n("/XObject"), _n("/Subtype"): _n("/Form"),
        _n("/BBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, 10, 10)]),
    }, stream_data=b"1 1 1 rg 0 0 10 10 re f"))
    annot = writer.add_object(generic.DictionaryObject({
        _n("/Type"): _n("/Annot"), _n("/Subtype"): _n("/Square"),
        _n("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in rect]),
        _n("/F"): generic.NumberObject(flags),
        _n("/AP"): generic.DictionaryObject({_n("/N"): ap})}))
    writer.register_annotation(page_ref, annot)
    if crop is not None:
        page = page_ref.get_object()
        page[_n("/CropBox")] = generic.ArrayObject([generic.FloatObject(v) for v in crop])
        writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_only_what_a_viewer_shows_counts(sealed, pki):
    cases = {
        "shown": (_square(sealed, (100, 100, 200, 200)), 1),
        "hidden": (_square(sealed, (100, 100, 200, 200), flags=2), 0),
        "no-view": (_square(sealed, (100, 100, 200, 200), flags=32 | 4), 0),
        "no area": (_square(sealed, (100, 100, 100, 200)), 0),
        "off the page": (_square(sealed, (-300, 100, -200, 200)), 0),
    }
    for what, (data, expected) in cases.items():
        (report,) = validate_pdf(data, [pki.root.cert_pem])
        assert report.modification_level == "OTHER", what  # pyHanko: an annotation added
        assert len(report.visible_changes) == expected, (what, report.visible_changes)
        assert not report.bottom_line
    (report,) = validate_pdf(cases["shown"][0], [pki.root.cert_pem])
    (change,) = report.visible_changes
    assert (change.page, change.rect, change.kind, change.subtype, change.revision) == (
        1, (100.0, 100.0, 200.0, 200.0), "annotation", "Square", 3)


def test_the_part_inside_the_crop_box_is_reported(sealed, pki):
    data = _square(sealed, (100, 100, 300, 300), crop=(0, 200, 595, 842))
    (report,) = validate_pdf(data, [pki.root.cert_pem])
    (change,) = report.visible_changes
    assert change.rect == (100.0, 200.0, 300.0, 300.0)


def test_an_unchanged_page_rewritten_is_no_change(sealed, pki, signer_p256, appearance):
    """A later seal rewrites the page (its annotation list grows): the first seal's stamp and
    the page's other annotations are the same as they were, so nothing new is reported but
    the later stamp."""
    shown = _square(sealed, (100, 100, 200, 200))
    later = seal_pdf(shown, expected_sha256=hashlib.sha256(shown).hexdigest(),
                     signer=signer_p256, appearance_pdf=appearance.pdf,
                     placement=SealPlacement(page=1, x=300, y=400, size=100),
                     settings=SealSettings(field_name="Later"))
    first, second = validate_pdf(later, [pki.root.cert_pem])
    assert [c.kind for c in first.visible_changes] == ["annotation", "signature"]
    assert second.visible_changes == () and second.bottom_line


def test_a_file_too_complex_to_analyse_passes_no_signature(sealed, pki, monkeypatch):
    data = _square(sealed, (100, 100, 200, 200), flags=2)  # hidden: only pyHanko minds
    monkeypatch.setattr(overlays, "MAX_NODES", 3)
    (report,) = validate_pdf(data, [pki.root.cert_pem])
    assert report.visible_changes is None and report.visibly_modified is None
    assert not report.bottom_line
    (untouched,) = validate_pdf(sealed, [pki.root.cert_pem])  # nothing after it: no analysis
    assert untouched.bottom_line and untouched.visible_changes == ()


def test_layout_reads_the_pages_and_signature_widgets(sealed):
    found = layout(sealed)
    (area,) = found.pages
    assert area.media == area.visible == (0.0, 0.0, 595.2756, 841.8898)
    (widget,) = found.widgets
    assert (widget.field, widget.page, widget.shown, widget.signed) == ("Seal", 1, True, True)
    assert widget.rect == pytest.approx((440.2756, 36.0, 559.2756, 155.0))
