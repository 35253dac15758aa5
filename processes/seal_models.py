"""The seal's rules and record: usage policy, quota counters, lifecycle transitions, and the
proofs that a flow cannot reach its authorized end without the approvals a policy demands."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from processes.errors import reason_of
from processes.models import Base, SealStatus, _enum, utcnow


class SealPolicy(Base):
    """Who may use a seal for what, how often, on which documents, approved by whom.
    Empty lists and nulls mean "no limit"."""

    __tablename__ = "seal_policies"

    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"),
                                         primary_key=True)
    business_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    users: Mapped[list[Any]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None] = mapped_column()
    valid_to: Mapped[datetime | None] = mapped_column()
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_per_month: Mapped[int | None] = mapped_column(Integer)
    max_pages: Mapped[int | None] = mapped_column(Integer)
    max_bytes: Mapped[int | None] = mapped_column(Integer)
    min_approvals: Mapped[int | None] = mapped_column(Integer)
    # [{"kind": "custodian"}, {"kind": "requester_head"}, {"kind": "group", "ref": "legal"},
    #  {"kind": "user", "ref": "carol"}]: each must approve every use (proved over the flow).
    demands: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # One person meeting two demands (head and custodian) counts once, unless this is off.
    distinct_demands: Mapped[bool] = mapped_column(Boolean, default=True,
                                                   server_default=true())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SealUsage(Base):
    """Uses of a seal per period ("total", or "YYYY-MM"): reserved at the authorized end with
    one conditional UPDATE, so a quota holds however many requests race for it."""

    __tablename__ = "seal_usage"
    __table_args__ = (UniqueConstraint("seal_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    used: Mapped[int] = mapped_column(Integer, default=0)


class Authority(enum.StrEnum):
    """On whose authority a seal's status changed, as it stood then (roles change later; a
    suspension made by an administrator stays one that only an administrator lifts)."""

    admin = "admin"
    """An administrator directly, or the command line: an emergency action."""
    manager = "manager"
    """A custodian or seal administrator directly (a suspension at once, say)."""
    flow = "flow"
    """An authorized lifecycle request (its approvals), named by ``request_id``."""
    system = "system"
    """Sealflow itself: a certificate that expired."""


class SealTransition(Base):
    """One step of a seal's lifecycle: who, on what authority, when, why."""

    __tablename__ = "seal_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[SealStatus | None] = mapped_column(_enum(SealStatus))
    to_status: Mapped[SealStatus] = mapped_column(_enum(SealStatus))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    """Why, in English (the audit, the CLI); with a key when Sealflow wrote part of it."""
    reason_key: Mapped[str | None] = mapped_column(Text)
    """The reason as a message id and its values (``processes.errors.stored_reason``: the
    person's own words a value, never translated), put into the reader's language when
    shown; None for a person's words alone, or a row from before they were kept (0030)."""
    reason_args: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[int | None] = mapped_column(Integer)
    authority: Mapped[Authority] = mapped_column(_enum(Authority))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def why(self) -> str:
        """The reason, a ``Message`` for the app to translate where it has a key."""
        return reason_of({"reason": self.reason, "reason_key": self.reason_key,
                          "reason_args": self.reason_args})


class SealFlowProof(Base):
    """Whether a flow version passes a seal's demanded approvals on every path to its
    authorized end; a failed proof keeps the path that slips through."""

    __tablename__ = "seal_flow_proofs"
    __table_args__ = (UniqueConstraint("seal_id", "process_id", "demands_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"))
    process_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id",
                                                       ondelete="CASCADE"))
    demands_hash: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    demand: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    path: Mapped[list[Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)
