"""Independent judges of a sealed PDF: pyHanko's validator and poppler's pdfsig."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

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
