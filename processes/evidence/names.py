"""The names of the files inside an evidence package (docs/evidence.md lists them)."""

from __future__ import annotations

FORMAT = "sealflow-evidence/1"
MANIFEST = "manifest.json"
REPORT = "report.pdf"
ORIGINAL = "original.pdf"
SEALED = "sealed.pdf"
HISTORY = "history.json"
AUDIT = "audit.json"
ANCHOR_TOKEN = "timestamps/audit-anchor.tsr"
PROCESS = "process/"
CERTIFICATES = "certificates/"
CRLS = "crls/"
TIMESTAMPS = "timestamps/"
ROOT = CERTIFICATES + "root-ca.pem"
RECORD = "sealflow_evidence"
"""The key of the report's signed record (inside its seal's signature): the package's files
and their SHA-256, so that a file changed with the manifest rewritten is still found."""


def process_file(filename: str) -> str:
    return PROCESS + filename.replace("/", "_")


def token(kind: str, number: int) -> str:
    return f"{TIMESTAMPS}{kind}-{number}.tsr"


def certificate(name: str) -> str:
    return f"{CERTIFICATES}{name}.pem"


def crl(issuer: str, number: int) -> str:
    return f"{CRLS}{issuer}-{number}.crl"
