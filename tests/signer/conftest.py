"""Fixtures for the signer tests: a test PKI, seal signers, a seal image and test PDFs, all made
in-process; plus helpers that run poppler and qpdf on a PDF."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen import canvas

from signer import (
    KeyMaterial,
    SealAppearance,
    SealSigner,
    create_ca_hierarchy,
    draw_seal,
    issue_seal_certificate,
)

PASSPHRASE = b"correct horse battery staple"
ORG = "示例科技有限公司"
CONTRACT_TEXT = "Contract 2024-001"


@dataclass(frozen=True)
class Pki:
    root: KeyMaterial
    issuing: KeyMaterial
    seal_rsa: KeyMaterial
    seal_p256: KeyMaterial


def _make_pdf(page_sizes: list[tuple[float, float]]) -> bytes:
    """A PDF with one line of uncompressed text per page (so tests can find and flip bytes)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=page_sizes[0], pageCompression=0, invariant=1)
    for number, size in enumerate(page_sizes, start=1):
        c.setPageSize(size)
        c.setFont("Helvetica", 12)
        c.drawString(72, size[1] - 100, f"{CONTRACT_TEXT} page {number}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="session")
def make_pdf() -> Callable[[list[tuple[float, float]]], bytes]:
    return _make_pdf


@pytest.fixture(scope="session")
def passphrase() -> bytes:
    return PASSPHRASE


@pytest.fixture(scope="session")
def pki() -> Pki:
    root, issuing = create_ca_hierarchy(ORG, PASSPHRASE)
    return Pki(
        root=root,
        issuing=issuing,
        seal_rsa=issue_seal_certificate(
            issuing,
            PASSPHRASE,
            seal_name="合同专用章",
            org_name=ORG,
            crl_url="http://sealflow.example/pki/crl",
        ),
        seal_p256=issue_seal_certificate(
            issuing, PASSPHRASE, seal_name="财务专用章", org_name=ORG, key_type="p256"
        ),
    )


@pytest.fixture(scope="session")
def signer_rsa(pki: Pki) -> SealSigner:
    return SealSigner.from_key_material(
        pki.seal_rsa, PASSPHRASE, [pki.issuing.cert_pem, pki.root.cert_pem]
    )


@pytest.fixture(scope="session")
def signer_p256(pki: Pki) -> SealSigner:
    return SealSigner.from_key_material(
        pki.seal_p256, PASSPHRASE, [pki.issuing.cert_pem, pki.root.cert_pem]
    )


@pytest.fixture(params=["rsa", "p256"])
def any_signer(request, signer_rsa: SealSigner, signer_p256: SealSigner) -> SealSigner:
    return signer_rsa if request.param == "rsa" else signer_p256


@pytest.fixture(scope="session")
def appearance() -> SealAppearance:
    return draw_seal(ORG, "合同专用章", serial="1101080012345")


@pytest.fixture(scope="session")
def pdf_1p() -> bytes:
    return _make_pdf([A4])


@pytest.fixture(scope="session")
def pdf_3p() -> bytes:
    """Three pages: A4 portrait, A4 portrait, A4 landscape."""
    return _make_pdf([A4, A4, landscape(A4)])


@pytest.fixture(scope="session")
def pdf_encrypted(pdf_1p: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf_1p)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="owner-pw", user="user-pw", R=6))
    return out.getvalue()


@pytest.fixture(scope="session")
def garbage() -> bytes:
    return b"PK\x03\x04 this is a zip file, or something, but not a PDF" * 20


@pytest.fixture
def pdfsig(tmp_path: Path) -> Callable[[bytes], str]:
    """Run poppler's ``pdfsig`` on a PDF and return its output."""

    def run(data: bytes) -> str:
        path = tmp_path / "pdfsig.pdf"
        path.write_bytes(data)
        done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
        return done.stdout + done.stderr

    return run


@pytest.fixture
def qpdf_check(tmp_path: Path) -> Callable[[bytes], int]:
    """Run ``qpdf --check`` on a PDF and return its exit status."""

    def run(data: bytes) -> int:
        path = tmp_path / "qpdf.pdf"
        path.write_bytes(data)
        return subprocess.run(
            ["qpdf", "--check", str(path)], capture_output=True, timeout=60
        ).returncode

    return run


@pytest.fixture
def render_page(tmp_path: Path) -> Callable[[bytes, int], Image.Image]:
    """Render one page (1-based) at 50 dpi with poppler's ``pdftoppm``."""

    def run(data: bytes, page: int) -> Image.Image:
        path = tmp_path / "render.pdf"
        path.write_bytes(data)
        prefix = tmp_path / f"page{page}"
        subprocess.run(
            ["pdftoppm", "-r", "50", "-f", str(page), "-l", str(page), "-png", "-singlefile"]
            + [str(path), str(prefix)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with Image.open(f"{prefix}.png") as image:
            return image.convert("RGB")

    return run
