"""The audit chain's head, kept outside the database: ``{seq, hash, mac, key_id, file_mac}`` as
JSON (``SEALFLOW_DATA_DIR/audit-head.json`` unless set otherwise), keyed with the audit key.
Written after each commit that appended; verification finds against it the events cut from the
end of the log, which nothing inside the database could show.

Writers in several processes and threads: under a file lock (and a thread lock: one process's
threads share the file's), the file is read, and replaced (a temporary file, renamed over it,
so a reader sees the old head or the new one, whole) only when its seq is older than ours:
commits may finish their after-commit work in another order than they committed."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from processes.audit_keys import Keyring

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_written: dict[Path, int] = {}
"""The newest seq this process knows is in each file: an older one need not look."""
_FIELDS = ("seq", "hash", "mac", "key_id")


def _body(head: dict[str, Any]) -> bytes:
    return json.dumps([head.get(k) for k in _FIELDS], separators=(",", ":")).encode()


def write(ring: Keyring, seq: int, head_hash: str, mac: str | None) -> None:
    """Record ``seq`` as the head unless the file holds a newer one. A failure is logged, not
    raised: the commit it follows is done (verification then reports the file behind)."""
    path = ring.head_file
    if path is None:
        return
    with _lock:
        if _written.get(path, -1) >= seq:
            return
        try:
            _replace(path, ring, {"seq": seq, "hash": head_hash, "mac": mac,
                                  "key_id": ring.key_id})
        except OSError as exc:
            logger.error("the audit head file %s could not be written: %s", path, exc)


def _replace(path: Path, ring: Keyring, head: dict[str, Any]) -> None:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released as the file closes
        current = _read_json(path)
        if current is not None and isinstance(current.get("seq"), int) \
                and current["seq"] >= head["seq"]:
            _written[path] = current["seq"]
            return
        head["file_mac"] = ring.seal(_body(head))
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(head, indent=1) + "\n")
        os.replace(temporary, path)
        _written[path] = head["seq"]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def read(ring: Keyring) -> tuple[dict[str, Any] | None, str | None]:
    """The head file's head and what is wrong with it: ``(None, None)`` when there is none,
    ``(head, None)`` when its MAC holds, else ``(None, reason)``."""
    if ring.head_file is None:
        return None, None
    head = _read_json(ring.head_file)
    if head is None:
        return None, None
    if not head or not isinstance(head.get("seq"), int) \
            or not isinstance(head.get("hash"), str):
        return None, "the head file cannot be read"
    if not ring.opens(_body(head), head.get("file_mac") or "", head.get("key_id")):
        return None, "the head file's MAC does not hold (changed, or written without the key)"
    return head, None


def forget() -> None:
    """Forget what this process wrote (tests: a head file replaced behind its back)."""
    with _lock:
        _written.clear()
