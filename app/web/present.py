"""Presentation only: labels, times and form values as the pages show them (no queries)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from processes.errors import SealflowError

# Request statuses (DESIGN: The path of one request), Chinese first.
STATUS_LABELS = {
    "running": "审批中 Running",
    "halted": "已暂停 Halted",
    "incident": "异常 Incident",
    "authorized": "已授权 Authorized",
    "sealed": "已盖章 Sealed",
    "rejected": "已驳回 Rejected",
    "withdrawn": "已撤回 Withdrawn",
    "failed": "盖章失败 Failed",
}
SEAL_STATUS_LABELS = {
    "requested": "申请中 Requested",
    "active": "启用 Active",
    "suspended": "已暂停 Suspended",
    "voided": "已作废 Voided",
    "revoked": "已吊销 Revoked",
    "expired": "已过期 Expired",
}
DECISION_LABELS = {"approve": "同意 Approved", "reject": "驳回 Rejected",
                   "return": "退回 Returned"}


def localtime(value: datetime | str | None) -> str:
    """``YYYY-MM-DD HH:MM`` in the configured timezone (SEALFLOW_TIMEZONE)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def status_label(status: Any) -> str:
    key = getattr(status, "value", status)
    return STATUS_LABELS.get(key, str(key))


def seal_status_label(status: Any) -> str:
    key = getattr(status, "value", status)
    return SEAL_STATUS_LABELS.get(key, str(key))


def decision_label(decision: str | None) -> str:
    if not decision:
        return "—"
    return DECISION_LABELS.get(decision, decision)


def field_value(field: dict | None, value: Any) -> str:
    """A form value as text: thousands separators for numbers, 是/否, an enum's name."""
    if value is None or value == "":
        return "—"
    kind = (field or {}).get("type")
    if isinstance(value, bool) or kind == "boolean":
        return "是 Yes" if value in (True, "true", "on", "1") else "否 No"
    if isinstance(value, int) or (kind == "long" and str(value).lstrip("-").isdigit()):
        return f"{int(value):,}"
    if kind == "enum":
        for option in (field or {}).get("values", []):
            if option.get("id") == value:
                return option.get("name") or str(value)
    return str(value)


def data_rows(form: list[dict] | None, data: dict | None) -> list[tuple[str, str]]:
    """(label, text) for a request's data: the start form's fields first, then any others."""
    form, data = form or [], data or {}
    rows = [(f.get("label") or f["id"], field_value(f, data.get(f["id"]))) for f in form]
    known = {f["id"] for f in form}
    rows += [(key, field_value(None, value)) for key, value in data.items() if key not in known]
    return rows


def request_title(req: Any) -> str:
    """What a person recognises a request by: the file, the purpose and the amount."""
    data = req.data or {}
    parts = [req.filename]
    if data.get("purpose"):
        parts.append(str(data["purpose"]))
    if isinstance(data.get("amount"), int | float) and not isinstance(data["amount"], bool):
        parts.append(f"¥{data['amount']:,}")
    return " · ".join(parts)


def problems_by_field(error: SealflowError | None) -> dict[str, str]:
    """A domain error's ``problems`` keyed by form field, to show each next to its input."""
    if error is None:
        return {}
    found: dict[str, str] = {}
    for problem in error.problems:
        if problem.get("field") and problem["field"] not in found:
            found[problem["field"]] = problem.get("message", "")
    return found


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(status_label)
    app.add_template_filter(seal_status_label)
    app.add_template_filter(decision_label)
    app.add_template_filter(request_title)
    app.add_template_global(field_value)
    app.add_template_global(data_rows)
