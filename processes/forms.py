"""Form values: checked and converted by the form fields a flow declares (Camunda formData)."""

from __future__ import annotations

import datetime
from typing import Any

from processes.errors import InvalidContent
from processes.limits import check_data

BUILTINS = frozenset({"requester", "requester_groups", "requester_heads", "business_type",
                      "seal", "seal_type", "seal_custodians", "document_pages", "decision",
                      "decisions", "comment"})
DECISIONS = ("approve", "reject", "return")


def _coerce(field: dict, value: Any) -> Any:
    kind = field.get("type") or "string"
    if kind == "long":
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise ValueError("must be a whole number")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "on", "off", "1", "0"}:
            return value.lower() in {"true", "on", "1"}
        raise ValueError("must be true or false")
    if kind == "date":
        text = str(value).strip()
        for parse in (lambda t: datetime.date.fromisoformat(t[:10]),
                      # Camunda forms' default date pattern
                      lambda t: datetime.datetime.strptime(t, "%d/%m/%Y").date()):
            try:
                return parse(text).isoformat()
            except ValueError:
                continue
        raise ValueError("must be a date (YYYY-MM-DD or dd/MM/yyyy)")
    if kind == "enum":
        allowed = [v["id"] for v in field.get("values", [])]
        if str(value) not in allowed:
            raise ValueError("must be one of " + ", ".join(allowed))
        return str(value)
    if isinstance(value, (dict, list)):
        raise ValueError("must be text")
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_values(form: list[dict], values: dict[str, Any], *, extra_allowed: bool) -> dict:
    """Values converted to the fields' types, defaults filled, every problem reported at once.

    ``extra_allowed``: a request's data may carry variables beyond the start form (except the
    built-ins); a task may set only its own fields.
    """
    if not isinstance(values, dict):
        raise InvalidContent("data must be a JSON object",
                             [{"field": "data", "message": "must be a JSON object"}])
    check_data("data", values)
    problems: list[dict] = []
    out: dict[str, Any] = {}
    fields = {f["id"]: f for f in form}
    for key, value in values.items():
        if key in BUILTINS:
            problems.append({"field": key, "message": "is a built-in variable and cannot be set"})
        elif key not in fields and not extra_allowed:
            problems.append({"field": key, "message": "is not a field of this task"})
        elif key not in fields and not (isinstance(key, str) and key.isidentifier()
                                        and not key.startswith("_")):
            problems.append({"field": key, "message": "is not a valid variable name"})
        elif key not in fields:
            out[key] = value
    for fid, field in fields.items():
        value = values.get(fid)
        if _blank(value) and field.get("default") not in (None, ""):
            value = field["default"]
        if _blank(value):
            if field.get("required"):
                problems.append({"field": fid, "message": f"{field.get('label') or fid} is "
                                 "required"})
            continue
        try:
            out[fid] = _coerce(field, value)
        except ValueError as exc:
            problems.append({"field": fid, "message": f"{field.get('label') or fid} {exc}"})
    if problems:
        first = problems[0]
        raise InvalidContent(f"{first['field']}: {first['message']}", problems)
    return out


def check_decision(decision: Any) -> str | None:
    if decision is None or decision == "":
        return None
    if decision not in DECISIONS:
        raise InvalidContent("decision must be approve, reject or return",
                             [{"field": "decision",
                               "message": "must be approve, reject or return"}])
    return decision
