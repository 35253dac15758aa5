"""Form values: checked and converted by the form fields a flow declares (Camunda formData)."""

from __future__ import annotations

import datetime
from typing import Any

from processes.errors import InvalidContent, msg
from processes.limits import check_data

BUILTINS = frozenset({"requester", "requester_groups", "requester_heads", "business_type",
                      "seal", "seal_type", "seal_custodians", "document_pages", "decision",
                      "decisions", "comment"})
DECISIONS = ("approve", "reject", "return")
DATE_RANGE = (datetime.date(1900, 1, 1), datetime.date(2199, 12, 31))
"""Every date field's bounds: a date outside them is a typing mistake or an attack (a return
date in year 1 made the lending flow's daily reminder fire 740,000 times)."""


LONG_LIMIT = 2 ** 63


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(msg("must be a whole number"))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    # 20 digits are past 64 bits already: never convert thousands of them.
    text = value.strip() if isinstance(value, str) else ""
    if text.lstrip("-").isdigit() and text.isascii() and len(text) <= 21:
        return int(text)
    if text.lstrip("-").isdigit():
        raise ValueError(msg("must be a whole number within 64 bits (as Camunda's long)"))
    raise ValueError(msg("must be a whole number"))


def _coerce(field: dict, value: Any) -> Any:
    kind = field.get("type") or "string"
    if kind == "long":
        number = _whole(value)
        if not -LONG_LIMIT <= number < LONG_LIMIT:
            raise ValueError(msg("must be a whole number within 64 bits (as Camunda's long)"))
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "on", "off", "1", "0"}:
            return value.lower() in {"true", "on", "1"}
        raise ValueError(msg("must be true or false"))
    if kind == "date":
        text = str(value).strip()
        for parse in (lambda t: datetime.date.fromisoformat(t[:10]),
                      # Camunda forms' default date pattern
                      lambda t: datetime.datetime.strptime(t, "%d/%m/%Y").date()):
            try:
                day = parse(text)
            except ValueError:
                continue
            if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
                raise ValueError(msg("must be between %(first)s and %(last)s",
                                     first=DATE_RANGE[0], last=DATE_RANGE[1]))
            return day.isoformat()
        raise ValueError(msg("must be a date (YYYY-MM-DD or dd/MM/yyyy)"))
    if kind == "enum":
        allowed = [v["id"] for v in field.get("values", [])]
        if str(value) not in allowed:
            raise ValueError(msg("must be one of %(values)s", values=", ".join(allowed)))
        return str(value)
    if isinstance(value, (dict, list)):
        raise ValueError(msg("must be text"))
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_values(form: list[dict], values: dict[str, Any], *, extra_allowed: bool) -> dict:
    """Values converted to the fields' types, defaults filled, every problem reported at once.

    ``extra_allowed``: a request's data may carry variables beyond the start form (except the
    built-ins); a task may set only its own fields.
    """
    if not isinstance(values, dict):
        raise InvalidContent(msg("data must be a JSON object"),
                             [{"field": "data", "message": msg("must be a JSON object")}])
    check_data("data", values)
    problems: list[dict] = []
    out: dict[str, Any] = {}
    fields = {f["id"]: f for f in form}
    for key, value in values.items():
        if key in BUILTINS:
            problems.append({"field": key,
                             "message": msg("is a built-in variable and cannot be set")})
        elif key not in fields and not extra_allowed:
            problems.append({"field": key, "message": msg("is not a field of this task")})
        elif key not in fields and not (isinstance(key, str) and key.isidentifier()
                                        and not key.startswith("_")):
            problems.append({"field": key, "message": msg("is not a valid variable name")})
        elif key not in fields:
            out[key] = value
    for fid, field in fields.items():
        value = values.get(fid)
        if _blank(value) and field.get("default") not in (None, ""):
            value = field["default"]
        if _blank(value):
            if field.get("required"):
                problems.append({"field": fid, "message": msg(
                    "%(label)s is required", label=field.get("label") or fid)})
            continue
        try:
            out[fid] = _coerce(field, value)
        except ValueError as exc:
            problems.append({"field": fid, "message": msg(
                "%(label)s %(problem)s", label=field.get("label") or fid, problem=exc.args[0])})
    if problems:
        first = problems[0]
        raise InvalidContent(msg("%(field)s: %(problem)s", field=first["field"],
                                 problem=first["message"]), problems)
    return out


def check_decision(decision: Any) -> str | None:
    if decision is None or decision == "":
        return None
    if decision not in DECISIONS:
        raise InvalidContent(msg("decision must be approve, reject or return"),
                             [{"field": "decision",
                               "message": msg("must be approve, reject or return")}])
    return decision
