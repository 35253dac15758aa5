"""What was done to a task besides working it (processes/requests/task_actions.py): returned
for revision, delegated (转办), an approver added (加签), people copied (抄送), claimed or
released."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class TaskAction(Base):
    """One action on a task of a request, with who did it, to whom, and why. A ``cc`` row is
    also what lets its user see the request, read-only."""

    __tablename__ = "task_actions"
    # the request's actions; a user's copies (the inbox's 抄送我的 tab); the actions a user
    # took (the requests they may see: the archive's search, migration 0032)
    __table_args__ = (Index("ix_task_actions_request_user", "request_id", "user_id"),
                      Index("ix_task_actions_user_kind", "user_id", "kind"),
                      Index("ix_task_actions_actor_id", "actor_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    """``return``, ``delegate``, ``add_before``, ``add_after``, ``cc``, ``claim`` or
    ``unclaim``; and, on the request rather than a task (``task_id`` None), ``withdraw`` (the
    requester's reason) and ``remind`` (催办: processes/requests/reminders.py)."""
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """Whom it names: the delegate, the added approver, the person copied."""
    target: Mapped[str | None] = mapped_column(String(200))
    """A return's target element; an added approver's task id."""
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
