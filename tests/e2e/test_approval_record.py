"""The approval travels with the document: the sealed PDF carries its approval record inside
what the signature covers, and /verify shows it (the PDF alone proves who authorized it)."""

from __future__ import annotations

import hashlib
import io
import json

from signer.pdf import open_pdf
from signer.record import RECORD_KEY, approval_records
from tests.conftest import approve, submit


def test_the_sealed_pdf_carries_who_authorized_it(org, pdf, client):
    req = submit(org.alice, org.seal_id, pdf, data={"amount": 2_000_000, "purpose": "框架"}
                 ).get_json()
    approve(org.bob)
    approve(org.lily, legal_opinion="可")
    approve(org.carol, "准予用印")
    resp = org.alice.get(f"/api/v1/requests/{req['id']}/sealed")
    sealed = resp.data
    resp.close()
    reader = open_pdf(sealed)
    record = approval_records(reader)[f"Seal{req['id']}"]
    assert record["request"] == req["id"]
    assert record["process"] == {"key": "contract_seal", "version": 1}
    assert record["document_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert [(a["element"], a["by"], a["decision"]) for a in record["approvals"]] == [
        ("dept_head_approve", "bob", "approve"), ("legal_review", "lily", "approve"),
        ("custodian_approve", "carol", "approve")]
    # It sits in the signature dictionary, inside the byte range the signature covers.
    sig = reader.embedded_signatures[0]
    start = sealed.index(RECORD_KEY.encode())
    (a, b), (c, d) = zip(*[iter(sig.sig_object["/ByteRange"])] * 2, strict=True)
    assert a <= start < a + b or c <= start < c + d

    verdict = client.post("/api/v1/verify", data={"file": (io.BytesIO(sealed), "s.pdf")},
                          content_type="multipart/form-data").get_json()["signatures"][0]
    assert verdict["bottom_line"] is True
    assert verdict["record"]["request"] == req["id"]
    assert verdict["record_matches"] is True


def test_a_record_added_after_sealing_is_not_taken_for_the_seals(org, pdf, client):
    """Another record appended later (here as an embedded file) is not the seal's."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    submit(org.alice, org.seal_id, pdf)
    approve(org.bob)
    approve(org.carol)
    listed = org.alice.get("/api/v1/requests").get_json()[0]
    resp = org.alice.get(f"/api/v1/requests/{listed['id']}/sealed")
    sealed = resp.data
    resp.close()
    # Someone appends a forged record claiming other approvers.
    forged = json.dumps({"field": f"Seal{listed['id']}", "approvals": [{"by": "mallory"}],
                         "document_sha256": "0" * 64}).encode()
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed), strict=False)
    stream = embed.EmbeddedFileObject.from_file_data(writer, forged)
    embed.embed_file(writer, embed.FileSpec(file_spec_string="sealflow-approval-999.json",
                                            embedded_data=stream))
    out = io.BytesIO()
    writer.write(out)
    verdict = client.post("/api/v1/verify", data={"file": (io.BytesIO(out.getvalue()), "f.pdf")},
                          content_type="multipart/form-data").get_json()["signatures"][0]
    assert [a["by"] for a in verdict["record"]["approvals"]] == ["bob", "carol"]
    assert verdict["modified_after"] is True


def test_a_second_seal_carries_its_own_record_and_leaves_the_first_valid(org, pdf, client):
    first = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    resp = org.alice.get(f"/api/v1/requests/{first['id']}/sealed")
    once = resp.data
    resp.close()
    second = org.alice.post("/api/v1/requests", data={
        "process": "contract_seal", "seal": str(org.seal_id), "from_request": str(first["id"]),
        "data": json.dumps({"amount": 10, "purpose": "second"}),
        "placement": json.dumps({"page": 1, "x": 72, "y": 72})},
        content_type="multipart/form-data").get_json()
    approve(org.bob)
    approve(org.carol)
    resp = org.alice.get(f"/api/v1/requests/{second['id']}/sealed")
    twice = resp.data
    resp.close()
    rows = client.post("/api/v1/verify", data={"file": (io.BytesIO(twice), "t.pdf")},
                       content_type="multipart/form-data").get_json()["signatures"]
    assert [r["record"]["request"] for r in rows] == [first["id"], second["id"]]
    assert all(r["bottom_line"] and r["record_matches"] for r in rows)
    assert rows[1]["record"]["document_sha256"] == hashlib.sha256(once).hexdigest()
