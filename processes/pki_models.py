"""The organisation PKI's records: the CA keys and certificates, the register of certificates
the issuing CA signed, the CRLs published, and the built-in TSA's token serials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class PkiAuthority(Base):
    """The organisation's CA keys and certificates (``kind``: root, issuing, and tsa, the
    timestamp authority); keys encrypted (PKCS#8)."""

    __tablename__ = "pki_authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), unique=True)
    cert_pem: Mapped[bytes] = mapped_column(LargeBinary)
    key_pem: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TsaSerial(Base):
    """One token granted by the built-in timestamp authority (``POST /tsa``): the row id is the
    token's serial number. AUTOINCREMENT (SQLite) and the identity column (PostgreSQL) never hand
    out an id twice, even after the newest rows are deleted, so a serial never repeats across
    processes and restarts."""

    __tablename__ = "tsa_serials"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    issued_at: Mapped[datetime] = mapped_column()
    """The token's genTime."""
    hash_algorithm: Mapped[str] = mapped_column(String(20))
    message_imprint: Mapped[str] = mapped_column(String(128))
    """The timestamped digest, hex."""
    client: Mapped[str | None] = mapped_column(String(64))
    """The requester's address, as the web server saw it."""


class PublishedCrl(Base):
    """A CRL as published: the issuing CA's at /pki/crl (seal certificates), the root's at
    /pki/root.crl (the issuing CA). Kept so each issuer's numbers only grow and every node
    serves the same list."""

    __tablename__ = "published_crls"
    __table_args__ = (UniqueConstraint("issuer", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(20), default="issuing", server_default="issuing")
    number: Mapped[int] = mapped_column(Integer)
    this_update: Mapped[datetime] = mapped_column()
    next_update: Mapped[datetime] = mapped_column()
    der: Mapped[bytes] = mapped_column(LargeBinary)


class IssuedCertificate(Base):
    """Every certificate the issuing CA signed (seal certificates, renewals included, and the
    TSA's): what the CRL lists when a seal is revoked (all its certificates, since a renewal
    keeps the key) and what the OCSP responder answers for."""

    __tablename__ = "issued_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)  # lower-case hex
    seal_id: Mapped[int | None] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"),
                                                index=True)
    purpose: Mapped[str] = mapped_column(String(10))  # seal, tsa
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_after: Mapped[datetime] = mapped_column()
