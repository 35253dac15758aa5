"""Every Sealflow setting, read from ``SEALFLOW_*`` environment variables, in one place."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit
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


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"SEALFLOW_{name} must be a whole number, not {value!r}") \
            from None


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    if value is None or not value.strip():
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigurationError(f"SEALFLOW_{name} must be a number, not {value!r}") from None


class Config:
    """Defaults for a single-machine installation (SQLite, in-process jobs)."""

    def __init__(self) -> None:
        self.DATA_DIR = Path(_env("DATA_DIR", "./instance") or "./instance").resolve()
        db_url = _env("DATABASE_URL") or f"sqlite:///{self.DATA_DIR / 'sealflow.db'}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(db_url)
        self.SECRET_KEY = _env("SECRET_KEY")
        # The passphrase that encrypts every private key at rest (PKCS#8).
        self.KEY_PASSPHRASE = _env("KEY_PASSPHRASE")
        # The secret that MACs each audit event (never stored in the database, never logged;
        # `make run` writes one to instance/.env), and the retired ones, comma-separated, that
        # still verify the events made before `sealflow audit rotate-key`.
        self.AUDIT_KEY = _env("AUDIT_KEY")
        self.AUDIT_OLD_KEYS = _env("AUDIT_OLD_KEYS")
        # The audit chain's head, written outside the database after each commit that appends.
        self.AUDIT_HEAD_FILE = Path(_env("AUDIT_HEAD_FILE")
                                    or self.DATA_DIR / "audit-head.json").resolve()
        # How often the scheduler anchors the chain's head with a timestamp (hours; 0: never).
        self.AUDIT_ANCHOR_HOURS = _env_float("AUDIT_ANCHOR_HOURS", 1.0)
        self.ORG_NAME = _env("ORG_NAME", "示例科技有限公司")
        # Where clients reach Sealflow: links, and the CRL and OCSP addresses written into
        # certificates. Unset, `run` and `serve` take it from their --host and --port (others,
        # `init` say, use the default, `run`'s own).
        self.BASE_URL_SET = bool((_env("BASE_URL") or "").strip())
        self.BASE_URL = ((_env("BASE_URL") or "").strip() or "http://127.0.0.1:5000").rstrip("/")
        self.TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
        # How many years the archive keeps a sealed document when its business type says
        # nothing (processes/archive/retention.py); nothing is ever deleted on its own.
        self.RETENTION_YEARS = _env_int("RETENTION_YEARS", 30)
        # Notices are also mailed over SMTP when this is set: smtp://[user:password@]host[:port]
        # (STARTTLS when the server offers it) or smtps:// (TLS from the start).
        self.SMTP_URL = (_env("SMTP_URL") or "").strip()
        self.MAIL_FROM = (_env("MAIL_FROM") or "").strip()
        # "thread": seal in a background thread after the commit (the embedded default);
        # "inline": seal right after the commit, before the response (tests, scripts);
        # "external": leave grants to `sealflow worker`.
        self.JOB_MODE = _env("JOB_MODE", "thread")
        self.JOB_LEASE_SECONDS = int(_env("JOB_LEASE_SECONDS", "300") or 300)
        self.JOB_POLL_SECONDS = int(_env("JOB_POLL_SECONDS", "30") or 30)
        # External mode: how often `sealflow worker` looks for grants to seal (a query).
        self.GRANT_POLL_SECONDS = float(_env("GRANT_POLL_SECONDS", "0.1") or 0.1)
        # External mode: how many processes `sealflow worker` seals in (one per core, at most
        # 4 unless set: each idle one polls the database 10 times a second).
        self.SEAL_PROCESSES = max(1, int(_env("SEAL_PROCESSES", "")
                                         or min(os.cpu_count() or 1, 4)))
        # External mode: sealing threads per such process. A seal spends most of its time
        # waiting (the write lock, twice; the TSA): two threads per process fell behind the
        # approvals at saturation (bench/README.md, flows.py).
        self.SEAL_THREADS = max(1, int(_env("SEAL_THREADS", "4") or 4))
        self.MAX_DOCUMENT_BYTES = int(_env("MAX_DOCUMENT_BYTES", str(50 * 1024 * 1024)) or 0)
        self.MAX_BPMN_BYTES = int(_env("MAX_BPMN_BYTES", str(2 * 1024 * 1024)) or 0)
        self.MAX_CONTENT_LENGTH = self.MAX_DOCUMENT_BYTES + 1024 * 1024
        self.CJK_FONT = _env("CJK_FONT")
        # Public verification (POST /api/v1/verify, the /verify page), per client address:
        # "30/minute", "5/second", "1000/hour", or "off".
        self.VERIFY_RATE = _env("VERIFY_RATE", "30/minute") or "30/minute"
        # The route preview of the new-request page (POST /api/v1/requests/route-preview: a dry
        # run of the flow, tens of ms), per client address, as VERIFY_RATE.
        self.ROUTE_PREVIEW_RATE = _env("ROUTE_PREVIEW_RATE", "120/minute") or "120/minute"
        # Passwords tried on share links (POST /s/<token>), per client address, as VERIFY_RATE.
        self.SHARE_PASSWORD_RATE = _env("SHARE_PASSWORD_RATE", "10/minute") or "10/minute"
        # PAdES level of every seal: "B-T" (an RFC 3161 timestamp; the default) or "B-B" (none).
        self.PADES_LEVEL = (_env("PADES_LEVEL", "B-T") or "B-T").strip().upper()
        # An external TSA the sealing job asks for timestamps over HTTP, with HTTP basic-auth
        # credentials if it wants them. Empty (the default): Sealflow's own TSA, which the
        # jobs ask in-process (outside clients reach it at POST /tsa).
        self.TSA_URL = (_env("TSA_URL") or "").strip()
        self.TSA_USERNAME = _env("TSA_USERNAME")
        self.TSA_PASSWORD = _env("TSA_PASSWORD")
        # The policy OID Sealflow's own TSA names in its tokens (default: Sealflow's own OID).
        self.TSA_POLICY = _env("TSA_POLICY")
        # A timestamp that cannot be had now (the TSA unreachable, slow, busy, garbled) is asked
        # for again TSA_RETRIES times, waiting TSA_RETRY_BASE_SECONDS, then twice as long each
        # time, at most TSA_RETRY_MAX_SECONDS; the request stays authorized meanwhile.
        self.TSA_RETRIES = _env_int("TSA_RETRIES", 5)
        self.TSA_RETRY_BASE_SECONDS = _env_float("TSA_RETRY_BASE_SECONDS", 30.0)
        self.TSA_RETRY_MAX_SECONDS = _env_float("TSA_RETRY_MAX_SECONDS", 600.0)
        # Outside clients of POST /tsa, per client address (as VERIFY_RATE); Sealflow's own
        # jobs ask the TSA in-process, never limited. TSA_PUBLIC=false: signed-in clients only
        # (a bearer token or a session), others get 401.
        self.TSA_RATE = _env("TSA_RATE", "60/minute") or "60/minute"
        self.TSA_PUBLIC = _env_bool("TSA_PUBLIC", True)
        # Seal keys in an HSM (`seal create --key-storage pkcs11`): the vendor's PKCS#11 module,
        # the token's label and its user PIN (a secret, never logged). Without a token, every
        # seal key is a software key.
        self.PKCS11_MODULE = _env("PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
        self.PKCS11_TOKEN = _env("PKCS11_TOKEN")
        self.PKCS11_PIN = _env("PKCS11_PIN")
        # Seals whose certificate comes from a CA outside Sealflow (`seal create --external-ca`):
        # a PEM file of the root certificates of the CAs trusted to issue them. Verification
        # and long-term validation data trust these beside the organisation root.
        self.EXTERNAL_CA_ROOTS = _env("EXTERNAL_CA_ROOTS")
        # Browser sessions are kept on the server and end this many hours after log-in.
        self.SESSION_HOURS = _env_int("SESSION_HOURS", 12)
        # Failed log-ins: LOGIN_FAILURES for one name, or LOGIN_ADDRESS_FAILURES from one client
        # address, within LOGIN_LOCKOUT_MINUTES refuse every log-in of that name (or from that
        # address) for LOGIN_LOCKOUT_MINUTES (`sealflow user unlock NAME` lifts it sooner).
        # The address is the peer's: behind a reverse proxy that Sealflow does not trust for
        # X-Forwarded-For, every client shares the proxy's, so set LOGIN_ADDRESS_FAILURES=0 (off).
        self.LOGIN_FAILURES = _env_int("LOGIN_FAILURES", 5)
        self.LOGIN_ADDRESS_FAILURES = _env_int("LOGIN_ADDRESS_FAILURES", 20)
        self.LOGIN_LOCKOUT_MINUTES = _env_int("LOGIN_LOCKOUT_MINUTES", 15)
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
        if not self.AUDIT_KEY or len(self.AUDIT_KEY.strip()) < 16:
            raise ConfigurationError(
                "SEALFLOW_AUDIT_KEY is not set, or shorter than 16 characters: it keys the audit "
                "log so that whoever can write the database cannot rewrite it unseen. Set it "
                "to a long random string (`make run` adds one to instance/.env).")
        if not 0 <= self.AUDIT_ANCHOR_HOURS <= 24 * 31:
            raise ConfigurationError(
                f"SEALFLOW_AUDIT_ANCHOR_HOURS must be from 0 (never) to 744 hours, not "
                f"{self.AUDIT_ANCHOR_HOURS}")
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
        if not 1 <= self.RETENTION_YEARS <= 200:
            raise ConfigurationError(
                f"SEALFLOW_RETENTION_YEARS must be 1 to 200 years, not {self.RETENTION_YEARS}")
        if self.PADES_LEVEL not in {"B-B", "B-T"}:
            raise ConfigurationError(
                f"SEALFLOW_PADES_LEVEL must be B-T or B-B, not {self.PADES_LEVEL!r}")
        if self.TSA_URL and not self.TSA_URL.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"SEALFLOW_TSA_URL must be an http:// or https:// URL (or empty, for Sealflow's "
                f"own TSA), not {self.TSA_URL!r}")
        if not self.BASE_URL.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"SEALFLOW_BASE_URL must be an http:// or https:// URL (where clients reach "
                f"Sealflow), not {self.BASE_URL!r}")
        if self.SMTP_URL:
            parse_smtp_url(self.SMTP_URL)
            if "@" not in self.MAIL_FROM:
                raise ConfigurationError("SEALFLOW_MAIL_FROM must be the sender's e-mail "
                                         "address when SEALFLOW_SMTP_URL is set")
        if not 0 <= self.TSA_RETRIES <= 100:
            raise ConfigurationError(
                f"SEALFLOW_TSA_RETRIES must be from 0 to 100, not {self.TSA_RETRIES}")
        if not 0 < self.TSA_RETRY_BASE_SECONDS <= self.TSA_RETRY_MAX_SECONDS <= 86400:
            raise ConfigurationError(
                "SEALFLOW_TSA_RETRY_BASE_SECONDS and SEALFLOW_TSA_RETRY_MAX_SECONDS must be "
                "seconds, more than 0, the base no more than the most, at most 86400 "
                f"(not {self.TSA_RETRY_BASE_SECONDS} and {self.TSA_RETRY_MAX_SECONDS})")
        if self.TSA_USERNAME and ":" in self.TSA_USERNAME:
            raise ConfigurationError("SEALFLOW_TSA_USERNAME cannot contain ':' (basic auth)")
        if self.TSA_POLICY and not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", self.TSA_POLICY):
            raise ConfigurationError(
                f"SEALFLOW_TSA_POLICY must be an OID such as 1.2.3.4, not {self.TSA_POLICY!r}")
        if self.PKCS11_TOKEN and not self.PKCS11_PIN:
            raise ConfigurationError(
                "SEALFLOW_PKCS11_TOKEN is set but SEALFLOW_PKCS11_PIN is not: Sealflow logs in to "
                "the token with the user PIN to sign.")
        if self.PKCS11_TOKEN and not self.PKCS11_MODULE:
            raise ConfigurationError("SEALFLOW_PKCS11_MODULE must name the HSM's PKCS#11 module")
        if not self.SQLALCHEMY_DATABASE_URI.startswith(("sqlite", "postgresql")):
            raise ConfigurationError("SEALFLOW_DATABASE_URL must be a SQLite or PostgreSQL URL")
        parse_rate(self.VERIFY_RATE)
        parse_rate(self.TSA_RATE, "SEALFLOW_TSA_RATE")
        parse_rate(self.ROUTE_PREVIEW_RATE, "SEALFLOW_ROUTE_PREVIEW_RATE")
        parse_rate(self.SHARE_PASSWORD_RATE, "SEALFLOW_SHARE_PASSWORD_RATE")
        if self.EXTERNAL_CA_ROOTS:
            try:
                data = Path(self.EXTERNAL_CA_ROOTS).read_bytes()
            except OSError as exc:
                raise ConfigurationError(
                    f"SEALFLOW_EXTERNAL_CA_ROOTS cannot be read: {exc.strerror}") from None
            if b"-----BEGIN CERTIFICATE-----" not in data:
                raise ConfigurationError(
                    "SEALFLOW_EXTERNAL_CA_ROOTS must be a PEM file of CA certificates")
        for name, low, high in (("SESSION_HOURS", 1, 24 * 90), ("LOGIN_FAILURES", 1, 1000),
                                ("LOGIN_ADDRESS_FAILURES", 0, 100_000),
                                ("LOGIN_LOCKOUT_MINUTES", 1, 7 * 24 * 60)):
            if not low <= getattr(self, name) <= high:
                raise ConfigurationError(
                    f"SEALFLOW_{name} must be from {low} to {high}, not {getattr(self, name)}")


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
        self.AUDIT_KEY = "test-audit-key-0123456789"
        self.AUDIT_HEAD_FILE = self.DATA_DIR / "audit-head.json"
        self.ORG_NAME = "测试科技有限公司"
        self.BASE_URL = "http://localhost"
        # Seals are B-B unless a test asks for timestamps: from the built-in TSA in-process
        # (TSA_URL empty), or over real HTTP (tests/conftest.py: the live_tsa fixture).
        self.PADES_LEVEL = "B-B"
        self.TSA_URL = ""
        self.JOB_MODE = "inline"
        self.WTF_CSRF_ENABLED = False
        self.TESTING = True


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
            "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(text: str, setting: str = "SEALFLOW_VERIFY_RATE") -> tuple[int, int] | None:
    """``"30/minute"`` → ``(30, 60)``: that many calls per that many seconds; None for "off".
    ``setting`` names the setting in the error."""
    value = (text or "").strip().lower()
    if value in {"off", "none", "0"}:
        return None
    count, _, period = value.partition("/")
    period = period.strip()
    if period in {"seconds", "minutes", "hours", "days"}:
        period = period[:-1]
    seconds = _PERIODS.get(period)
    if not count.strip().isdigit() or int(count) < 1 or seconds is None:
        raise ConfigurationError(
            f"{setting} {text!r} is not a rate such as 30/minute, 5/second, "
            "1000/hour or off")
    return int(count), seconds


def parse_smtp_url(url: str) -> tuple[bool, str, int, str | None, str | None]:
    """``smtp://user:password@host:port`` → (TLS from the start, host, port, user, password);
    the port defaults to 25 (smtp) or 465 (smtps)."""
    problem = ConfigurationError("SEALFLOW_SMTP_URL must look like smtp://host:25, "
                                 "smtps://host:465, or smtp://user:password@host:587")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise problem from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise problem
    tls = parts.scheme == "smtps"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return tls, parts.hostname, port or (465 if tls else 25), user, password


def normalise_database_url(url: str) -> str:
    """Accept a plain ``postgresql://`` URL and use the psycopg 3 driver for it."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url
