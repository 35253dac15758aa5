"""The package made: the report sealed with the system seal (its signature carrying the other
files' SHA-256, so a file changed with the manifest rewritten is still found), then the ZIP
with the manifest. Sealing asks the TSA: call :func:`seal_report` with no write transaction
open (the built-in TSA writes its serial in one of its own)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import signer
from processes.env import Env
from processes.errors import SealingFailed, msg
from processes.evidence import names, report
from processes.evidence.contents import Contents
from processes.models import Seal
from processes.pki import timestamping
from processes.seals.registry import signer_for


def sums(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def record(contents: Contents) -> dict:
    """What the report's signature carries."""
    return {names.RECORD: 1, "format": names.FORMAT, "request": contents.request_id,
            "files": sums(contents.files)}


def system_seal(session: Session) -> Seal | None:
    """Sealflow's own seal (made by ``sealflow init``, or :func:`ensure_system_seal`)."""
    return session.execute(select(Seal).where(Seal.system.is_(True))).scalar_one_or_none()


def seal_report(session: Session, env: Env, contents: Contents) -> bytes:
    """The report, drawn and sealed with the system seal at PAdES B-T (its own timestamp, so
    it is checked as of then). Only reads.

    :raises SealingFailed: the report could not be sealed (no timestamp, no system seal)."""
    seal = system_seal(session)
    if seal is None:
        raise SealingFailed(msg("there is no system seal to seal the evidence report: run "
                                "`sealflow init`"))
    files = contents.files | {names.certificate("system-seal"): bytes(seal.cert_pem)}
    contents.files = files
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    drawn = report.draw(contents.summary, sums(files), generated_at=now,
                        font_path=env.cjk_font)
    timestamper = timestamping.timestamper_for(dataclasses.replace(env, pades_level="B-T"),
                                               session)
    try:
        return signer.seal_pdf(
            drawn, expected_sha256=hashlib.sha256(drawn).hexdigest(),
            signer=signer_for(session, env, seal), appearance_pdf=seal.appearance_pdf,
            settings=signer.SealSettings(
                field_name="EvidenceReport", location=env.org_name,
                reason=f"Sealflow evidence package of request #{contents.request_id}"),
            timestamper=timestamper,
            approval_record=json.dumps(record(contents), ensure_ascii=False,
                                       sort_keys=True).encode("utf-8"))
    except signer.SignerError as exc:
        raise SealingFailed(msg("the evidence report could not be sealed: %(error)s",
                                error=exc)) from None


def write_zip(contents: Contents, sealed_report: bytes) -> bytes:
    """The ZIP: every file, the sealed report, and the manifest of all their SHA-256."""
    files = contents.files | {names.REPORT: sealed_report}
    manifest = {"format": names.FORMAT, "request": contents.request_id,
                "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "files": sums(files)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(names.MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1,
                                                    sort_keys=True))
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buf.getvalue()
