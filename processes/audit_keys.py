"""The audit chain's keys: the secret that MACs each event (``SEALFLOW_AUDIT_KEY``), the retired
ones that still verify older events (``SEALFLOW_AUDIT_OLD_KEYS``), and where the keyed head file
goes. Never stored in the database, never logged: an event names its key by a fingerprint (an
HMAC of a fixed label under the key, which tells nothing about the key itself).

The session events of :mod:`processes.audit` find a database's keyring here, by the database's
URL: every engine on that database (the app's, the built-in TSA's own) appends with it."""

from __future__ import annotations

import hashlib
import hmac
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

GENESIS = "0" * 64
"""The hash before the first event, and the MAC before the first keyed one."""

_ID_LABEL = b"sealflow audit key id"


def fingerprint(key: bytes) -> str:
    """The id an event names its key by (16 hex digits)."""
    return hmac.new(key, _ID_LABEL, hashlib.sha256).hexdigest()[:16]


def chain_mac(key: bytes, prev_mac: str, event_hash: str) -> str:
    """The keyed link: ``HMAC-SHA256(key, prev_mac || hash)``, both as their hex text."""
    return hmac.digest(key, (prev_mac + event_hash).encode("ascii"), "sha256").hex()


@dataclass(frozen=True)
class Keyring:
    """The key events are MAC'd with now, the retired ones, and the head file's path."""

    key: bytes = field(repr=False)
    old: tuple[bytes, ...] = field(default=(), repr=False)
    head_file: Path | None = None
    key_id: str = field(init=False)
    _by_id: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("an audit key cannot be empty")
        object.__setattr__(self, "key_id", fingerprint(self.key))
        object.__setattr__(self, "_by_id", {fingerprint(k): k for k in (*self.old, self.key)})

    def find(self, key_id: str | None) -> bytes | None:
        """The key of that fingerprint, current or retired; None for one not held."""
        return self._by_id.get(key_id or "")

    def seal(self, body: bytes) -> str:
        """A MAC of ``body`` (the head file, a checkpoint) under the current key."""
        return hmac.digest(self.key, body, "sha256").hex()

    def opens(self, body: bytes, mac: str, key_id: str | None) -> bool:
        """Whether ``mac`` is ``body``'s under the key ``key_id`` names."""
        key = self.find(key_id)
        return key is not None and hmac.compare_digest(
            hmac.digest(key, body, "sha256").hex(), mac or "")


def keyring(key: str | bytes, old_keys: str | None = None,
            head_file: Path | str | None = None) -> Keyring:
    """A keyring from the settings: ``old_keys`` comma-separated."""
    def raw(k: str | bytes) -> bytes:
        return k if isinstance(k, bytes) else k.strip().encode()
    old = tuple(raw(k) for k in (old_keys or "").split(",") if k.strip())
    return Keyring(raw(key), old, Path(head_file) if head_file else None)


_lock = threading.Lock()
_by_url: dict[str, Keyring] = {}
_by_engine: weakref.WeakKeyDictionary[Engine, Keyring | None] = weakref.WeakKeyDictionary()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def use(engine: Engine, ring: Keyring | None) -> None:
    """Append with ``ring`` on ``engine``'s database (None: unkeyed, as before the keys)."""
    with _lock:
        if ring is None:
            _by_url.pop(_url(engine), None)
        else:
            _by_url[_url(engine)] = ring
        _by_engine.clear()


def for_bind(bind: Engine | Connection | Any) -> Keyring | None:
    """The keyring of the database ``bind`` is on, if one was set (:func:`use`)."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    try:
        return _by_engine[engine]
    except KeyError:
        pass
    with _lock:
        found = _by_url.get(_url(engine))
        _by_engine[engine] = found
    return found
