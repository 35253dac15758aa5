"""Before sealing, a stored square is checked once more on the very bytes being sealed, reading
only its own page (the document's page list finds it): it must refuse what the whole-document
check refuses — a square over another signature's box, outside its page's crop box, on a page
the document does not have, too small — for a request planned before these checks, too."""

from __future__ import annotations

import io

import pikepdf
import pytest
from pikepdf import Name
from sqlalchemy import update

import signer
from app.extensions import db
from processes.db import unit_of_work
from processes.errors import InvalidContent
from processes.models import Request
from processes.requests import placement
from tests.conftest import approve, make_pdf, submit

WIDGET = [300, 60, 400, 160]


def _three_pages() -> bytes:
    """Three A4 pages: page 2 lists an empty signature field "Sign" at WIDGET; page 3 shows
    only its top half (its crop box)."""
    with pikepdf.open(io.BytesIO(make_pdf(pages=3))) as pdf:
        page = pdf.pages[1]
        widget = pdf.make_indirect(pikepdf.Dictionary(
            Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig, T="Sign", F=4, Rect=WIDGET,
            P=page.obj))
        page.obj.Annots = pdf.make_indirect(pikepdf.Array([widget]))
        pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(
            Fields=pikepdf.Array([widget]), SigFlags=3))
        pdf.pages[2].obj.CropBox = [0, 421, 595, 842]
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


OVER_THE_FIELD = {"page": 2, "x": 320, "y": 80, "size": 60}


@pytest.mark.parametrize(("stored", "message"), [
    (OVER_THE_FIELD, "would cover signature field 'Sign' on page 2"),
    ({"page": 3, "x": 100, "y": 100, "size": 60}, "not inside the part of page 3"),
    ({"page": 4, "x": 100, "y": 100, "size": 60}, "has no page 4"),
    ({"page": 1, "x": 100, "y": 100, "size": 5}, "would hardly be seen"),
    ({"page": 1, "x": 100, "y": 100, "size": 60,
      "prepare": [{"field": "Later", **OVER_THE_FIELD}]}, "would cover signature field"),
    ({"page": 1, "x": 100, "y": 100, "size": 60,
      "prepare": [{"field": "Later", "page": 1, "x": 120, "y": 120, "size": 60}]},
     "prepared field 'Later' would cover placement"),
])
def test_a_square_that_does_not_fit_its_page_is_refused_reading_that_page_only(stored,
                                                                              message):
    document = _three_pages()
    page_refs = signer.inspect_pdf(document).page_refs
    for refs in (page_refs, ()):  # its own page only, and the whole document: the same answer
        with pytest.raises(InvalidContent) as refused:
            placement.confirm(stored, document, refs)
        assert message in refused.value.message


def test_a_square_that_fits_is_confirmed_reading_its_page_only():
    document = _three_pages()
    page_refs = signer.inspect_pdf(document).page_refs
    for stored in ({"page": 2, "x": 100, "y": 300, "size": 60},
                   {"page": 3, "x": 100, "y": 500, "size": 60},
                   {"page": 1, "x": 320, "y": 80, "size": 60}):  # page 1 has no field there
        placement.confirm(stored, document, page_refs)


def test_a_stored_square_over_a_signature_fails_the_request_at_sealing(app, org):
    """A request planned before the checks (its placement stored as it came) is refused by
    the sealing job, not sealed over the field."""
    rid = submit(org.alice, org.seal_id, _three_pages(),
                 placement='{"page": 1, "x": 100, "y": 100, "size": 60}').get_json()["id"]
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(Request).where(Request.id == rid)
                           .values(placement=OVER_THE_FIELD))
    approve(org.bob)
    approve(org.carol)
    done = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert done["status"] == "failed"
    assert "would cover signature field 'Sign' on page 2" in done["failure"]
