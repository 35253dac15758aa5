"""Form values are checked and converted on the server, by the fields the flow declares."""

import pytest

from processes.errors import InvalidContent
from processes.requests.forms import check_decision, check_values

FORM = [
    {"id": "amount", "label": "金额", "type": "long", "required": True},
    {"id": "urgent", "type": "boolean", "default": "false"},
    {"id": "due", "type": "date"},
    {"id": "kind", "type": "enum", "values": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
     "default": "a"},
    {"id": "note", "type": "string"},
]


def test_values_are_converted_and_defaults_filled():
    out = check_values(FORM, {"amount": "12", "urgent": "on", "due": "31/12/2026", "note": 7},
                       extra_allowed=False)
    assert out == {"amount": 12, "urgent": True, "due": "2026-12-31", "kind": "a", "note": "7"}
    assert check_values(FORM, {"amount": 3}, extra_allowed=False)["urgent"] is False


@pytest.mark.parametrize(("values", "field"), [
    ({}, "amount"),
    ({"amount": ""}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": 1, "urgent": "maybe"}, "urgent"),
    ({"amount": 1, "due": "tomorrow"}, "due"),
    ({"amount": 1, "kind": "c"}, "kind"),
    ({"amount": 1, "note": {"x": 1}}, "note"),
    ({"amount": 1, "other": 1}, "other"),
    ({"amount": 1, "decision": "approve"}, "decision"),
])
def test_bad_values_name_their_field(values, field):
    with pytest.raises(InvalidContent) as info:
        check_values(FORM, values, extra_allowed=False)
    assert field in [p["field"] for p in info.value.problems]


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidContent) as info:
        check_values(FORM, {"urgent": "x", "kind": "z"}, extra_allowed=False)
    assert {p["field"] for p in info.value.problems} == {"amount", "urgent", "kind"}


def test_request_data_may_carry_extra_variables_but_not_builtins_or_odd_names():
    assert check_values([], {"project": "X-1"}, extra_allowed=True) == {"project": "X-1"}
    for bad in ({"seal_custodians": ["me"]}, {"bad name": 1}, {"_hidden": 1}):
        with pytest.raises(InvalidContent):
            check_values([], bad, extra_allowed=True)


def test_decisions():
    assert check_decision("return") == "return"
    assert check_decision(None) is None
    with pytest.raises(InvalidContent):
        check_decision("approve!")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "31/12/9999"])
def test_a_date_outside_1900_to_2199_is_refused(day):
    with pytest.raises(InvalidContent) as info:
        check_values(FORM, {"amount": 1, "due": day}, extra_allowed=False)
    (problem,) = info.value.problems
    assert problem["field"] == "due" and "between 1900-01-01 and 2199-12-31" in problem["message"]


@pytest.mark.parametrize("day", ["1900-01-01", "2199-12-31"])
def test_the_range_includes_its_ends(day):
    assert check_values(FORM, {"amount": 1, "due": day}, extra_allowed=False)["due"] == day
