"""Checking an evidence package offline: no database, no network, no key. Every check runs
and says what it found; the package holds only when every one does and the root it was checked
against was given by the one checking, never the copy inside the package (docs/evidence.md).

The checks: the manifest (every file listed, present and with its SHA-256; nothing else); the
report's seal (trusted, as of its own timestamp) and the file list its signature carries, equal
to the manifest's; the original's SHA-256 is the one approved; the sealed PDF's seal signed
exactly the original plus the seal, and validates as of its timestamp with the package's CRLs;
the audit proof links the request's events, whole, to the anchored head, whose RFC 3161 token
is over that head; the events name the approved and the sealed file."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from asn1crypto import pem as pem_armor
from pyhanko.keys import load_certs_from_pemder_data

from processes.evidence import names
from processes.evidence.verify_checks import (
    Package,
    check_audit,
    check_process,
    check_report,
    check_sealed,
)


@dataclass
class Verdict:
    """What the checks found: ``problems`` empty and ``root_given``: the package holds."""

    request: int | None = None
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    root_fingerprints: list[str] = field(default_factory=list)
    """SHA-256 of the root certificate(s) checked against (DER), to compare with the
    organisation's published one."""
    root_given: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.root_given

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "request": self.request, "root_given": self.root_given,
                "root_fingerprints": self.root_fingerprints, "checks": self.checks,
                "problems": self.problems}


def fingerprint(cert_der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(cert_der).digest())


MAX_FILES = 10_000
MAX_UNPACKED = 4 * 1024 ** 3
"""What a package may unpack to: its two PDFs (each at most the upload limit, 50 MiB by
default), the report and the proofs fit many times over; a ZIP made to unpack to more (a "zip
bomb") is refused before anything is unpacked. Each file is read to its declared size only
(zipfile stops there and checks the CRC), so the declared sizes bound the memory."""


def _read(data: bytes, verdict: Verdict) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            infos = archive.infolist()
            listed = [info.filename for info in infos]
            if len(listed) != len(set(listed)):
                verdict.problems.append("the ZIP names a file twice")
                return None
            unpacked = sum(info.file_size for info in infos)
            if len(infos) > MAX_FILES or unpacked > MAX_UNPACKED:
                verdict.problems.append(
                    f"the ZIP would unpack to {len(infos)} files and {unpacked} bytes, more "
                    f"than a package holds (at most {MAX_FILES} files, {MAX_UNPACKED} bytes)")
                return None
            return {name: archive.read(name) for name in listed if not name.endswith("/")}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        verdict.problems.append(f"not a readable ZIP file: {exc}")
        return None


def _manifest(files: dict[str, bytes], verdict: Verdict) -> dict[str, str] | None:
    try:
        manifest = json.loads(files[names.MANIFEST])
        listed = manifest["files"]
        assert manifest.get("format") == names.FORMAT, "an unknown format"
        assert isinstance(listed, dict), "no list of files"
        verdict.request = int(manifest["request"])
    except (KeyError, ValueError, TypeError, AssertionError) as exc:
        verdict.problems.append(f"{names.MANIFEST} is missing or unreadable ({exc})")
        return None
    present = set(files) - {names.MANIFEST}
    for name in sorted(present - set(listed)):
        verdict.problems.append(f"{name}: in the package but not in the manifest")
    for name in sorted(set(listed) - present):
        verdict.problems.append(f"{name}: in the manifest but missing from the package")
    for name in sorted(present & set(listed)):
        if hashlib.sha256(files[name]).hexdigest() != listed[name]:
            verdict.problems.append(f"{name}: its SHA-256 differs from the manifest's")
    if not verdict.problems:
        verdict.checks.append(f"manifest: {len(listed)} files, every SHA-256 matches")
    return listed


def _roots(files: dict[str, bytes], given: list[bytes], verdict: Verdict) -> list[bytes]:
    """The roots to check against: those given; else the package's own, only so the other
    checks can run (the package is then not verified, and its fingerprint is printed)."""
    roots = given or ([files[names.ROOT]] if names.ROOT in files else [])
    verdict.root_given = bool(given)
    for blob in roots:
        try:
            certs = load_certs_from_pemder_data(blob)
        except ValueError:
            verdict.problems.append("a root certificate cannot be read")
            continue
        verdict.root_fingerprints += [fingerprint(cert.dump()) for cert in certs]
    if not roots:
        verdict.problems.append("no root certificate: give one with --root")
    return roots


def verify(data: bytes, roots: list[bytes] | None = None) -> Verdict:
    """Check the package ``data`` against ``roots`` (PEM or DER, the organisation's as
    published); without them, against the package's own root, which leaves it unverified."""
    verdict = Verdict()
    files = _read(data, verdict)
    if files is None:
        return verdict
    listed = _manifest(files, verdict)
    if listed is None or verdict.request is None:
        return verdict
    trust = _roots(files, list(roots or []), verdict)
    package = Package(verdict.request, files, listed, trust, _crls(files))
    for check in (check_report, check_audit, check_sealed, check_process):
        problems, done = check(package)
        verdict.problems += problems
        verdict.checks += done
    return verdict


def _crls(files: dict[str, bytes]) -> list[bytes]:
    found = []
    for name, data in sorted(files.items()):
        if name.startswith(names.CRLS):
            found.append(pem_armor.unarmor(data)[2] if pem_armor.detect(data) else data)
    return found

