"""A seal nobody sees: the requester's PDF carries an empty signature field whose box is of zero
size, off the page, hidden, outside the crop box, on no page or under an opaque annotation, and
names it in
``placement {"field": ...}``; or gives a square too small to see. Refused when the request is
made (422 on ``placement``), when its document is revised, and before sealing; a field that
shows, or a square, is sealed with its stamp where it was asked for."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from processes.errors import InvalidContent
from processes.requests import placement
from tests.conftest import approve, deploy, make_pdf, only_task, sealed_bytes, submit
from tests.pdfcheck import assert_sealed

REVISION_FLOW = Path(__file__).parent / "data" / "revision_loop" / "revision_loop.bpmn"
VISIBLE = [300, 60, 400, 160]


def _with_field(rect, *, flags: int = 4, listed: bool = True, crop=None, kids: int = 0,
                under: bool = False) -> bytes:
    """A one-page A4 PDF with an empty signature field "Sign" whose widget is at ``rect``."""
    with pikepdf.open(io.BytesIO(make_pdf())) as pdf:
        page = pdf.pages[0]

        def widget(**extra):
            return pdf.make_indirect(pikepdf.Dictionary(
                Type=Name.Annot, Subtype=Name.Widget, F=flags, Rect=rect, P=page.obj, **extra))
        if kids:
            field = pdf.make_indirect(pikepdf.Dictionary(FT=Name.Sig, T="Sign"))
            boxes = [widget(Parent=field) for _ in range(kids)]
            field.Kids = pikepdf.Array(boxes)
        else:
            field = widget(FT=Name.Sig, T="Sign")
            boxes = [field]
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
        if listed:
            page.obj.Annots = pikepdf.Array(boxes)
        if under:  # an opaque white square drawn after (so over) the field's box
            cover = pdf.make_stream(b"1 1 1 rg 0 0 10 10 re f", Type=Name.XObject,
                                    Subtype=Name.Form, BBox=[0, 0, 10, 10])
            page.obj.Annots.append(pdf.make_indirect(pikepdf.Dictionary(
                Type=Name.Annot, Subtype=Name.Square, F=4, Rect=rect,
                AP=pikepdf.Dictionary(N=cover))))
        if crop is not None:
            page.obj.CropBox = crop
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _fill(org, document: bytes, where: dict | None = None):
    return submit(org.alice, org.seal_id, document,
                  placement=json.dumps(where if where is not None else {"field": "Sign"}))


def _refused(resp, message: str) -> None:
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["problems"][0]["field"] == "placement"
    assert message in error["message"], error["message"]


def _widget_rect(data: bytes, name: str) -> list[float]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    (ref,) = [ref for n, _, ref in fields.enumerate_sig_fields(reader) if n == name]
    widget = ref.get_object()
    assert "/AP" in widget  # the stamp's appearance: something is drawn
    return [float(v) for v in widget["/Rect"]]


@pytest.mark.parametrize(("document", "message"), [
    (_with_field([0, 0, 0, 0]), "is 0 × 0 pt"),
    (_with_field([200, 200, 200, 300]), "is 0 × 100 pt"),
    (_with_field([300, 300, 305, 305]), "is 5 × 5 pt"),
    (_with_field([2000, 2000, 2100, 2100]), "not inside the part of page 1 a viewer shows"),
    (_with_field([-150, 60, -50, 160]), "not inside the part of page 1"),
    (_with_field(VISIBLE, crop=[0, 200, 595, 842]), "not inside the part of page 1"),
    (_with_field(VISIBLE, flags=4 | 2), "is hidden"),
    (_with_field(VISIBLE, flags=32), "is hidden"),
    (_with_field(VISIBLE, listed=False), "is on no page"),
    (_with_field(VISIBLE, kids=2), "has 2 boxes"),
    (_with_field(VISIBLE, under=True), "lies under another annotation"),
], ids=["zero", "zero-width", "tiny", "off-page", "left-of-page", "outside-crop-box",
        "hidden", "no-view", "on-no-page", "two-widgets", "under-an-annotation"])
def test_a_field_nobody_would_see_is_refused(org, document, message):
    resp = _fill(org, document)
    _refused(resp, message)
    assert org.bob.get("/api/v1/tasks").get_json() == []  # nothing started


def test_a_field_that_shows_is_sealed_with_its_stamp(org, trust_roots):
    resp = _fill(org, _with_field(VISIBLE))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["placement"] == {"field": "Sign"}
    approve(org.bob)
    approve(org.carol)
    sealed = sealed_bytes(org, resp.get_json()["id"])
    (report,) = assert_sealed(sealed, trust_roots)
    assert report.field == "Sign"
    assert _widget_rect(sealed, "Sign") == VISIBLE


@pytest.mark.parametrize(("where", "message"), [
    ({"page": 1, "x": 100, "y": 100, "size": 1}, "would hardly be seen"),
    ({"page": 1, "x": 100, "y": 100, "size": 19.5}, "at least 20 pt"),
])
def test_a_square_too_small_to_see_is_refused(org, pdf, where, message):
    _refused(_fill(org, pdf, where), message)


def test_a_square_outside_the_crop_box_is_refused_and_the_default_stays_inside(org):
    cropped = _with_field(VISIBLE, crop=[0, 300, 400, 842])  # the bottom and right cut off
    _refused(_fill(org, cropped, {"page": 1, "x": 440, "y": 36}), "not inside the part of page 1")
    resp = _fill(org, cropped, {})
    assert resp.status_code == 201, resp.get_json()
    spot = resp.get_json()["placement"]
    assert spot == {"page": 1, "x": 400 - 36 - 119, "y": 300 + 36, "size": 119}


def test_a_seal_may_not_cover_another(org, pdf, trust_roots, make_seal):
    first = submit(org.alice, org.seal_id, pdf)
    approve(org.bob)
    approve(org.carol)
    sealed_id = first.get_json()["id"]
    contract = sealed_bytes(org, sealed_id)
    again = {"process": "contract_seal", "seal": str(org.seal_id),
             "from_request": str(sealed_id), "data": json.dumps({"amount": 1, "purpose": "x"})}
    over = org.alice.post("/api/v1/requests", data={
        **again, "placement": json.dumps({"page": 1, "x": 420, "y": 40})},
        content_type="multipart/form-data")
    _refused(over, f"would cover signature field 'Seal{sealed_id}' on page 1")
    # By default the second seal goes beside the first, and both stay valid.
    beside = org.alice.post("/api/v1/requests", data=again,
                            content_type="multipart/form-data")
    assert beside.status_code == 201, beside.get_json()
    spot = beside.get_json()["placement"]
    first_x = 595.2756 - 36 - 119
    assert spot["y"] == 36 and spot["x"] == pytest.approx(first_x - 119 - 12, abs=0.01)
    approve(org.bob)
    approve(org.carol)
    both = sealed_bytes(org, beside.get_json()["id"])
    assert both.startswith(contract)
    reports = assert_sealed(both, trust_roots, signatures=2)
    assert reports[0].visibly_modified is False and reports[0].visible_changes[0].allowed
    # A certification may not prepare a field over its own seal, or two fields on each other.
    for prepare in ([{"field": "A", "page": 1, "x": 450, "y": 50, "size": 60}],
                    [{"field": "A", "page": 1, "x": 100, "y": 100, "size": 60},
                     {"field": "B", "page": 1, "x": 130, "y": 130, "size": 60}]):
        resp = submit(org.alice, org.seal_id, pdf,
                      placement=json.dumps({"certify": True, "prepare": prepare}))
        _refused(resp, "would cover")


def test_a_revised_document_whose_field_vanished_is_refused(org):
    assert deploy(org.designer, REVISION_FLOW).status_code == 201
    made = submit(org.alice, org.seal_id, _with_field(VISIBLE), process="revision_loop",
                  data={}, placement=json.dumps({"field": "Sign"}))
    assert made.status_code == 201, made.get_json()
    task = only_task(org.carol)
    assert org.carol.post(f"/api/v1/tasks/{task['id']}/complete",
                          json={"decision": "return"}).status_code == 200
    revise = only_task(org.alice)
    resp = org.alice.post(f"/api/v1/tasks/{revise['id']}/complete", data={
        "decision": "approve", "document": (io.BytesIO(_with_field([0, 0, 0, 0])), "v2.pdf")},
        content_type="multipart/form-data")
    _refused(resp, "is 0 × 0 pt")
    assert only_task(org.alice)["id"] == revise["id"]  # nothing was half-done


def test_sealing_confirms_the_placement_again():
    """A request planned before these checks (or any stored placement) is checked once more
    on the very bytes being sealed."""
    placement.confirm({"field": "Sign"}, _with_field(VISIBLE))
    placement.confirm({"page": 1, "x": 10, "y": 10, "size": 119}, make_pdf())
    for planned, document in (({"field": "Sign"}, _with_field([0, 0, 0, 0])),
                              ({"page": 1, "x": 10, "y": 10, "size": 2}, make_pdf())):
        with pytest.raises(InvalidContent) as refused:
            placement.confirm(planned, document)
        assert refused.value.problems[0]["field"] == "placement"
