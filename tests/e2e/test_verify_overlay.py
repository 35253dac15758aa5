"""Something drawn over a sealed page after sealing (the "sneaky signature" attack): a later
signature whose opaque stamp hides the amount, an annotation, a refilled form field. pyHanko's
difference analysis lets signatures and form filling pass; /verify must still say the page shows
something the seal did not sign, where, and which revision drew it. A later seal of ours, beside
the first (in its prepared field or not), stays green."""

from __future__ import annotations

import datetime
import hashlib
import io
import json

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw
from pyhanko import stamp
from pyhanko.pdf_utils import generic, images
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

import signer
from tests.conftest import approve, sealed_bytes, submit

AMOUNT_LINE = (68.0, 690.0, 368.0, 720.0)
"""Where the page shows "Amount: 50,000.00 CNY"."""

LEGAL_REP = {"field": "LegalRep", "page": 1, "x": 300, "y": 60, "size": 100}


def _contract(with_amount_field: bool = False) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica", 14)
    c.drawString(72, 760, "Contract 2026-001")
    if with_amount_field:
        c.drawString(72, 730, "Amount:")
        c.acroForm.textfield(name="amount", value="50,000.00 CNY", x=72, y=694, width=200,
                             height=24)
    else:
        c.drawString(72, 700, "Amount: 50,000.00 CNY")
    c.showPage()
    c.save()
    return buf.getvalue()


def _sealed(org, document: bytes, placement: dict | None = None) -> tuple[int, bytes]:
    extra = {"placement": json.dumps(placement)} if placement else {}
    resp = submit(org.alice, org.seal_id, document, **extra)
    assert resp.status_code == 201, resp.get_json()
    assert approve(org.bob).status_code == 200
    assert approve(org.carol).status_code == 200
    return resp.get_json()["id"], sealed_bytes(org, resp.get_json()["id"])


def _self_signed(name: str) -> signers.SimpleSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
        cert_registry=None)


def _forged_amount_stamp() -> stamp.StaticStampStyle:
    """An opaque white box reading a forged amount."""
    img = Image.new("RGB", (600, 60), "white")
    ImageDraw.Draw(img).text((8, 18), "Amount: 9,999,999.00 CNY", fill="black")
    return stamp.StaticStampStyle(background=images.PdfImage(img), border_width=0,
                                  background_opacity=1.0)


def _sign_over(data: bytes, field: str, box=None) -> bytes:
    """A later signature, self-signed, whose stamp is the forged amount: in a new field at
    ``box``, or filling the empty field ``field`` where it is."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    spec = fields.SigFieldSpec(field, on_page=0, box=box) if box else None
    pdf_signer = signers.PdfSigner(signers.PdfSignatureMetadata(field_name=field),
                                   signer=_self_signed("Forger"),
                                   stamp_style=_forged_amount_stamp(), new_field_spec=spec)
    return pdf_signer.sign_pdf(writer, existing_fields_only=box is None).getvalue()


def _white_box(writer: IncrementalPdfFileWriter, width: float, height: float,
               text: bytes) -> generic.IndirectObject:
    content = (b"1 1 1 rg 0 0 %g %g re f 0 g BT /Helv 12 Tf 4 8 Td (%s) Tj ET"
               % (width, height, text))
    return writer.add_object(generic.StreamObject({
        generic.NameObject("/Type"): generic.NameObject("/XObject"),
        generic.NameObject("/Subtype"): generic.NameObject("/Form"),
        generic.NameObject("/BBox"): generic.ArrayObject(
            [generic.FloatObject(v) for v in (0, 0, width, height)]),
    }, stream_data=content))


def _annotate(data: bytes, subtype: str) -> bytes:
    """A later revision adding an annotation (no signature) over the amount line."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject(subtype),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.FloatObject(v) for v in AMOUNT_LINE]),
        generic.NameObject("/F"): generic.NumberObject(4),
        generic.NameObject("/Contents"): generic.TextStringObject("Amount: 9,999,999.00 CNY"),
        generic.NameObject("/AP"): generic.DictionaryObject({
            generic.NameObject("/N"): _white_box(writer, 300, 30, b"Amount: 9,999,999.00 CNY")}),
    })
    writer.register_annotation(page_ref, writer.add_object(annot))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _refill_amount(data: bytes) -> bytes:
    """A later revision filling the form field "amount" anew (form filling, as pyHanko allows
    after a seal)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    (field,) = [f.get_object() for f in writer.root["/AcroForm"]["/Fields"]
                if f.get_object().get("/T") == "amount"]
    field["/V"] = generic.TextStringObject("9,999,999.00 CNY")
    field["/AP"] = generic.DictionaryObject({
        generic.NameObject("/N"): _white_box(writer, 200, 24, b"9,999,999.00 CNY")})
    writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _verify(client, data: bytes) -> dict:
    resp = client.post("/api/v1/verify", data={"file": (io.BytesIO(data), "contract.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _page(client, data: bytes) -> str:
    """The verify page as an English browser sees it."""
    resp = client.post("/verify", data={"file": (io.BytesIO(data), "contract.pdf")},
                       content_type="multipart/form-data", headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    return resp.text


def _red(row: dict) -> None:
    """Our seal: its own bytes and certificate good, but something drawn over it since."""
    assert row["intact"] is row["valid"] is row["trusted"] is True
    assert row["modified_after"] is True and row["visibly_modified"] is True
    assert row["bottom_line"] is False


def test_a_later_self_signed_stamp_over_the_amount_is_a_visible_change(
        client, org):
    request_id, sealed = _sealed(org, _contract())
    forged = _sign_over(sealed, "Forger", box=AMOUNT_LINE)
    assert forged.startswith(sealed)

    body = _verify(client, forged)
    ours, forger = body["signatures"]
    assert ours["field"] == f"Seal{request_id}" and ours["approval"]["request_id"] == request_id
    # pyHanko alone passes it: a further signature is allowed form filling.
    assert ours["modification_level"] == "FORM_FILLING"
    _red(ours)
    assert ours["visible_changes"] == [{
        "page": 1, "rect": list(AMOUNT_LINE), "revision": 3, "kind": "signature",
        "field": "Forger", "subtype": "Widget", "prepared_field": False,
        "covers_seal": False, "allowed": False}]
    assert ours["revision"] == 2 and forger["revision"] == 3
    assert forger["trusted"] is False and forger["bottom_line"] is False
    assert "drawn over the page after sealing (page 1)" in body["message"]

    page = _page(client, forged)
    assert ">Invalid</span>" in page and ">Valid</span>" not in page
    assert "Drawn over the page after sealing" in page
    assert "Page 1 · x 68–368, y 690–720 pt" in page and "Forger" in page
    assert "revision 3" in page


def test_a_later_annotation_over_the_page_is_a_visible_change(client, org):
    _, sealed = _sealed(org, _contract())
    for subtype in ("/FreeText", "/Square"):
        (row,) = _verify(client, _annotate(sealed, subtype))["signatures"]
        _red(row)
        (change,) = row["visible_changes"]
        assert (change["kind"], change["subtype"], change["field"]) == (
            "annotation", subtype[1:], None)
        assert (change["page"], change["rect"], change["revision"]) == (
            1, list(AMOUNT_LINE), 3)
        assert not change["allowed"]


def test_a_refilled_form_field_is_a_visible_change(client, org):
    _, sealed = _sealed(org, _contract(with_amount_field=True))
    (untouched,) = _verify(client, sealed)["signatures"]
    assert untouched["bottom_line"] is True and untouched["visible_changes"] == []

    (row,) = _verify(client, _refill_amount(sealed))["signatures"]
    assert row["modification_level"] == "FORM_FILLING"  # allowed form filling, for pyHanko
    _red(row)
    (change,) = row["visible_changes"]
    assert (change["kind"], change["field"], change["page"]) == ("form_field", "amount", 1)
    assert change["rect"] == [72, 694, 272, 718]


def test_a_later_seal_of_ours_in_its_prepared_field_stays_green(client, org, make_seal):
    first_id, certified = _sealed(org, _contract(),
                                  {"certify": True, "prepare": [LEGAL_REP]})
    legal_rep = make_seal(["carol"], name="张三（法定代表人）")
    form = {"process": "contract_seal", "seal": str(legal_rep), "from_request": str(first_id),
            "data": json.dumps({"amount": 50000, "purpose": "法定代表人章"}),
            "placement": json.dumps({"field": "LegalRep"})}
    second = org.alice.post("/api/v1/requests", data=form, content_type="multipart/form-data")
    assert second.status_code == 201, second.get_json()
    approve(org.bob)
    approve(org.carol)
    both = sealed_bytes(org, second.get_json()["id"])

    first, last = _verify(client, both)["signatures"]
    assert first["certification"] == "FILL_FORMS"
    assert first["bottom_line"] is last["bottom_line"] is True
    assert first["modified_after"] is False and first["visibly_modified"] is False
    assert first["visible_changes"] == [{
        "page": 1, "rect": [300, 60, 400, 160], "revision": 3, "kind": "signature",
        "field": "LegalRep", "subtype": "Widget", "prepared_field": True,
        "covers_seal": False, "allowed": True}]
    page = _page(client, both)
    assert ">Invalid</span>" not in page and "Drawn over the page" not in page
    assert "Later seal of ours" in page


def test_a_forged_fill_of_the_prepared_field_is_not_green(client, org):
    _, certified = _sealed(org, _contract(), {"certify": True, "prepare": [LEGAL_REP]})
    forged = _sign_over(certified, "LegalRep")
    ours, forger = _verify(client, forged)["signatures"]
    assert ours["modification_level"] == "FORM_FILLING"  # pyHanko: allowed form filling
    _red(ours)
    (change,) = ours["visible_changes"]
    assert change["prepared_field"] is True and change["allowed"] is False
    assert forger["bottom_line"] is False


def test_a_trusted_signature_that_is_not_our_seal_is_not_tolerated(
        client, org, pki_material):
    """A certificate our CA issued, but no seal of ours: trusted, and still not a seal."""
    _, sealed = _sealed(org, _contract())
    passphrase = b"test-passphrase"
    km = signer.issue_seal_certificate(pki_material["issuing"], passphrase,
                                       seal_name="无人登记的证书", org_name="测试科技有限公司",
                                       key_type="p256")
    unregistered = signer.SealSigner.from_key_material(
        km, passphrase, [pki_material["issuing"].cert_pem])
    beside = signer.seal_pdf(
        sealed, expected_sha256=hashlib.sha256(sealed).hexdigest(), signer=unregistered,
        appearance_pdf=pki_material["appearance"].pdf,
        placement=signer.SealPlacement(page=1, x=100, y=100, size=100),
        settings=signer.SealSettings(field_name="Unregistered"))
    ours, other = _verify(client, beside)["signatures"]
    assert other["trusted"] is True and other["bottom_line"] is True and other["seal"] is None
    _red(ours)
    (change,) = ours["visible_changes"]
    assert change["field"] == "Unregistered" and not change["allowed"]
