"""The bounds on request data, task data and message payloads (processes/limits.py)."""

from __future__ import annotations

import json

import pytest

from processes.errors import InvalidContent
from processes.limits import MAX_DEPTH, check_data, data_problems, read_json


def nested(levels: int, leaf: object = 1) -> object:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def test_depth_is_checked_without_recursion_at_any_depth():
    assert data_problems("data", {"x": nested(MAX_DEPTH - 1)}) == []
    for levels in (MAX_DEPTH, 5000, 200_000):  # far past Python's recursion limit
        [problem] = data_problems("data", {"x": nested(levels)})
        assert problem["field"] == "x"
        assert f"deeper than {MAX_DEPTH} levels" in problem["message"]


@pytest.mark.parametrize("value, expected", [
    ({"x": "a" * 70_000}, "over the limit of 65536"),
    ({"x": list(range(6000))}, "more than 5000 keys and items"),
    ({"x": {"y": 2**63}}, "outside the 64-bit range"),
    ({"x": -(2**63) - 1}, "outside the 64-bit range"),
    ({"x": float("nan")}, "not a finite number"),
    ({"x": [1, float("inf")]}, "not a finite number"),
    ({"x": "a\x00b"}, "NUL character"),
    ({"x": {"k\x00": 1}}, "NUL character"),
    ({"x": "\ud800"}, "not valid Unicode"),
    ({"x": object()}, "not JSON data"),
])
def test_what_no_column_or_variable_keeps_is_refused_naming_the_field(value, expected):
    with pytest.raises(InvalidContent) as refused:
        check_data("payload", value)
    assert expected in refused.value.message
    assert refused.value.problems[0]["field"] in ("x", "payload")


def test_ordinary_data_passes():
    check_data("data", {"amount": 2**63 - 1, "purpose": "采购合同", "items": [{"n": 1.5}] * 100,
                        "flag": True, "none": None})


def test_json_too_deep_to_parse_reads_as_a_placeholder():
    assert read_json('{"a": [1]}') == {"a": [1]}
    assert read_json("[" * 100_000 + "]" * 100_000) == {
        "unreadable": "this value nests too deep to be read"}
    assert json.loads(json.dumps(read_json(b'{"b": 2}'))) == {"b": 2}
