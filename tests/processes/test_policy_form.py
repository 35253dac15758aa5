"""The seal policy page's form (processes/seals/policy_form.py): its text parsed into the
changes the command line would make, every bad field named, and a policy shown back as the
form's values."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from processes.errors import BadInput
from processes.seals import policy_form

ZONE = "Asia/Shanghai"


def _problems(form: dict) -> dict[str, str]:
    """Each field's problems, joined."""
    with pytest.raises(BadInput) as refused:
        policy_form.parse(db.session, form, ZONE)
    found: dict[str, str] = {}
    for p in refused.value.problems:
        found[p["field"]] = "; ".join(filter(None, [found.get(p["field"]), str(p["message"])]))
    return found


def test_a_form_becomes_every_field_of_the_policy(ctx, make_user):
    make_user("carol", groups=["legal"])
    changes = policy_form.parse(db.session, {
        "max_uses": " 12 ", "max_per_month": "", "min_approvals": "0",
        "groups": "legal，legal", "users": "carol", "valid_from": "2027-01-31T18:00",
        "demands": "custodian\nrequester_head, group:legal user:carol"}, ZONE)
    assert changes["max_uses"] == 12 and changes["max_per_month"] is None
    assert changes["min_approvals"] == 0 and changes["groups"] == ["legal", "legal"]
    assert changes["valid_from"] == datetime(2027, 1, 31, 18, tzinfo=ZoneInfo(ZONE))
    assert changes["valid_to"] is None and changes["business_types"] == []
    assert changes["demands"] == [{"kind": "custodian"}, {"kind": "requester_head"},
                                  {"kind": "group", "ref": "legal"},
                                  {"kind": "user", "ref": "carol"}]
    assert changes["distinct_demands"] is False  # not ticked
    shown = policy_form.values({**changes, "valid_from": changes["valid_from"].isoformat()},
                               ZONE)
    assert shown["valid_from"] == "2027-01-31T18:00" and shown["max_uses"] == "12"
    assert shown["demands"].splitlines() == ["custodian", "requester_head", "group:legal",
                                             "user:carol"]


def test_each_bad_field_is_named(ctx):
    problems = _problems({"max_uses": "²", "max_pages": "-1", "max_bytes": str(2**31),
                          "business_types": ["nope"], "groups": "ghosts", "users": "nobody",
                          "demands": "boss\ngroup:", "valid_from": "2027-02-01",
                          "valid_to": "2027-01-01"})
    assert set(problems) == {"max_uses", "max_pages", "max_bytes", "business_types", "groups",
                             "users", "demands", "valid_to"}
    assert "boss is not a demand" in problems["demands"]
    assert "group: is not a demand" in problems["demands"]
    assert _problems({"valid_from": "tomorrow"}) == {
        "valid_from": "must be a date and time like 2027-01-31 18:00"}
    many = ",".join(f"u{i}" for i in range(201))
    assert _problems({"users": many}) == {"users": "at most 200 names"}
