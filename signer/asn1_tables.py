"""asn1crypto builds each class's lookup tables (an OID's names, a SEQUENCE's fields) on the
class's first use, in steps that are not thread-safe: two sealing threads using a class for the
first time at once can see a half-built table and fail (seen in a worker's first seals:
"invalid literal for int() with base 10: 'sha256'" while building a DigestAlgorithm, and the
seal retried only when its lease ran out). They are built here, once, at import: before any
thread of the process, and before a worker forks its sealing processes."""

from __future__ import annotations

import contextlib

from asn1crypto import core


def _classes(root: type) -> list[type]:
    found: list[type] = []
    seen: set[type] = set()
    stack: list[type] = [root]
    while stack:
        subclasses: list[type] = stack.pop().__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen.add(sub)
                found.append(sub)
                stack.append(sub)
    return found


def build_all() -> int:
    """Build the tables of every asn1crypto class imported so far; how many were built."""
    built = 0
    for cls in _classes(core.Asn1Value):
        if cls in core._SETUP_CLASSES:  # noqa: SLF001 - asn1crypto's own record of built ones
            continue
        # Its first instance builds the tables and records the class; an abstract class that
        # cannot be made is built on its first real use.
        with contextlib.suppress(Exception):
            cls()
        built += cls in core._SETUP_CLASSES  # noqa: SLF001
    return built
