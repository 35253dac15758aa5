"""The database schema: typed SQLAlchemy 2.0 models (``Base`` is Flask-SQLAlchemy's model class)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship
from sqlalchemy.types import TypeDecorator

from processes.errors import Message, as_message, stored_args
from processes.statuses import (  # noqa: F401 - kept importable beside the tables
    GrantStatus,
    KeyStorage,
    RequestStatus,
    Role,
    SealStatus,
    TaskStatus,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend (SQLite drops the offset; we store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON})


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str | None] = mapped_column(String(254))  # notices are mailed here (SMTP)
    language: Mapped[str | None] = mapped_column(String(10))
    """``zh_CN`` or ``en``: the language their mail is written in (the one they last logged in
    with); None: Chinese."""

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan")

    @property
    def role_names(self) -> set[str]:
        return {r.role.value for r in self.roles}

    # The protocol Flask-Login expects of a user object (plain attributes, no Flask import).
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name}>"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")


class Group(Base):
    """A department. Lanes and candidate groups name groups by key or display name."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    head: Mapped[User | None] = relationship(foreign_keys=[head_id])


class Membership(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True, index=True)
    user: Mapped[User] = relationship(back_populates="memberships")
    group: Mapped[Group] = relationship()


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored (tokens are long and random)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    scopes: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    """Written at most once a minute, after the response (processes/people/tokens.py)."""
    user: Mapped[User] = relationship()


class ProcessDefinition(Base):
    """One deployed version of a flow. The spec is parsed from ``files`` and cached per process."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "sha256"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    # {filename: xml text} of the BPMN (and later DMN) files deployed together.
    files: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    authorized_end: Mapped[str] = mapped_column(String(200))
    # Per user task: name, lane, assignee/candidate expressions, form fields (see flows.bpmn).
    tasks: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_form: Mapped[list[Any]] = mapped_column(JSON)
    # make | void | revoke: a lifecycle flow, whose authorized end changes a seal.
    seal_action: Mapped[str | None] = mapped_column(String(20))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)  # the deployer's, shown in the history
    # A retired version starts no new requests; those running on it finish (migration 0016).
    retired_at: Mapped[datetime | None] = mapped_column()
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class BusinessType(Base):
    """A kind of seal use (合同用印, 公文用印...) mapped to the flow that handles it."""

    __tablename__ = "business_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(200))
    retention_years: Mapped[int | None] = mapped_column(Integer)
    """How long its sealed documents are kept in the archive; None: SEALFLOW_RETENTION_YEARS
    (migration 0026; processes/archive/retention.py)."""


class Seal(Base):
    __tablename__ = "seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    status: Mapped[SealStatus] = mapped_column(_enum(SealStatus), default=SealStatus.active)
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    # Empty while a seal waits for an external CA's certificate (status requested).
    cert_pem: Mapped[bytes] = mapped_column(LargeBinary)
    key_pem: Mapped[bytes] = mapped_column(LargeBinary)  # empty for a PKCS#11 key
    # An external CA's seal: the request sent to it, and its CA certificates (leaf-up, the
    # root last) once the certificate is imported; None for the organisation CA's seals.
    csr_pem: Mapped[bytes | None] = mapped_column(LargeBinary)
    chain_pem: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_storage: Mapped[KeyStorage] = mapped_column(_enum(KeyStorage), default=KeyStorage.software,
                                                    server_default=KeyStorage.software.value)
    key_label: Mapped[str | None] = mapped_column(String(64))  # the PKCS#11 key's label
    certificate_serial: Mapped[str] = mapped_column(String(64))
    appearance_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    appearance_png: Mapped[bytes] = mapped_column(LargeBinary)
    # PAdES level of this seal's signatures (B-B, B-T, B-LT, B-LTA); null: SEALFLOW_PADES_LEVEL.
    pades_level: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    custodians: Mapped[list[User]] = relationship(secondary="seal_custodians", lazy="selectin",
                                                  order_by="User.name")


class SealCustodian(Base):
    __tablename__ = "seal_custodians"

    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class Document(Base):
    """A stored PDF, content-addressed: the file lives at ``documents/<sha[:2]>/<sha>.pdf``."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer)
    # [[number, generation], ...] of each page object, read at upload (None before 0006).
    page_refs: Mapped[list[list[int]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Request(Base):
    """A request to seal one document; the running BPMN instance's state lives here."""

    __tablename__ = "requests"
    # The sealed ones by when (the dashboard's seal uses: migration 0032).
    __table_args__ = (Index("ix_requests_requester_status", "requester_id", "status"),
                      Index("ix_requests_sealed_at", "sealed_at", "seal_id",
                            sqlite_where=text("sealed_at IS NOT NULL"),
                            postgresql_where=text("sealed_at IS NOT NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus), index=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    business_type: Mapped[str | None] = mapped_column(String(100))
    # None only for a request to make a seal (filled in when the seal is made).
    seal_id: Mapped[int | None] = mapped_column(ForeignKey("seals.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # None for a lifecycle request (seal_action): it carries no PDF, its data is approved.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    filename: Mapped[str] = mapped_column(String(300))
    placement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # SpiffWorkflow serializer output (without the spec, which is the process definition's).
    state: Mapped[str] = mapped_column(Text)
    state_version: Mapped[str] = mapped_column(String(20))
    sealed_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    failure: Mapped[str | None] = mapped_column(Text)
    """Why it failed or stopped, in English (logs, the audit); set through ``fail_with``."""
    failure_key: Mapped[str | None] = mapped_column(Text)
    """The same as a message id and its values (``processes.errors.msg``), put into the
    reader's language when shown; None for a reason stored before they were kept (0024)."""
    failure_args: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    end_event: Mapped[str | None] = mapped_column(String(200))
    # The earliest due time of the instance's waiting timers (the scheduler's index).
    timer_due_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sealed_at: Mapped[datetime | None] = mapped_column()
    # The time in the seal's RFC 3161 timestamp (the TSA's word, not our clock); None for a
    # B-B seal and for requests sealed before migration 0027.
    timestamped_at: Mapped[datetime | None] = mapped_column()
    # The serial of the seal's certificate that signed (a renewal later changes the seal's).
    certificate_serial: Mapped[str | None] = mapped_column(String(64))

    process: Mapped[ProcessDefinition] = relationship(lazy="joined")
    seal: Mapped[Seal | None] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined")
    document: Mapped[Document | None] = relationship(foreign_keys=[document_id], lazy="joined")
    sealed_document: Mapped[Document | None] = relationship(foreign_keys=[sealed_document_id])

    @property
    def failure_reason(self) -> Message | None:
        """Why it failed or stopped, as a message for the app to put into the reader's
        language (``app.errors.translate``); an older row's English text as it is."""
        if self.failure_key is not None:
            return as_message(self.failure_key, self.failure_args)
        return None if self.failure is None else Message(self.failure)

    def fail_with(self, reason: str | None) -> None:
        """Keep ``reason`` (a ``msg(...)``, or a library's text) as the failure, or clear it
        (None): the one way ``failure`` and its key are written together."""
        self.failure = None if reason is None else str(reason)
        self.failure_key = reason.key if isinstance(reason, Message) else None
        self.failure_args = stored_args(reason) if isinstance(reason, Message) else None


class SigningGrant(Base):
    """Written with the authorized end; consumed once by the sealing job."""

    __tablename__ = "signing_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), unique=True)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id"))
    document_sha256: Mapped[str] = mapped_column(String(64))
    approvals: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[GrantStatus] = mapped_column(_enum(GrantStatus), default=GrantStatus.pending,
                                                index=True)
    lease_until: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Unique: a grant can point at one sealed document only, so it can never seal twice.
    sealed_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"),
                                                           unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    consumed_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    # The seal's usage periods this grant holds a reserved use in (released if it fails).
    reserved: Mapped[list[Any] | None] = mapped_column(JSON)
    # The timestamp service gave no answer: {"for": "timestamp", "try": the next try's number,
    # "of": how many, "next_at", "reason" (English; its message: "reason_key", "reason_args")};
    # lease_until holds the next try off until then.
    # Cleared when the grant fails, so that a retry starts counting afresh.
    waiting: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditEvent(Base):
    """One entry of the tamper-evident log: each event's hash covers the previous event's hash."""

    __tablename__ = "audit_events"
    # The audit page's filters by person and by time (processes/audit_log.py), newest first.
    __table_args__ = (Index("ix_audit_events_actor_seq", "actor", "seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    seal_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # processes.audit: the keyed layer
    key_id: Mapped[str | None] = mapped_column(String(16))  # the MAC key's fingerprint


# Beside: seal policy, usage, lifecycle, PKI, notices, sessions, throttles, idempotency keys
# (imported: metadata).
