"""Every Sealflow setting, read from ``SEALFLOW_*`` environment variables, in one place."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigurationError(Exception):
    """A setting is missing or has a value Sealflow cannot use."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SEALFLOW_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults for a single-machine installation (SQLite, in-process jobs)."""

    def __init__(self) -> None:
        self.DATA_DIR = Path(_env("DATA_DIR", "./instance") or "./instance").resolve()
        db_url = _env("DATABASE_URL") or f"sqlite:///{self.DATA_DIR / 'sealflow.db'}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(db_url)
        self.SECRET_KEY = _env("SECRET_KEY")
        # The passphrase that encrypts every private key at rest (PKCS#8).
        self.KEY_PASSPHRASE = _env("KEY_PASSPHRASE")
        self.ORG_NAME = _env("ORG_NAME", "示例科技有限公司")
        self.BASE_URL = (_env("BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/")
        self.TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
        # "thread": seal in a background thread after the commit (the embedded default);
        # "inline": seal right after the commit, before the response (tests, scripts);
        # "external": leave grants to `sealflow worker`.
        self.JOB_MODE = _env("JOB_MODE", "thread")
        self.JOB_LEASE_SECONDS = int(_env("JOB_LEASE_SECONDS", "300") or 300)
        self.JOB_POLL_SECONDS = int(_env("JOB_POLL_SECONDS", "30") or 30)
        self.MAX_DOCUMENT_BYTES = int(_env("MAX_DOCUMENT_BYTES", str(50 * 1024 * 1024)) or 0)
        self.MAX_BPMN_BYTES = int(_env("MAX_BPMN_BYTES", str(2 * 1024 * 1024)) or 0)
        self.MAX_CONTENT_LENGTH = self.MAX_DOCUMENT_BYTES + 1024 * 1024
        self.CJK_FONT = _env("CJK_FONT")
        self.SQLITE_BUSY_TIMEOUT = float(_env("SQLITE_BUSY_TIMEOUT", "30") or 30)
        self.WTF_CSRF_ENABLED = _env_bool("CSRF", True)
        self.WTF_CSRF_TIME_LIMIT = None
        self.SQLALCHEMY_ENGINE_OPTIONS: dict = {}
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.TESTING = False

    def validate(self) -> None:
        """Raise ConfigurationError for a setting the app cannot run with."""
        if not self.SECRET_KEY:
            raise ConfigurationError(
                "SEALFLOW_SECRET_KEY is not set: it signs sessions and CSRF tokens. "
                "Set it to a long random string (`make run` writes one to instance/.env)."
            )
        if not self.KEY_PASSPHRASE:
            raise ConfigurationError(
                "SEALFLOW_KEY_PASSPHRASE is not set: it encrypts every private key at rest."
            )
        if self.JOB_MODE not in {"thread", "inline", "external"}:
            raise ConfigurationError(
                f"SEALFLOW_JOB_MODE must be thread, inline or external, not {self.JOB_MODE!r}"
            )
        try:
            ZoneInfo(self.TIMEZONE or "")
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"SEALFLOW_TIMEZONE {self.TIMEZONE!r} is not a time zone (e.g. Asia/Shanghai)"
            ) from None
        if not self.SQLALCHEMY_DATABASE_URI.startswith(("sqlite", "postgresql")):
            raise ConfigurationError("SEALFLOW_DATABASE_URL must be a SQLite or PostgreSQL URL")


class TestConfig(Config):
    """Settings for the test suite: a throw-away data directory, inline jobs, no CSRF."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        os.environ.setdefault("SEALFLOW_DATA_DIR", str(data_dir))
        super().__init__()
        self.DATA_DIR = Path(data_dir)
        url = database_url or f"sqlite:///{self.DATA_DIR / 'sealflow.db'}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(url)
        self.SECRET_KEY = "test-secret"
        self.KEY_PASSPHRASE = "test-passphrase"
        self.ORG_NAME = "测试科技有限公司"
        self.BASE_URL = "http://localhost"
        self.JOB_MODE = "inline"
        self.WTF_CSRF_ENABLED = False
        self.TESTING = True


def normalise_database_url(url: str) -> str:
    """Accept a plain ``postgresql://`` URL and use the psycopg 3 driver for it."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url
