"""processes.people.passwords: scrypt hashes in Werkzeug's format, read both ways."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from processes.people.passwords import hash_password, needs_rehash, verify_password


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2", "pbkdf2:sha512:1000", "scrypt:1024:8:1"])
def test_werkzeug_hashes_verify(method):
    stored = generate_password_hash("pässwörd-1", method=method)
    assert verify_password(stored, "pässwörd-1")
    assert not verify_password(stored, "pässwörd-2")
    assert not verify_password(stored, "")
    assert needs_rehash(stored) is (not stored.startswith("scrypt:32768:8:1$"))


def test_new_hashes_round_trip_and_werkzeug_reads_them():
    stored = hash_password("correct-horse-1")
    assert stored != hash_password("correct-horse-1")  # salted
    assert verify_password(stored, "correct-horse-1")
    assert not verify_password(stored, "correct-horse-2")
    assert not needs_rehash(stored)
    # The release before this one (Werkzeug's check) still logs these users in.
    assert check_password_hash(stored, "correct-horse-1")


@pytest.mark.parametrize("stored", [
    "", "scrypt", "plain$salt$", "sha256$salt$abc", "md5:1$salt$abc",
    "scrypt:32768:8$salt$00", "scrypt:1000:8:1$salt$00",  # n not a power of 2
    "scrypt:1048576:64:1$salt$00",  # 8 GiB: refused, not attempted
    "pbkdf2:sha256:0$salt$00", "pbkdf2:sha256:999999999$salt$00", "pbkdf2:md5:1000$salt$00",
    "pbkdf2:sha256:x$salt$00",
])
def test_damaged_or_unknown_hashes_match_nothing(stored):
    assert not verify_password(stored, "anything")
