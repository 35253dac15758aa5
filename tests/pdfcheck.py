"""Independent judges of a sealed PDF: pyHanko's validator, poppler's pdfsig, qpdf, and for
timestamps OpenSSL's ``ts -verify``."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from pathlib import Path

from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader

import signer


def pdfsig(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sealed.pdf"
        path.write_bytes(data)
        result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                                timeout=60, check=False)
        return result.stdout + result.stderr


def assert_sealed(data: bytes, trust_roots: list[bytes], signatures: int = 1) -> list:
    """Every signature intact, valid, trusted to the organisation root, unmodified since;
    and pdfsig says "Signature is Valid." for each."""
    reports = signer.validate_pdf(data, trust_roots)
    assert len(reports) == signatures, reports
    for report in reports:
        assert report.intact and report.valid and report.trusted, report
        assert report.bottom_line, report.summary
    verdict = pdfsig(data)
    assert verdict.count("Signature is Valid.") == signatures, verdict
    assert qpdf_check(data) == 0
    return reports


def qpdf_check(data: bytes) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sealed.pdf"
        path.write_bytes(data)
        return subprocess.run(["qpdf", "--check", str(path)], capture_output=True,
                              timeout=60, check=False).returncode


def timestamp_tokens(data: bytes) -> list[tuple[bytes | None, bytes]]:
    """For every signature (``/Sig``) in ``data``: the DER TimeStampToken among its CMS unsigned
    attributes (``signature-time-stamp-token``, ``None`` without one), and the signature value
    the token's message imprint must cover."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    found = []
    for embedded in reader.embedded_regular_signatures:
        signer_info: cms.SignerInfo = embedded.signer_info
        attrs = signer_info["unsigned_attrs"]
        tokens = [attr["values"][0] for attr in attrs
                  if attr["type"].native == "signature_time_stamp_token"] if attrs else []
        assert len(tokens) <= 1, tokens
        found.append((tokens[0].dump() if tokens else None, signer_info["signature"].native))
    return found


def openssl_ts_verify(token: bytes, covered: bytes, ca_pems: list[bytes]) -> str:
    """``openssl ts -verify`` of a TimeStampToken (DER) over the SHA-256 of ``covered``, with
    ``ca_pems`` as the CA file; returns OpenSSL's output ("Verification: OK" when it holds)."""
    with tempfile.TemporaryDirectory() as tmp:
        token_path, ca_path = Path(tmp) / "token.der", Path(tmp) / "ca.pem"
        token_path.write_bytes(token)
        ca_path.write_bytes(b"".join(ca_pems))
        result = subprocess.run(
            ["openssl", "ts", "-verify", "-in", str(token_path), "-token_in",
             "-digest", hashlib.sha256(covered).hexdigest(), "-CAfile", str(ca_path)],
            capture_output=True, text=True, timeout=60, check=False)
        return result.stdout + result.stderr


def assert_timestamped(data: bytes, trust_roots: list[bytes], ca_pems: list[bytes],
                       signatures: int = 1) -> list:
    """:func:`assert_sealed`, and every signature is PAdES B-T: pyHanko finds its RFC 3161
    timestamp intact and trusted, and ``openssl ts -verify`` accepts the token (checked against
    ``ca_pems``) as covering the signature value."""
    reports = assert_sealed(data, trust_roots, signatures)
    for report in reports:
        assert report.timestamp is not None, report
        assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in report.summary, report.summary
    tokens = timestamp_tokens(data)
    assert len(tokens) == signatures
    for token, covered in tokens:
        assert token is not None
        verdict = openssl_ts_verify(token, covered, ca_pems)
        assert "Verification: OK" in verdict, verdict
    return reports
