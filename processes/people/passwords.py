"""Password hashes: scrypt from the standard library, in the format Werkzeug's
``generate_password_hash`` writes (``scrypt:32768:8:1$<salt>$<hex>``), so every hash stored
before Sealflow stopped using Werkzeug for this still verifies, and the previous release could
still read the hashes written now. Werkzeug's ``pbkdf2:<hash>:<iterations>$<salt>$<hex>`` hashes
verify too, and are replaced by a scrypt hash at the next successful log-in
(``needs_rehash``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Werkzeug 3's defaults (N=2**15, r=8, p=1: 32 MiB and some 50 ms a hash), kept: a log-in
# costs what it did.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
CURRENT = f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}"

# What a stored hash may ask for: a damaged row must not make a log-in take gigabytes or minutes.
_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
_MAX_PBKDF2_ITERATIONS = 10_000_000
_PBKDF2_HASHES = {"sha256", "sha512"}


def hash_password(password: str) -> str:
    """A new hash of ``password`` (a random 128-bit salt, scrypt with the current cost)."""
    salt = secrets.token_urlsafe(16)  # URL-safe: never the format's "$"
    return f"{CURRENT}${salt}${_scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).hex()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (compared in constant time).
    A hash in no format known here, or with a cost out of bounds, matches nothing."""
    method, _, rest = stored.partition("$")
    salt, _, expected = rest.partition("$")
    if not salt or not expected:
        return False
    derived = _derive(method, salt, password)
    return derived is not None and hmac.compare_digest(derived.hex(), expected)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` is not a hash ``hash_password`` would make now (another method or
    cost): the password that just verified against it is then hashed again."""
    return stored.partition("$")[0] != CURRENT


def _derive(method: str, salt: str, password: str) -> bytes | None:
    name, *args = method.split(":")
    try:
        if name == "scrypt" and len(args) == 3:
            n, r, p = map(int, args)
            return _scrypt(password, salt, n, r, p)
        if name == "pbkdf2" and len(args) == 2 and args[0] in _PBKDF2_HASHES:
            iterations = int(args[1])
            if not 0 < iterations <= _MAX_PBKDF2_ITERATIONS:
                return None
            return hashlib.pbkdf2_hmac(args[0], password.encode(), salt.encode(), iterations)
    except ValueError:  # not numbers, or parameters scrypt refuses (n not a power of 2...)
        return None
    return None


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> bytes:
    # Werkzeug hashes the salt's text (not decoded bytes) and allows 132 * n * r * p bytes.
    memory = 132 * n * r * p
    if memory > _MAX_SCRYPT_MEMORY:
        raise ValueError("scrypt parameters beyond what Sealflow allows")
    return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=memory)
