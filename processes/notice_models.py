"""Notices: what Sealflow tells a user outside their inbox of tasks (a seal's certificate about
to expire, a reminder of a task waiting). Shown on the inbox page and by the API; a mail or
webhook channel can listen to the same signals.

A notice keeps what it says as a message key and its arguments, not as finished text: it is
put into words in the reader's language when it is read (the pages and the API in the
caller's, the mail in the recipient's: ``users.language``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from processes.errors import Message, as_message
from processes.models import Base, utcnow


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    """``seal.expiring``, ``task.reminder``."""
    key: Mapped[str] = mapped_column(Text)
    """What it says, as a message id: an English template with ``%(name)s`` placeholders
    (``processes.errors.msg``), which the app's catalogues translate."""
    args: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The template's values (a value that is itself a message: ``{"key", "args"}``); None
    for a key that is the finished text."""
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

    @property
    def message(self) -> Message:
        """What it says: the English text, carrying its key and values for the app to put in
        the reader's language (``app.errors.translate``)."""
        return as_message(self.key, self.args)

