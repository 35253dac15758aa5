"""The audit chain's anchors: its head, timestamped by the TSA (processes/audit_anchor.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class AuditAnchor(Base):
    """The chain's head at one event, with an RFC 3161 token over its hash: the log up to it
    existed then, as it is, whoever holds the key since."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True)
    """The event anchored (the head when the token was asked for)."""
    hash: Mapped[str] = mapped_column(String(64))
    """Its SHA-256 hash: the token's message imprint, as is."""
    mac: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    token: Mapped[bytes] = mapped_column(LargeBinary)
    """The DER TimeStampToken (CMS ContentInfo)."""
    stamped_at: Mapped[datetime] = mapped_column()
    """The token's genTime."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
