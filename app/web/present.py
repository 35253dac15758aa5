"""Presentation only: labels, times and form values as the pages show them (no queries)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_pgettext as _p

from app.errors import translate
from processes.errors import SealflowError

# Request statuses (DESIGN: The path of one request), seal statuses, task statuses and
# decisions as words in the reader's language (app/translations).
STATUS_LABELS = {
    "running": _p("status", "Running"),
    "halted": _p("status", "Halted"),
    "incident": _p("status", "Incident"),
    "authorized": _p("status", "Authorized"),
    "sealed": _p("status", "Sealed"),
    "rejected": _p("status", "Rejected"),
    "withdrawn": _p("status", "Withdrawn"),
    "failed": _p("status", "Failed"),
    "completed": _p("status", "Completed"),
}
SEAL_STATUS_LABELS = {
    "requested": _p("status", "Requested"),
    "active": _p("status", "Active"),
    "suspended": _p("status", "Suspended"),
    "voided": _p("status", "Voided"),
    "revoked": _p("status", "Revoked"),
    "expired": _p("status", "Expired"),
}
TASK_STATUS_LABELS = {
    "open": _p("status", "Waiting"),
    "completed": _p("status", "Completed"),
    "cancelled": _p("status", "Cancelled"),
}
DECISION_LABELS = {"approve": _p("decision", "Approved"), "reject": _p("decision", "Rejected"),
                   "return": _p("decision", "Returned")}

# What happened, as the audit log names it (processes.audit.record), as words: the actions a
# request's, a task's and a seal's pages show (the audit page will use the rest).
ACTION_LABELS = {
    "request.created": _p("action", "Request submitted"),
    "request.revised": _p("action", "Document revised"),
    "request.authorized": _p("action", "Authorized"),
    "request.sealed": _p("action", "Sealed"),
    "request.failed": _p("action", "Sealing failed"),
    "request.withdrawn": _p("action", "Withdrawn"),
    "request.halted": _p("action", "Halted"),
    "request.incident": _p("action", "Stopped by an incident"),
    "request.retried": _p("action", "Retried"),
    "request.resumed": _p("action", "Resumed"),
    "request.migrated": _p("action", "Moved to a new flow version"),
    "request.completed": _p("action", "Completed"),
    "request.filed": _p("action", "Filed in the archive"),
    "archive.hold_set": _p("action", "Put under legal hold"),
    "archive.hold_cleared": _p("action", "Legal hold lifted"),
    "business_type.retention_changed": _p("action", "Retention changed"),
    "task.created": _p("action", "Task arrived"),
    "task.claimed": _p("action", "Task claimed"),
    "task.unclaimed": _p("action", "Task released"),
    "task.completed": _p("action", "Task completed"),
    "task.reminded": _p("action", "Reminder sent"),
    "task.returned": _p("action", "Returned for revision"),
    "task.delegated": _p("action", "Task delegated"),
    "task.approver_added": _p("action", "Approver added"),
    "task.held": _p("action", "Waiting for added approvers"),
    "task.copied": _p("action", "People copied"),
    "task.deputy_refused": _p("action", "Deputy refused"),
    "request.reminded": _p("action", "Reminder sent by the requester"),
    "request.evidence_exported": _p("action", "Evidence package exported"),
    "seal.created": _p("action", "Seal created"),
    "seal.changed": _p("action", "Seal changed"),
    "seal.appearance_changed": _p("action", "Seal image changed"),
    "seal.pades_level_changed": _p("action", "Signature level changed"),
    "seal.expiring": _p("action", "Certificate expiring"),
    "seal.policy_changed": _p("action", "Usage policy changed"),
    "seal.custodians_changed": _p("action", "Custodians changed"),
    "seal.certificate_imported": _p("action", "Certificate imported"),
    "seal.certificate_renewed": _p("action", "Certificate renewed"),
    "process.deployed": _p("action", "Flow deployed"),
    "process.retired": _p("action", "Flow version retired"),
    "process.reinstated": _p("action", "Flow version reinstated"),
    "seal_usage.exported": _p("action", "Seal usage log exported"),
    "share.created": _p("action", "Share link made"),
    "share.revoked": _p("action", "Share link revoked"),
    "share.opened": _p("action", "Share link opened"),
    "share.downloaded": _p("action", "Sealed file downloaded through a share link"),
    "share.password_refused": _p("action", "Wrong password on a share link"),
    "share.locked": _p("action", "Share link locked after wrong passwords"),
}


def action_label(action: str | None) -> str:
    """An audit action as words; one without a label (a new one) as its code."""
    return str(ACTION_LABELS.get(action or "", action or "—"))


def localtime(value: datetime | str | None, style: str = "medium") -> str:
    """A time in the configured timezone (SEALFLOW_TIMEZONE), readable in the reader's language
    (Babel: "2026年12月5日 21:16" / "Dec 5, 2026, 9:16 PM"); the page's time zone is the
    organisation's, set by SEALFLOW_TIMEZONE."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return babel_dates.format_datetime(value, _STYLES.get(style, style), tzinfo=_zone(),
                                       locale=get_locale())


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")  # ZoneInfo caches its zones


# Babel's "medium" has seconds; the pages show minutes.
_STYLES = {"medium": "yyyy-MM-dd HH:mm", "long": "long"}


def task_status_label(status: Any) -> str:
    key = getattr(status, "value", status)
    return str(TASK_STATUS_LABELS.get(key, key))


def status_label(status: Any) -> str:
    key = getattr(status, "value", status)
    return str(STATUS_LABELS.get(key, key))


def seal_status_label(status: Any) -> str:
    key = getattr(status, "value", status)
    return str(SEAL_STATUS_LABELS.get(key, key))


def decision_label(decision: str | None) -> str:
    if not decision:
        return "—"
    return str(DECISION_LABELS.get(decision, decision))


def field_value(field: dict | None, value: Any) -> str:
    """A form value as text: thousands separators for numbers, yes/no, an enum's name."""
    if value is None or value == "":
        return "—"
    kind = (field or {}).get("type")
    if isinstance(value, bool) or kind == "boolean":
        return _("Yes") if value in (True, "true", "on", "1") else _("No")
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
            found[problem["field"]] = translate(problem.get("message", ""))
    return found


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(status_label)
    app.add_template_filter(seal_status_label)
    app.add_template_filter(decision_label)
    app.add_template_filter(task_status_label)
    app.add_template_filter(action_label)
    app.add_template_filter(translate)
    app.add_template_filter(request_title)
    app.add_template_global(field_value)
    app.add_template_global(data_rows)
