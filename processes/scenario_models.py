"""Saved dry-run scenarios (processes/requests/scenarios.py): a sample request kept with its
flow's key, with the route and end it reached when saved, re-run at every validate and deploy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow


class ProcessScenario(Base):
    """One named dry run of a flow (its key: it outlives the versions)."""

    __tablename__ = "process_scenarios"
    __table_args__ = (UniqueConstraint("process_key", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(80))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The dry run's input: data, business_type, requester, seal, pages, decisions, max_steps."""
    route: Mapped[list[str]] = mapped_column(JSON)
    """The element ids the run visited, in order, when saved."""
    end: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """``{element_id, authorized}`` it reached when saved; None: no end."""
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
