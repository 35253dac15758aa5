"""The /verify page as a person reads it: one verdict colour per signature, following its worst
finding; the seal drawn on a thumbnail of its page; readable times; and how to make other
software trust the organisation's root (the partial also on a sealed request's page)."""

from __future__ import annotations

import hashlib
import io
import re
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app.extensions import db
from processes.pki import authorities
from tests.e2e.test_verify import _replace_page_text, _seal_through_flow


@pytest.fixture
def sealed(org, pdf) -> tuple[int, bytes]:
    return _seal_through_flow(org, pdf)


def _page(client, data: bytes, lang: str = "zh_CN") -> str:
    resp = client.post(f"/verify?lang={lang}", data={"file": (io.BytesIO(data), "x.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.text
    return resp.text


def _cards(text: str) -> list[str]:
    return re.findall(r'<article class="card sig .*?</article>', text, re.S)


DER = Encoding.DER


def _root_fingerprint(app) -> str:
    with app.app_context():
        pem = authorities.ca_certificates(db.session)[0]
        db.session.rollback()
    digest = hashlib.sha256(x509.load_pem_x509_certificate(pem).public_bytes(DER)).hexdigest()
    return ":".join(digest.upper()[i:i + 2] for i in range(0, 64, 2))


def test_a_tampered_file_shows_one_red_verdict_and_no_green(client, sealed):
    _, data = sealed
    forged = _replace_page_text(data, b"Contract 9999-999 page 1")
    text = _page(client, forged, "en")
    cards = _cards(text)
    assert len(cards) == 1
    card = cards[0]
    assert 'sig-invalid' in card and 'sig-valid' not in card
    assert '<span class="badge verdict decision-reject">Invalid</span>' in card
    # Nothing green beside it: the checks that passed are plain, the failures red.
    assert "decision-approve" not in card
    assert re.search(r'class="badge decision-reject">Modified after sealing<', card)
    assert re.search(r'class="badge check-passed">Signature OK<', card)
    assert "The document was modified after sealing." in card
    # The record carried in the seal, which the broken signature no longer vouches for, is not
    # green either (the archive's own record of the approvals is another card).
    carried = text.split("Approval record carried in the signature")[-1].split("</section>")[0]
    assert "decision-approve" not in carried and "check-passed" in carried


def test_a_flipped_byte_is_red_with_its_reason_in_chinese(client, sealed):
    _, data = sealed
    at = data.index(b"Contract") if b"Contract" in data else len(data) // 3
    broken = data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
    card = _cards(_page(client, broken))[0]
    assert ">无效</span>" in card and "decision-approve" not in card
    assert "签章后被改动" in card or "签名本身已损坏" in card


def test_a_good_file_is_green_with_its_seal_on_a_thumbnail(client, sealed):
    _, data = sealed
    text = _page(client, data, "en")
    card = _cards(text)[0]
    assert 'sig-valid' in card and "decision-reject" not in card and "check-passed" not in card
    assert '<span class="badge verdict decision-approve">Valid</span>' in card
    assert "The seal on page 1" in card
    if shutil.which("pdftoppm"):
        assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', card)
        box = re.search(r'class="seal-box sig-valid" data-page="1" style="left: ([\d.]+)%; '
                        r'top: ([\d.]+)%; width: ([\d.]+)%; height: ([\d.]+)%"', card)
        assert box, card
        left, top, width, height = map(float, box.groups())
        assert 0 <= left < 100 and 0 <= top < 100 and 0 < width < 60 and 0 < height < 60
    # Times as words and numbers, not ISO: no "T..:..:..+00:00" anywhere on the page.
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)


def test_the_api_tells_where_each_seal_is(client, sealed):
    _, data = sealed
    body = client.post("/api/v1/verify", data={"file": (io.BytesIO(data), "x.pdf")},
                       content_type="multipart/form-data").get_json()
    where = body["signatures"][0]["placement"]
    assert where["page"] == 1 and len(where["rect"]) == 4 and len(where["page_box"]) == 4
    x1, y1, x2, y2 = where["rect"]
    assert x1 < x2 and y1 < y2


def test_the_trust_root_section_shows_the_fingerprint_and_the_steps(app, client, sealed):
    fingerprint = _root_fingerprint(app)
    for lang, words in (("en", ("Download the root certificate", "pdfsig -nssdir",
                                "Trusted Certificates")),
                        ("zh_CN", ("下载根证书", "pdfsig -nssdir", "受信任的证书"))):
        page = client.get(f"/verify?lang={lang}").text
        assert fingerprint in page
        for word in words:
            assert word in page, (lang, word)
        assert 'href="/pki/root.crt"' in page


def test_the_root_certificate_downloads_as_der(app, client, sealed):
    resp = client.get("/pki/root.crt")
    assert resp.status_code == 200 and resp.mimetype == "application/pkix-cert"
    cert = x509.load_der_x509_certificate(resp.data)
    assert ":".join(hashlib.sha256(resp.data).hexdigest().upper()[i:i + 2]
                    for i in range(0, 64, 2)) == _root_fingerprint(app)
    assert cert.subject == cert.issuer  # the root, self-signed


def test_a_sealed_requests_page_says_how_to_trust_the_root(app, org, sealed, login):
    request_id, _ = sealed
    page = login("alice").get(f"/requests/{request_id}?lang=en").text
    assert "Trusting our seals in other software" in page and _root_fingerprint(app) in page


def _rotated(pdf: bytes, degrees: int) -> bytes:
    import pikepdf
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            page.obj["/Rotate"] = degrees
        doc.save(out)
    return out.getvalue()


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm draws the thumbnails")
@pytest.mark.parametrize("degrees", [0, 90, 270])
def test_the_box_on_the_thumbnail_is_where_the_stamp_is_drawn(client, org, pdf, degrees):
    import base64

    from PIL import Image
    _, data = _seal_through_flow(org, _rotated(pdf, degrees))
    card = _cards(_page(client, data, "en"))[0]
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', card).group(1))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    left, top, width, height = map(float, re.search(
        r'style="left: ([\d.]+)%; top: ([\d.]+)%; width: ([\d.]+)%; height: ([\d.]+)%"',
        card).groups())
    w, h = image.size
    red = [(x, y) for y in range(h) for x in range(w)
           if (lambda p: p[0] > 150 and p[1] < 90 and p[2] < 90)(image.getpixel((x, y)))]
    assert len(red) > 30
    cx = sum(x for x, _ in red) / len(red) / w * 100
    cy = sum(y for _, y in red) / len(red) / h * 100
    assert left <= cx <= left + width and top <= cy <= top + height, \
        (degrees, (cx, cy), (left, top, width, height))
