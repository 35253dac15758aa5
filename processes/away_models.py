"""Out-of-office: a user away over a range of time names a deputy, who is handed the tasks
created for them meanwhile (the rules are in processes/people/out_of_office.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class OutOfOffice(Base):
    """One user's absence (at most one at a time: setting another replaces it)."""

    __tablename__ = "out_of_office"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    starts_at: Mapped[datetime] = mapped_column()
    """The first moment away."""
    ends_at: Mapped[datetime] = mapped_column()
    """The first moment back (exclusive): a range given as dates ends the day after ``to``."""
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                           index=True)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    """The user themselves, or the administrator who set it for them."""
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
