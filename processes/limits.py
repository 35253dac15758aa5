"""Bounds on the free-form data a request, a task or a message carries (DESIGN: every input is
bounded). The data ends up in the instance's state, which SpiffWorkflow restores recursively:
data nested a few hundred levels deep would make that state impossible to load again, and the
request with it impossible to advance, withdraw, migrate or fail when its seal is revoked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from processes.errors import InvalidContent

MAX_DEPTH = 20
"""Levels of objects and lists inside a value (``{"a": [1]}`` is 2 deep)."""
MAX_BYTES = 64 * 1024
"""Size of the whole value as JSON (UTF-8)."""
MAX_ITEMS = 5000
"""Keys and list items, counted over every level."""
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""Whole numbers are 64-bit, as a form's ``long`` is, and as ids are."""


def walk(value: Any) -> Iterator[tuple[Any, list, int]]:
    """Every node of JSON-shaped ``value`` with its path and depth (containers count one level
    each), without recursion: a value of any depth is walked safely. Object keys come as
    nodes of their own (their path ends in the key)."""
    stack: list[tuple[Any, list, int]] = [(value, [], 0)]
    while stack:
        node, path, depth = stack.pop()
        yield node, path, depth
        if isinstance(node, dict):
            for key, child in node.items():
                yield key, [*path, key], depth + 1
                stack.append((child, [*path, key], depth + 1))
        elif isinstance(node, list):
            stack.extend((child, [*path, i], depth + 1) for i, child in enumerate(node))


UNREADABLE = {"unreadable": "this value nests too deep to be read"}


def read_json(text: str | bytes) -> Any:
    """The database's JSON columns, read: a value nested too deep for Python's parser (stored
    before data was bounded) reads as ``UNREADABLE``, so that the row it is in can still be
    loaded, listed, failed or withdrawn."""
    try:
        return json.loads(text)
    except RecursionError:
        return dict(UNREADABLE)


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored as text: a NUL character (PostgreSQL refuses it) or a lone
    surrogate (``"\\ud800"`` in JSON: no UTF-8 for it)."""
    if "\x00" in text:
        return "holds a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def body_problem(value: Any, max_depth: int) -> str | None:
    """Why a parsed JSON body cannot be used at all, or None: nested deeper than
    ``max_depth`` (deep enough to make Python's own repr and serializers recurse past their
    limit), or text that cannot be stored."""
    for node, _path, depth in walk(value):
        if depth > max_depth:
            return f"it is nested deeper than {max_depth} levels"
        problem = text_problem(node) if isinstance(node, str) else None
        if problem:
            return f"a text in it {problem}"
    return None


def _problem(name: str, path: list, message: str) -> dict[str, str]:
    # The variable is the field (as in form problems); the path says where inside it.
    field = str(path[0]) if path else name
    where = name + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in path)
    return {"field": field, "message": f"{where} {message}"}


def data_problems(name: str, value: Any) -> list[dict[str, str]]:
    """What is wrong with ``value`` (JSON-shaped data called ``name``): the first problem met,
    or none."""
    items = 0
    for node, path, depth in walk(value):
        if isinstance(node, (dict, list)):
            if depth >= MAX_DEPTH:
                return [_problem(name, path, f"nests deeper than {MAX_DEPTH} levels")]
            items += len(node)
            if items > MAX_ITEMS:
                return [_problem(name, path, f"holds more than {MAX_ITEMS} keys and items")]
        elif isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return [_problem(name, path, problem)]
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not INT_MIN <= node <= INT_MAX:
                return [_problem(name, path, "is a whole number outside the 64-bit range")]
        elif isinstance(node, float):
            if not math.isfinite(node):
                return [_problem(name, path, "is not a finite number")]
        else:
            return [_problem(name, path, "is not JSON data")]
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > MAX_BYTES:
        return [_problem(name, [], f"is {size} bytes as JSON, over the limit of {MAX_BYTES}")]
    return []


def check_data(name: str, value: Any) -> None:
    """Raise InvalidContent (422) naming the field when ``value`` is too deep, too large, or
    holds what no JSON column or 64-bit variable keeps (NUL characters, huge numbers, NaN)."""
    problems = data_problems(name, value)
    if problems:
        raise InvalidContent(problems[0]["message"], problems)
