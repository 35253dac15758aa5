"""The issuing CA's register of the certificates it signed (for the CRL and OCSP)."""

from __future__ import annotations

from sqlalchemy.orm import Session

import signer
from processes.pki_models import IssuedCertificate


def record(session: Session, cert_pem: bytes, *, purpose: str,
           seal_id: int | None = None) -> IssuedCertificate:
    cert = signer.certificate_from_pem(cert_pem)
    row = IssuedCertificate(serial=format(cert.serial_number, "x"), seal_id=seal_id,
                            purpose=purpose, not_after=cert.not_valid_after_utc)
    session.add(row)
    return row
