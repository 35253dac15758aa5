"""Notices: what Sealflow tells a user outside their inbox of tasks (a seal's certificate about
to expire, a reminder of a task waiting). Shown on the inbox page and by the API; a mail or
webhook channel can listen to the same signals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    """``seal.expiring``, ``task.reminder``."""
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    """A page of Sealflow (``/seals/3``, ``/tasks/<id>``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
    mail_to: Mapped[str | None] = mapped_column(String(254))
    """The user's e-mail address when the notice was written (None: none, nothing to mail)."""
    mailed_at: Mapped[datetime | None] = mapped_column()
    mail_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Failed sends so far (the scheduler tries again until ``MAIL_TRIES``)."""
    mail_next_at: Mapped[datetime | None] = mapped_column(index=True)
    """When the scheduler sends it (again) if it is not sent by then; None once sent or
    given up."""
    mail_error: Mapped[str | None] = mapped_column(Text)
