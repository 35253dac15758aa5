"""The inbox's tables: a user task's row (open or done) and who may work it. Split from
processes/models.py as processes/task_action_models.py was."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processes.models import Base, Request, User, _enum, utcnow
from processes.statuses import TaskStatus


class Task(Base):
    """The inbox row of one user task of an instance, open or done (done ones are history)."""

    __tablename__ = "tasks"
    # parent_id, activity, claimed_by_id: NULL for most tasks, so indexed where not (a full
    # index's NULLs make SQLite's planner read every open task per inbox row: migration 0023;
    # the claims: the archive finds the requests a user may see by them, 0032).
    __table_args__ = (Index("ix_tasks_request_status", "request_id", "status", "completed_at",
                            "id"),
                      *(Index(f"ix_tasks_{c}", c, sqlite_where=text(f"{c} IS NOT NULL"),
                              postgresql_where=text(f"{c} IS NOT NULL"))
                        for c in ("parent_id", "activity", "claimed_by_id")))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.open,
                                               index=True)
    assignee: Mapped[str | None] = mapped_column(String(80))
    candidate_users: Mapped[list[Any]] = mapped_column(JSON, default=list)
    candidate_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    decision: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    # The values entered on the task's form when it was decided (法务意见...): the history
    # shows them, labelled by the form's fields.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # False unless ${requester} itself is the assignee or a candidate user (DESIGN).
    requester_may_work: Mapped[bool] = mapped_column(Boolean, default=False)
    # The document (by hash) the task was completed on: approvals of an older revision don't count.
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    # The multi-instance activation (its task id) this is an instance of: distinct people each.
    activity: Mapped[str | None] = mapped_column(String(36))
    # Out-of-office: [{absent, deputy} or {absent, kept: why}] (processes/people/out_of_office.py)
    deputies: Mapped[list[Any] | None] = mapped_column(JSON)
    # 加签 (requests/added_approvers.py): the flow task gated, before/after it; what it holds.
    parent_id: Mapped[str | None] = mapped_column(String(36))
    position: Mapped[str | None] = mapped_column(String(10))
    held: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    request: Mapped[Request] = relationship()
    candidates: Mapped[list[TaskCandidate]] = relationship(cascade="all, delete-orphan",
                                                           lazy="noload")
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class TaskCandidate(Base):
    """Who may work an open task, resolved to users and groups (one query finds an inbox)."""

    __tablename__ = "task_candidates"
    # An inbox reads its open tasks by these, not its groups' whole history (migration 0020).
    __table_args__ = (Index("ix_task_candidates_user_open", "user_id", "task_open", "task_id"),
                      Index("ix_task_candidates_group_open", "group_id", "task_open", "task_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    # The task is open (inbox.close_candidates clears it as the task leaves the inboxes): who
    # had a task stays a candidate (visibility), and an inbox need not read the history.
    task_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
