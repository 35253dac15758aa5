"""A seal's usage policy as the seal administration page edits it: every field the command line
sets (``sealflow seal policy``), as the text a form sends, parsed into the changes
:func:`processes.seals.policy.set_policy` takes (which checks them again), and back. Unlike the
command line the page sets every field at once: a blank field means "no limit"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.errors import BadInput, Message, msg
from processes.models import BusinessType, Group, User

NUMBERS = ("max_uses", "max_per_month", "max_pages", "max_bytes", "min_approvals")
LISTS = ("groups", "users")
TIMES = ("valid_from", "valid_to")
# The largest number a limit may be (the column is a 32-bit integer).
MOST = 2**31 - 1
# The most names a list of the policy may hold (business types, groups, users, demands).
MOST_NAMES = 200


def split(text: Any) -> list[str]:
    """Names in a form value, separated by commas (either width), spaces or lines."""
    for separator in ("，", "\n", " ", "、"):
        text = str(text or "").replace(separator, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def parse(session: Session, form: Mapping[str, Any], timezone: str) -> dict[str, Any]:
    """The changes a policy form asks for. ``form``: each field's text, ``business_types`` a
    list (the ticked boxes), ``distinct_demands`` true when ticked. Raises BadInput listing a
    problem per bad field (a number that is not one, an unknown group, user or business type, a
    demand not understood, a window that ends before it starts)."""
    problems: list[dict] = []
    changes: dict[str, Any] = {}
    for name in NUMBERS:
        text = str(form.get(name) or "").strip()
        if not text:
            changes[name] = None
        elif not (text.isascii() and text.isdigit()) or int(text) > MOST:
            problems.append({"field": name, "message": msg(
                "must be a whole number from 0 to %(most)s, or blank for no limit", most=MOST)})
        else:
            changes[name] = int(text)
    zone = ZoneInfo(timezone)
    for name in TIMES:
        text = str(form.get(name) or "").strip()
        changes[name] = None
        if text:
            try:
                changes[name] = datetime.fromisoformat(text).replace(tzinfo=zone)
            except ValueError:
                problems.append({"field": name, "message": msg(
                    "must be a date and time like 2027-01-31 18:00")})
    if changes.get("valid_from") and changes.get("valid_to") \
            and changes["valid_from"] >= changes["valid_to"]:
        problems.append({"field": "valid_to", "message": msg("must be after the start")})
    types = [str(t) for t in form.get("business_types") or []]
    changes["business_types"] = types
    _unknown(session, BusinessType.key, types, "business_types",
             lambda name: msg("no business type %(name)s", name=name), problems)
    changes["groups"] = split(form.get("groups"))
    _unknown(session, Group.key, changes["groups"], "groups", _no_group, problems)
    changes["users"] = split(form.get("users"))
    _unknown(session, User.name, changes["users"], "users", _no_user, problems)
    changes["demands"] = []
    for line in split(form.get("demands"))[:MOST_NAMES + 1]:
        kind, _, ref = line.partition(":")
        if kind in ("custodian", "requester_head") and not ref:
            changes["demands"].append({"kind": kind})
        elif kind in ("group", "user") and ref:
            changes["demands"].append({"kind": kind, "ref": ref})
        else:
            problems.append({"field": "demands", "message": msg(
                "%(demand)s is not a demand: write custodian, requester_head, group:KEY or "
                "user:NAME", demand=line)})
    if len(changes["demands"]) > MOST_NAMES:
        problems.append({"field": "demands", "message": msg("at most %(most)s names",
                                                            most=MOST_NAMES)})
    _unknown(session, Group.key, [d["ref"] for d in changes["demands"] if d["kind"] == "group"],
             "demands", _no_group, problems)
    _unknown(session, User.name, [d["ref"] for d in changes["demands"] if d["kind"] == "user"],
             "demands", _no_user, problems)
    changes["distinct_demands"] = bool(form.get("distinct_demands"))
    if problems:
        raise BadInput(msg("the policy was not saved: %(field)s %(problem)s",
                           field=problems[0]["field"], problem=problems[0]["message"]),
                       problems)
    return changes


def _no_group(name: str) -> Message:
    return msg("no group with the key %(name)s", name=name)


def _no_user(name: str) -> Message:
    return msg("no user named %(name)s", name=name)


def _unknown(session: Session, column: Any, names: list[str], field: str,
             message: Callable[[str], Message], problems: list[dict]) -> None:
    if not names:
        return
    if len(names) > MOST_NAMES:
        problems.append({"field": field, "message": msg("at most %(most)s names",
                                                        most=MOST_NAMES)})
        return
    known = set(session.execute(select(column).where(column.in_(names))).scalars())
    problems.extend({"field": field, "message": message(name)}
                    for name in names if name not in known)


def values(described: dict[str, Any], timezone: str) -> dict[str, Any]:
    """A policy (:func:`processes.seals.policy.describe`) as the form shows it."""
    zone = ZoneInfo(timezone)
    out: dict[str, Any] = {name: "" if described.get(name) is None else str(described[name])
                           for name in NUMBERS}
    for name in TIMES:
        value = described.get(name)
        out[name] = datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%dT%H:%M") \
            if value else ""
    out["business_types"] = list(described.get("business_types") or [])
    for name in LISTS:
        out[name] = ", ".join(described.get(name) or [])
    out["demands"] = "\n".join(
        f"{d['kind']}:{d['ref']}" if d.get("ref") else d["kind"]
        for d in described.get("demands") or [])
    out["distinct_demands"] = described.get("distinct_demands", True) is not False
    return out
