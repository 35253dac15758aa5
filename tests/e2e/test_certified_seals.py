"""Several seals on one document, the first certifying it: the contract seal certifies and
prepares the legal representative's field; the second request fills that field; both stay valid,
and anything else is refused when the request is made, saying why."""

from __future__ import annotations

import io
import json

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from tests.conftest import approve, seal_one, sealed_bytes, submit
from tests.pdfcheck import assert_sealed

LEGAL_REP = {"field": "LegalRep", "page": 1, "x": 300, "y": 60, "size": 100}
CERTIFY = {"certify": True, "prepare": [LEGAL_REP]}


def _submit(org, seal_id: int, pdf: bytes, placement: dict):
    return submit(org.alice, seal_id, pdf, placement=json.dumps(placement))


def _rect(data: bytes, name: str) -> list[float]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    (ref,) = [ref for n, _, ref in fields.enumerate_sig_fields(reader) if n == name]
    return [float(v) for v in ref.get_object()["/Rect"]]


def _from(org, seal_id: int, earlier: int, placement: dict | None):
    form = {"process": "contract_seal", "seal": str(seal_id), "from_request": str(earlier),
            "data": json.dumps({"amount": 50000, "purpose": "法定代表人章"})}
    if placement is not None:
        form["placement"] = json.dumps(placement)
    return org.alice.post("/api/v1/requests", data=form, content_type="multipart/form-data")


def test_contract_seal_certifies_then_the_legal_representative_fills_its_field(
        org, pdf, make_seal, trust_roots):
    first = _submit(org, org.seal_id, pdf, CERTIFY)
    assert first.status_code == 201, first.get_json()
    approve(org.bob)
    approve(org.carol)
    contract = sealed_bytes(org, first.get_json()["id"])
    (report,) = assert_sealed(contract, trust_roots)
    assert report.docmdp == "FILL_FORMS"

    legal_rep_seal = make_seal(["carol"], name="张三（法定代表人）")
    # A certified document takes no seal of its own place: only its prepared field.
    anywhere = _from(org, legal_rep_seal, first.get_json()["id"], None)
    assert anywhere.status_code == 422
    assert "LegalRep" in anywhere.get_json()["error"]["message"]
    wrong = _from(org, legal_rep_seal, first.get_json()["id"], {"field": "Witness"})
    assert wrong.status_code == 422 and "no empty signature field 'Witness'" in \
        wrong.get_json()["error"]["message"]
    again = _from(org, legal_rep_seal, first.get_json()["id"], {"certify": True})
    assert again.status_code == 422

    second = _from(org, legal_rep_seal, first.get_json()["id"], {"field": "LegalRep"})
    assert second.status_code == 201, second.get_json()
    approve(org.bob)
    approve(org.carol)
    both = sealed_bytes(org, second.get_json()["id"])
    assert both.startswith(contract)
    reports = assert_sealed(both, trust_roots, signatures=2)
    assert [r.field for r in reports] == [f"Seal{first.get_json()['id']}", "LegalRep"]
    assert reports[0].docmdp == "FILL_FORMS" and reports[0].modification_level == "FORM_FILLING"
    assert not any(r.modified_after for r in reports)
    x1, y1, x2, _ = _rect(both, "LegalRep")
    assert (x1, y1, x2 - x1) == (LEGAL_REP["x"], LEGAL_REP["y"], LEGAL_REP["size"])


def test_a_certification_plan_that_cannot_hold_is_refused(org, pdf):
    cases = [
        ({"certify": True, "prepare": [{**LEGAL_REP, "field": "1bad"}]}, "name"),
        ({"certify": True, "prepare": [{**LEGAL_REP, "x": 5000}]}, "prepared field 'LegalRep'"),
        ({"certify": True, "prepare": [LEGAL_REP, LEGAL_REP]}, "already has a field"),
        ({"field": "LegalRep"}, "no empty signature field"),
        ({"field": "LegalRep", "x": 1}, "only {\"field\": NAME}"),
        ({"page": 1}, "needs numbers page, x, y"),
        ({"page": 1, "x": 1, "y": 1, "colour": "red"}, "not colour"),
    ]
    for placement, message in cases:
        resp = _submit(org, org.seal_id, pdf, placement)
        assert resp.status_code == 422, (placement, resp.get_json())
        assert message in resp.get_json()["error"]["message"], resp.get_json()
    # Certifying needs the first signature: a sealed document is signed already.
    body = seal_one(org, pdf)
    resp = _from(org, org.seal_id, body["id"], {"certify": True})
    assert resp.status_code == 422 and "first signature" in resp.get_json()["error"]["message"]
