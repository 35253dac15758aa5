"""The states and roles the tables record: request, task, seal and grant statuses, where a
seal's key lives, and the users' roles."""

from __future__ import annotations

import enum

__all__ = ["GrantStatus", "KeyStorage", "RequestStatus", "Role", "SealStatus", "TaskStatus"]


class Role(enum.StrEnum):
    admin = "admin"
    designer = "designer"
    manager = "manager"
    seal_admin = "seal_admin"
    auditor = "auditor"


class RequestStatus(enum.StrEnum):
    running = "running"
    incident = "incident"
    halted = "halted"
    rejected = "rejected"
    withdrawn = "withdrawn"
    authorized = "authorized"
    sealed = "sealed"
    completed = "completed"  # a lifecycle request whose change of the seal was made
    failed = "failed"


class TaskStatus(enum.StrEnum):
    open = "open"
    completed = "completed"
    cancelled = "cancelled"


class SealStatus(enum.StrEnum):
    requested = "requested"
    active = "active"
    suspended = "suspended"
    voided = "voided"
    revoked = "revoked"
    expired = "expired"


class KeyStorage(enum.StrEnum):
    """Where a seal's private key lives."""

    software = "software"
    """Encrypted PKCS#8 in ``Seal.key_pem`` (the key passphrase decrypts it)."""
    pkcs11 = "pkcs11"
    """Inside the configured PKCS#11 token, under ``Seal.key_label``; never outside it."""


class GrantStatus(enum.StrEnum):
    pending = "pending"
    consumed = "consumed"
    failed = "failed"
