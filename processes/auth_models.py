"""Who is logged in, and who keeps failing to: browser sessions kept on the server, and the
counters that throttle failed log-ins (in the database, so every worker process agrees)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class UserSession(Base):
    """One logged-in browser. The cookie carries a random key; only its SHA-256 is stored, so
    the table alone logs nobody in. Log-out deletes the row, and a cookie whose row is gone
    is worth nothing, however well signed."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    """An absolute end (SEALFLOW_SESSION_HOURS after log-in), whatever the browser keeps."""
    address: Mapped[str | None] = mapped_column(String(64))
    """The client address at log-in."""


class LoginThrottle(Base):
    """Failed log-ins counted for one name as typed (``scope`` "name", whether or not such a
    user exists, so a lock-out tells nothing a wrong password does not) or one client address
    (``scope`` "address"). Past the limit, ``locked_until`` refuses every attempt."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    """The first failure counted; failures older than the window are forgotten."""
    locked_until: Mapped[datetime | None] = mapped_column()
