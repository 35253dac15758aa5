"""The audit chain's head, kept outside the database: ``{seq, hash, mac, key_id, file_mac}`` as
JSON (``SEALFLOW_DATA_DIR/audit-head.json`` unless set otherwise), keyed with the audit key.
Written after each commit that appended; verification finds against it the events cut from the
end of the log, which nothing inside the database could show.

The file holds two slots, one JSON line of :data:`SLOT` bytes each, written in place over the
older one: a write torn by a crash leaves the other, one head older, whole (a rename over the
file would be atomic too, but some file systems flush the data at each rename: 10 ms a commit).
The reader takes the newest slot whose MAC holds. Writers in several processes and threads:
under a file lock (and a thread lock: one process's threads share its descriptor) the slots
are read and ours written only when newer than both: commits may finish their after-commit
work in another order than they committed."""

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

SLOT = 512
_FIELDS = ("seq", "hash", "mac", "key_id")
_lock = threading.Lock()
_written: dict[Path, int] = {}
"""The newest seq this process knows is in each file: an older one need not look."""
_files: dict[Path, int] = {}
"""An open descriptor per file (opened once: a commit should not pay for it)."""


def _body(head: dict[str, Any]) -> bytes:
    return json.dumps([head.get(k) for k in _FIELDS], separators=(",", ":")).encode()


def _text(value: str | None) -> str:
    """``value`` as JSON: hex and ids need no escaping (anything else goes to json.dumps)."""
    if value is None:
        return "null"
    return f'"{value}"' if value.isascii() and value.isalnum() else json.dumps(value)


def _line(ring: Keyring, seq: int, head_hash: str, mac: str | None) -> bytes:
    """A slot as written (the JSON json.dumps gives for ``{seq, hash, mac, key_id,
    file_mac}``, built without it: it is written after every commit)."""
    head_text, mac_text, key_text = _text(head_hash), _text(mac), _text(ring.key_id)
    file_mac = ring.seal(f"[{seq},{head_text},{mac_text},{key_text}]".encode())
    return (f'{{"seq":{seq},"hash":{head_text},"mac":{mac_text},"key_id":{key_text},'
            f'"file_mac":"{file_mac}"}}').encode().ljust(SLOT - 1) + b"\n"


def _seqs(data: bytes) -> list[int]:
    """Each slot's seq (-1: none, or one that cannot be read), read off the start of a whole
    slot as written here; anything else parsed in full."""
    seqs = []
    for at in (0, SLOT):
        line = data[at:at + SLOT]
        if len(line) == SLOT and line[-1:] == b"\n" and line.startswith(b'{"seq":'):
            end = line.find(b",", 7)
            if end > 7 and line[7:end].isdigit() and line.rstrip().endswith(b"}"):
                seqs.append(int(line[7:end]))
                continue
        if not line.strip(b" \n\x00"):
            seqs.append(-1)
            continue
        slots = _slots(data)[:2]  # not as written here: every slot parsed
        return [slot["seq"] if slot is not None else -1 for slot in slots] + [-1, -1]
    return seqs


def _slots(data: bytes) -> list[dict[str, Any] | None]:
    """Each slot's JSON object, None for one that cannot be read."""
    found: list[dict[str, Any] | None] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        found.append(value if isinstance(value, dict) and isinstance(value.get("seq"), int)
                     and isinstance(value.get("hash"), str) else None)
    return found


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
            _write_slot(path, ring, seq, head_hash, mac)
        except OSError as exc:
            logger.error("the audit head file %s could not be written: %s", path, exc)


def _write_slot(path: Path, ring: Keyring, seq: int, head_hash: str, mac: str | None) -> None:
    fd = _files.get(path)
    if fd is None:
        fd = _files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        seqs = _seqs(os.pread(fd, 2 * SLOT + 2, 0))
        if max(seqs) >= seq:
            _written[path] = max(seqs)
            return
        os.pwrite(fd, _line(ring, seq, head_hash, mac), SLOT * (0 if seqs[0] <= seqs[1] else 1))
        _written[path] = seq
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def read(ring: Keyring) -> tuple[dict[str, Any] | None, str | None]:
    """The head file's newest head whose MAC holds, and what is wrong: ``(None, None)`` when
    there is no file (or it is empty), ``(head, None)`` when one holds, else
    ``(None, reason)``."""
    if ring.head_file is None:
        return None, None
    try:
        data = ring.head_file.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"the head file cannot be read ({exc.strerror})"
    if not data.strip():
        return None, None
    held = [slot for slot in _slots(data) if slot is not None and ring.opens(
        _body(slot), slot.get("file_mac") or "", slot.get("key_id"))]
    if not held:
        return None, "no head in the file carries its MAC (changed, or written without the key)"
    return max(held, key=lambda slot: slot["seq"]), None


def forget() -> None:
    """Forget what this process wrote (tests: a head file replaced behind its back)."""
    with _lock:
        _written.clear()
        for fd in _files.values():
            os.close(fd)
        _files.clear()
