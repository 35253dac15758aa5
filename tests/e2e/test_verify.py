"""Public verification: POST /api/v1/verify and the /verify page, without logging in."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import func, select

import signer
from app.extensions import db
from app.ratelimit import TokenBucket
from processes.models import Document
from tests.conftest import approve, make_pdf, submit
from tests.signer import damage
from tests.signer.test_signer_validate import hybrid_xref_pdf

SEAL_NAME = "测试科技有限公司合同专用章"


def _seal_through_flow(org, document: bytes) -> tuple[int, bytes]:
    """Alice asks, Bob and Carol approve; the request id and the sealed PDF."""
    resp = submit(org.alice, org.seal_id, document)
    assert resp.status_code == 201, resp.get_json()
    request_id = resp.get_json()["id"]
    assert approve(org.bob).status_code == 200
    assert approve(org.carol, "准予用印").status_code == 200
    sealed = org.alice.get(f"/api/v1/requests/{request_id}/sealed")
    assert sealed.status_code == 200, sealed.get_json()
    data = sealed.data
    sealed.close()
    return request_id, data


@pytest.fixture
def sealed(org, pdf) -> tuple[int, bytes]:
    return _seal_through_flow(org, pdf)


def _verify(client, data: bytes, filename: str = "contract.pdf", **kw):
    return client.post("/api/v1/verify", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", **kw)


def _archive_state(app) -> tuple[int, list[Path]]:
    """Document rows and stored files: verification must change neither."""
    with app.app_context():
        rows = db.session.execute(select(func.count()).select_from(Document)).scalar_one()
        db.session.rollback()
    files = sorted(Path(app.config["DATA_DIR"]).glob("documents/**/*"))
    return rows, files


def _replace_page_text(data: bytes, text: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 760 Td (" + text + b") Tj ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_our_sealed_document_verifies_with_its_approval_record(app, client, org, sealed):
    request_id, data = sealed
    before = _archive_state(app)
    resp = _verify(client, data)  # no token, no session
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    (row,) = body["signatures"]
    assert row["field"] == f"Seal{request_id}"
    assert row["signer"] == SEAL_NAME
    assert row["intact"] is row["valid"] is row["trusted"] is True
    assert row["modified_after"] is False and row["bottom_line"] is True
    assert row["modification_level"] == "NONE" and row["coverage"] == "ENTIRE_FILE"
    assert row["signed_at"] and re.search(r"[+-]\d\d:\d\d$", row["signed_at"])
    assert row["seal"] == {"id": org.seal_id, "name": SEAL_NAME, "type": "合同专用章",
                           "status": "active"}
    approval = row["approval"]
    assert approval["request_id"] == request_id
    assert (approval["process"], approval["version"]) == ("contract_seal", 1)
    assert approval["sealed_at"] and approval["identical"] is True
    assert approval["sealed_sha256"] == body["sha256"]
    assert [(a["by"], a["decision"], a["element"]) for a in approval["approvals"]] == [
        ("bob", "approve", "dept_head_approve"), ("carol", "approve", "custodian_approve")]
    assert all(a["at"] for a in approval["approvals"])
    # Public: the record says who approved what, never the request's data or documents.
    assert "data" not in approval and "filename" not in approval
    assert "采购合同" not in resp.text
    assert _archive_state(app) == before


def test_a_flipped_byte_in_the_signed_range_breaks_the_seal(client, sealed):
    _, data = sealed
    at = data.index(b"ReportLab Generated")
    flipped = data[:at] + b"X" + data[at + 1:]
    (row,) = _verify(client, flipped).get_json()["signatures"]
    assert row["intact"] is False and row["bottom_line"] is False
    assert row["approval"] is None  # those bytes were never sealed here


@pytest.mark.parametrize(("spoil", "expected", "reason"), [
    # The signed bytes are untouched; the signature value over them is not the seal's.
    (damage.flipped_signature_value,
     {"intact": True, "valid": False, "coverage": "ENTIRE_FILE", "modified_after": False,
      "signer": SEAL_NAME}, "INVALID"),
    # The /ByteRange no longer reaches the end of the file.
    (damage.short_byte_range,
     {"intact": False, "valid": True, "coverage": "CONTIGUOUS_BLOCK_FROM_START",
      "modified_after": True}, "INVALID"),
    # The CMS object cannot be read: no signer, no seal, and the reason.
    (damage.truncated_signature,
     {"intact": False, "valid": False, "coverage": "UNKNOWN", "modified_after": None,
      "signer": "", "seal": None}, "INVALID: signer_infos should contain exactly one entry"),
    # It reads, but what validation needs is missing.
    (damage.without_message_digest,
     {"intact": False, "valid": False, "coverage": "UNKNOWN", "modified_after": None},
     "INVALID: Message digest not found in signature"),
    (damage.unknown_signer,
     {"intact": False, "valid": False, "coverage": "UNKNOWN", "signer": "", "seal": None},
     "INVALID: signer certificate not included in signature"),
], ids=["signature value", "byte range", "truncated CMS", "no digest", "unknown signer"])
def test_a_damaged_signature_is_reported(app, client, sealed, spoil, expected, reason):
    request_id, data = sealed
    before = _archive_state(app)
    resp = _verify(client, spoil(data))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["message"] == "1 signature(s), 1 not valid"
    (row,) = body["signatures"]
    assert row["field"] == f"Seal{request_id}"
    assert {k: row[k] for k in expected} == expected
    assert row["trusted"] is False and row["bottom_line"] is False
    assert row["summary"].startswith(reason)
    # Those bytes were never sealed here: no archive record is vouched for, and the record the
    # signature carries is not confirmed by it (the page says so instead of a green badge).
    assert row["approval"] is None
    assert row["record_matches"] is False and row["record_confirmed"] is False
    page = client.post("/verify", data={"file": (io.BytesIO(spoil(data)), "x.pdf")},
                       content_type="multipart/form-data").text
    assert "Matches the document as approved" not in page
    assert _archive_state(app) == before


def test_changing_the_page_after_sealing_is_modified_after(client, sealed):
    request_id, data = sealed
    forged = _replace_page_text(data, b"Contract 9999-999 page 1")
    assert forged.startswith(data)
    (row,) = _verify(client, forged).get_json()["signatures"]
    assert row["intact"] is row["valid"] is row["trusted"] is True
    assert row["modified_after"] is True and row["bottom_line"] is False
    assert row["modification_level"] == "OTHER" and row["coverage"] == "ENTIRE_REVISION"
    # The signed revision is the archived sealed document: the record is still found.
    assert row["approval"]["request_id"] == request_id
    assert row["approval"]["identical"] is False


def test_a_foreign_seal_is_not_trusted_and_not_ours(client, org, pdf, pki_material):
    passphrase = b"someone else's passphrase"
    _, issuing = signer.create_ca_hierarchy("别家有限公司", passphrase, key_type="p256")
    km = signer.issue_seal_certificate(issuing, passphrase, seal_name="别家有限公司合同专用章",
                                       org_name="别家有限公司", key_type="p256")
    foreign = signer.seal_pdf(
        pdf, expected_sha256=hashlib.sha256(pdf).hexdigest(),
        signer=signer.SealSigner.from_key_material(km, passphrase, [issuing.cert_pem]),
        appearance_pdf=pki_material["appearance"].pdf)
    (row,) = _verify(client, foreign).get_json()["signatures"]
    assert row["signer"] == "别家有限公司合同专用章"
    assert row["intact"] is True and row["valid"] is True
    assert row["trusted"] is False and row["bottom_line"] is False
    assert row["seal"] is None and row["approval"] is None


def test_a_look_alike_certificate_is_not_our_seal(client, org, pdf, pki_material):
    """Same serial number and name as our seal's certificate, but issued by someone else."""
    ours = pki_material["seal"].certificate()
    key = signer.generate_private_key("p256")
    now = datetime.datetime.now(datetime.UTC)
    fake = (x509.CertificateBuilder()
            .subject_name(ours.subject).issuer_name(ours.issuer)
            .public_key(key.public_key()).serial_number(ours.serial_number)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    passphrase = b"look-alike"
    km = signer.KeyMaterial(fake.public_bytes(serialization.Encoding.PEM),
                            signer.encrypt_private_key(key, passphrase))
    forged = signer.seal_pdf(
        pdf, expected_sha256=hashlib.sha256(pdf).hexdigest(),
        signer=signer.SealSigner.from_key_material(km, passphrase, []),
        appearance_pdf=pki_material["appearance"].pdf)
    (row,) = _verify(client, forged).get_json()["signatures"]
    assert row["signer"] == SEAL_NAME
    assert row["certificate_serial"] == pki_material["seal"].serial_hex
    assert row["trusted"] is False and row["bottom_line"] is False
    assert row["seal"] is None and row["approval"] is None


def test_a_second_seal_is_matched_to_its_own_request(client, org, sealed):
    first_id, first = sealed
    second_id, second = _seal_through_flow(org, first)
    rows = _verify(client, second).get_json()["signatures"]
    assert [r["field"] for r in rows] == [f"Seal{first_id}", f"Seal{second_id}"]
    assert all(r["bottom_line"] and r["modified_after"] is False for r in rows)
    assert rows[0]["modification_level"] == "FORM_FILLING"
    assert [r["approval"]["request_id"] for r in rows] == [first_id, second_id]
    assert [r["approval"]["identical"] for r in rows] == [False, True]


def test_a_timestamped_seal_reports_its_timestamp(client, org, pdf, live_tsa):
    request_id, data = _seal_through_flow(org, pdf)
    (row,) = _verify(client, data).get_json()["signatures"]
    assert row["bottom_line"] is True and row["approval"]["request_id"] == request_id
    assert row["timestamp"]["intact"] is True and row["timestamp"]["trusted"] is True
    assert re.search(r"[+-]\d\d:\d\d$", row["timestamp"]["time"])


def test_unsigned_pdf_has_no_signatures(client, pdf):
    resp = _verify(client, pdf)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["signatures"] == []
    assert "no signatures" in body["message"]
    # The verdict's sentence in the caller's language.
    zh = _verify(client, pdf, headers={"Accept-Language": "zh-CN"}).get_json()
    assert zh["message"] == "该 PDF 没有签名：它不带电子印章"


def test_bad_input_gets_a_clear_422_and_nothing_is_stored(app, client, pdf, sealed):
    _, data = sealed
    before = _archive_state(app)

    missing = client.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert missing.get_json()["error"]["problems"] == [{"field": "file", "message": "required"}]

    garbage = _verify(client, b"GIF89a this is not a PDF at all" * 10)
    assert garbage.status_code == 422
    error = garbage.get_json()["error"]
    assert error["code"] == "invalid" and "not a PDF" in error["message"]
    assert error["problems"][0]["field"] == "file"

    assert _verify(client, b"").status_code == 422

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.save(out, encryption=pikepdf.Encryption(owner="owner-pw", user="user-pw", R=6))
    encrypted = _verify(client, out.getvalue())
    assert encrypted.status_code == 422
    assert "encrypted" in encrypted.get_json()["error"]["message"]

    # A file cut short is no PDF any more: a 422 that says so, never a 500 (a damaged
    # signature in a file that is still a PDF: test_a_damaged_signature_is_reported below).
    for cut in (len(data) // 2, len(data) - 60):
        damaged = _verify(client, data[:cut])
        assert damaged.status_code == 422, damaged.get_json()
        assert damaged.get_json()["error"]["problems"][0]["field"] == "file"

    assert _archive_state(app) == before


def test_hybrid_xref_files_are_handled(client, org):
    hybrid = hybrid_xref_pdf()
    resp = _verify(client, hybrid)
    assert resp.status_code == 200 and resp.get_json()["signatures"] == []
    request_id, data = _seal_through_flow(org, hybrid)
    (row,) = _verify(client, data).get_json()["signatures"]
    assert row["bottom_line"] is True and row["modified_after"] is False
    assert row["approval"]["request_id"] == request_id


def test_too_large_gets_413(app, client, pdf):
    app.config["MAX_DOCUMENT_BYTES"] = len(pdf) - 1
    app.extensions.pop("sealflow_env", None)  # env() is rebuilt from the new setting
    resp = _verify(client, pdf)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"
    page = client.post("/verify", data={"file": (io.BytesIO(pdf), "big.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 413 and "上限为" in page.text  # in the page's language
    # Past the request size limit, werkzeug refuses the body before it is read: still a 413.
    app.config["MAX_CONTENT_LENGTH"] = 2000
    resp = _verify(client, pdf + b"\0" * 4000)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"


def test_rate_limit_per_client_address(app, client, pdf):
    app.config["VERIFY_RATE"] = "3/minute"
    for _ in range(3):
        assert _verify(client, pdf).status_code == 200
    limited = _verify(client, pdf)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 20
    # The page shares the budget; another address has its own.
    page = client.post("/verify", data={"file": (io.BytesIO(pdf), "c.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 429 and page.headers["Retry-After"]
    other = _verify(client, pdf, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_the_token_bucket_refills_over_time():
    now = [1000.0]
    bucket = TokenBucket(2, 60, max_keys=2, clock=lambda: now[0])
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    assert bucket.take("a") == pytest.approx(30)  # one token every 30 s
    now[0] += 30
    assert bucket.take("a") == 0 and bucket.take("a") > 0
    assert bucket.take("b") == 0
    bucket.take("c")  # a third address: the least recently seen one ("a") is forgotten
    assert bucket.take("a") == 0


def test_the_page_works_without_login(app, client, org, sealed):
    request_id, data = sealed
    app.config["WTF_CSRF_ENABLED"] = True  # as in production
    page = client.get("/verify")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="file"' in page.text
    assert ">验证</a>" in page.text  # the top bar's link, in Chinese (no Accept-Language)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    refused = client.post("/verify", data={"file": (io.BytesIO(data), "contract.pdf")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "CSRF" in refused.text

    shown = client.post("/verify", data={"file": (io.BytesIO(data), "contract.pdf"),
                                         "csrf_token": token},
                        content_type="multipart/form-data")
    assert shown.status_code == 200, shown.text
    text = shown.text
    assert ">有效</span>" in text and ">无效</span>" not in text
    assert "contract.pdf" in text and SEAL_NAME in text
    assert f"#{request_id}" in text and "bob" in text and "carol" in text
    assert "文件在签章后被修改" not in text

    # The JSON API stays public under CSRF protection: no token, no session needed.
    assert _verify(app.test_client(), data).status_code == 200


def test_the_page_shows_a_modified_document_in_red(client, sealed):
    _, data = sealed
    forged = _replace_page_text(data, b"Contract 9999-999 page 1")
    text = client.post("/verify", data={"file": (io.BytesIO(forged), "forged.pdf")},
                       content_type="multipart/form-data").text
    assert ">无效</span>" in text and "文件在签章后被修改" in text


def test_the_page_explains_bad_input(client):
    resp = client.post("/verify", data={"file": (io.BytesIO(b"not a pdf"), "x.txt")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "该文件不是 PDF" in resp.text and 'name="file"' in resp.text  # the page's language
    unsigned = client.post("/verify", data={"file": (io.BytesIO(make_pdf()), "plain.pdf")},
                           content_type="multipart/form-data")
    assert unsigned.status_code == 200 and "没有电子签章" in unsigned.text
