"""The checks of :mod:`processes.evidence.verdict`, one per part of a package, each returning
``(problems, what held)``. Offline: signer's checks with fetching off, the audit proof's
key-free check."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import signer
from processes import audit_proof
from processes.evidence import names
from processes.flows.bpmn import content_hash

Found = tuple[list[str], list[str]]


@dataclass
class Package:
    request: int
    files: dict[str, bytes]
    listed: dict[str, str]
    roots: list[bytes]
    crls: list[bytes]
    """The package's CRLs. Its certificates are not used: each signature and token carries
    its own chain, and a certificate file, changed, must not stand in for the one signed."""

    def json(self, name: str) -> Any:
        return json.loads(self.files[name])

    def sha256(self, name: str) -> str:
        return hashlib.sha256(self.files[name]).hexdigest()


def _signatures(package: Package, name: str,
                fallback: datetime | None = None) -> tuple[list[Any], list[str]]:
    """The PDF's signature reports as of their timestamps; a problem per one that fails."""
    try:
        report = signer.validate_as_of(package.files[name], package.roots, crls=package.crls,
                                       fallback=fallback)
    except (KeyError, signer.SignerError) as exc:
        return [], [f"{name}: cannot be read ({exc})"]
    problems = []
    for sig in report.signatures:
        if not sig.bottom_line:
            why = ("its certificate does not validate to the root given with the package's "
                   "CRLs: untrusted, revoked, or a CRL unusable") \
                if sig.intact and sig.valid and not sig.trusted else sig.summary
            problems.append(f"{name}: the signature in field {sig.field} does not hold "
                            f"({why})")
    for stamp in report.document_timestamps:
        if not stamp.bottom_line:
            problems.append(f"{name}: the document timestamp in field {stamp.field} does not "
                            "hold")
    if not report.signatures:
        problems.append(f"{name}: it carries no signature")
    return report.signatures, problems


def check_report(package: Package) -> Found:
    """The report is sealed by a certificate of the root given, as of its timestamp, and its
    signature carries the package's files with the manifest's sums."""
    signatures, problems = _signatures(package, names.REPORT)
    try:
        records = signer.approval_records(signer.open_pdf(package.files[names.REPORT], ""))
    except (KeyError, signer.SignerError) as exc:
        return problems + [f"{names.REPORT}: cannot be read ({exc})"], []
    record = next((r for r in records.values() if r and names.RECORD in r), None)
    if record is None:
        return problems + [f"{names.REPORT}: its seal carries no list of the package's files"], []
    expected = {k: v for k, v in package.listed.items() if k != names.REPORT}
    if record.get("request") != package.request or record.get("files") != expected:
        differ = sorted(k for k in set(expected) | set(record.get("files") or {})
                        if expected.get(k) != (record.get("files") or {}).get(k))
        problems.append(f"{names.REPORT}: the files its seal lists differ from the package's "
                        f"({', '.join(differ) or 'the request'})")
    if problems:
        return problems, []
    (sig,) = signatures[-1:]
    return [], [f"report: sealed by {sig.signer} as of its timestamp {sig.timestamp}, "
                f"listing the {len(expected)} other files"]


def _anchor(package: Package) -> tuple[dict[str, Any] | None, list[Any], list[str]]:
    try:
        audit = package.json(names.AUDIT)
        anchor, run = audit["anchor"], audit["run"]
        assert isinstance(run, list) and audit.get("request_id") == package.request
        token = package.files[anchor["token"]]
        head = bytes.fromhex(anchor["hash"])
    except (KeyError, ValueError, TypeError, AssertionError) as exc:
        return None, [], [f"{names.AUDIT}: unreadable or not this request's ({exc})"]
    check = signer.check_digest_token(token, head, package.roots)
    if check.problem is not None:
        return None, run, [f"{anchor['token']}: the anchor's token does not hold: "
                           f"{check.problem}"]
    anchor = {**anchor, "time": check.time}
    return anchor, run, []


def check_audit(package: Package) -> Found:
    """The request's events link, whole, to the anchored head; the anchor's token is over that
    head and holds; every event shown is the request's own."""
    anchor, run, problems = _anchor(package)
    if anchor is None:
        return problems, []
    bad, reason = audit_proof.check(run, anchor["hash"])
    if reason is not None:
        where = f" at event {bad}" if bad is not None else ""
        return [f"{names.AUDIT}: the chain proof does not hold{where}: {reason}"], []
    own = [item for item in run if "content" not in item]
    strangers = [item["seq"] for item in own if item.get("request_id") != package.request]
    if strangers:
        return [f"{names.AUDIT}: events {strangers} are not this request's"], []
    return [], [f"audit: {len(own)} events of the request link to the head anchored at event "
                f"{anchor['seq']}, timestamped {anchor['time']}"]


def _expected_sealed(run: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The approved document's and the current sealed file's SHA-256, as the events say."""
    approved = sealed = None
    for item in run:
        details = item.get("details") or {}
        if item.get("action") == "request.sealed":
            approved, sealed = details.get("document_sha256"), details.get("sealed_sha256")
        elif item.get("action") == "document.archive_timestamp_renewed":
            sealed = details.get("new_sha256", sealed)
    return approved, sealed


def _tokens(package: Package, sealed: bytes) -> list[str]:
    """The package's token files are the sealed PDF's tokens, as embedded (an expert checks
    them with ``openssl ts -verify``)."""
    kept = {name: data for name, data in package.files.items()
            if name.startswith(names.TIMESTAMPS) and name != names.ANCHOR_TOKEN}
    embedded = {names.token(t.kind, n): t.der
                for n, t in enumerate(signer.embedded_tokens(sealed), start=1)}
    return [f"{name}: not the token {names.SEALED} carries" for name in
            sorted(set(kept) | set(embedded)) if kept.get(name) != embedded.get(name)]


def check_sealed(package: Package) -> Found:
    """The original is what was approved; the seal signed exactly the original plus the seal;
    the sealed file is the one the events name; its signatures hold as of their timestamps
    (as of the anchor's time for a seal without one)."""
    problems: list[str] = []
    try:
        history = package.json(names.HISTORY)
        approved = history["approved_sha256"]
        original, sealed = package.files[names.ORIGINAL], package.files[names.SEALED]
    except (KeyError, ValueError, TypeError) as exc:
        return [f"{names.HISTORY}: unreadable ({exc})"], []
    if package.sha256(names.ORIGINAL) != approved:
        problems.append(f"{names.ORIGINAL}: not the document approved (its SHA-256 is not "
                        f"{approved})")
    anchor, run, _ = _anchor(package)
    said_approved, said_sealed = _expected_sealed(run)
    if said_approved != approved:
        problems.append(f"{names.HISTORY}: the document approved is not the one the audit "
                        "events name")
    if said_sealed != package.sha256(names.SEALED):
        problems.append(f"{names.SEALED}: not the sealed file the audit events name")
    try:
        records = signer.approval_records(signer.open_pdf(sealed, ""))
    except signer.SignerError as exc:
        return problems + [f"{names.SEALED}: cannot be read ({exc})"], []
    field = next((f for f, r in records.items()
                  if r and r.get("request") == package.request
                  and r.get("document_sha256") == approved), None)
    if field is None:
        return problems + [f"{names.SEALED}: no seal of this request over the approved "
                           "document"], []
    place = signer.signed_revision(sealed, field)
    if not sealed.startswith(original) or place is None \
            or place[0] != signer.revisions(original):
        problems.append(f"{names.SEALED}: its seal did not sign the original's bytes followed "
                        "by the seal alone")
    problems += _tokens(package, sealed)
    signatures, failed = _signatures(package, names.SEALED,
                                     anchor["time"] if anchor is not None else None)
    problems += failed
    if problems:
        return problems, []
    sig = next(s for s in signatures if s.field == field)
    when = f"its timestamp {sig.timestamp}" if sig.timestamp else \
        f"the anchor's time {anchor['time'] if anchor else '?'} (no signature timestamp)"
    return [], [f"original: the document approved ({approved})",
                f"sealed: the original plus the seal of {sig.signer} (certificate "
                f"{sig.certificate_serial}), valid as of {when}, at PAdES {sig.level}"]


def check_process(package: Package) -> Found:
    """The process files are the version the request ran on: their SHA-256 (as a deployment
    computes it) is the version's. Files deployed in another encoding than UTF-8 are kept as
    the UTF-8 text that was parsed: then only said, not a problem (the report's seal covers
    them either way)."""
    files = {name[len(names.PROCESS):]: data for name, data in package.files.items()
             if name.startswith(names.PROCESS)}
    try:
        process = package.json(names.HISTORY)["process"]
        expected, listed = process["sha256"], process["files"]
    except (KeyError, ValueError, TypeError) as exc:
        return [f"{names.HISTORY}: unreadable ({exc})"], []
    if sorted(files) != sorted(name.replace("/", "_") for name in listed):
        return [f"process: the files are not the version's ({', '.join(listed)})"], []
    said = f"process: {process.get('key')} v{process.get('version')}, {len(files)} files"
    if content_hash(files) == expected:
        return [], [f"{said}, their SHA-256 is the deployed version's ({expected})"]
    return [], [f"{said}, kept as the UTF-8 text parsed (deployed in another encoding: the "
                f"version's SHA-256 {expected} is over the bytes as uploaded)"]
