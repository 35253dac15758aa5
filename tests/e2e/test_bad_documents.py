"""Bad documents are answered clearly (422/413) and leave nothing behind: no request, no stored
file, no audit event. A hybrid-xref PDF (as MS Word writes them) is sealed correctly."""

from __future__ import annotations

import io

import pikepdf
from sqlalchemy import func, select

from app.context import env
from app.extensions import db
from processes.models import AuditEvent, Document, Request
from tests.conftest import approve, submit
from tests.pdfcheck import assert_sealed
from tests.signer.test_signer_validate import hybrid_xref_pdf


def _nothing_written(app) -> None:
    with app.app_context():
        counts = [db.session.execute(select(func.count()).select_from(m)).scalar()
                  for m in (Request, Document)]
        events = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.created")).scalar()
        stored = list((env().data_dir / "documents").rglob("*.pdf")) \
            if (env().data_dir / "documents").exists() else []
    assert counts == [0, 0] and events == 0 and stored == []


def _encrypted(pdf: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.save(out, encryption=pikepdf.Encryption(owner="owner-pw", user="", R=6))
    return out.getvalue()


def test_an_encrypted_pdf_is_refused_and_nothing_is_kept(app, org, pdf):
    resp = submit(org.alice, org.seal_id, _encrypted(pdf))
    assert resp.status_code == 422
    assert "encrypted" in resp.get_json()["error"]["message"]
    _nothing_written(app)


def test_a_damaged_pdf_is_refused_and_nothing_is_kept(app, org, pdf):
    for damaged in (pdf[: len(pdf) // 2], b"%PDF-1.7\n" + b"\x00" * 2000,
                    pdf.replace(b"/Pages", b"/Pagez")):
        resp = submit(org.alice, org.seal_id, damaged)
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["error"]["problems"][0]["field"] == "document"
    _nothing_written(app)


def test_a_huge_upload_is_413_and_nothing_is_kept(app, org, pdf):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    resp = submit(org.alice, org.seal_id, pdf + b"%" + b"x" * (128 * 1024) + b"\n")
    assert resp.status_code == 413
    _nothing_written(app)


def test_a_hybrid_xref_pdf_is_sealed_and_validates(org, trust_roots):
    hybrid = hybrid_xref_pdf()
    created = submit(org.alice, org.seal_id, hybrid)
    assert created.status_code == 201, created.get_json()
    approve(org.bob)
    approve(org.carol)
    resp = org.alice.get(f"/api/v1/requests/{created.get_json()['id']}/sealed")
    sealed = resp.data
    resp.close()
    assert sealed.startswith(hybrid)
    assert_sealed(sealed, trust_roots)
