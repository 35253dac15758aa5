"""A request's history as a timeline (presentation only, no queries): what the request page and
the task page show under History, from ``views.describe``: its submission, every decision with
the values entered on its task's form (labelled by the form's fields), comments and reasons,
what was done to its tasks besides deciding them (returned, delegated, approvers added, people
copied), and how it ended; people as ``王丽 (alice)``, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _

from app.web.present import data_rows
from processes.people.choices import label


def _when(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _step_name(req: Any, element: str | None) -> str:
    return (req.process.tasks.get(element or "") or {}).get("name") or element or "—"


def _returned_to(req: Any, element: str | None, target: str | None) -> str:
    """The name of the step a return went back to, as the flow's return paths name it."""
    meta = req.process.tasks.get(element or "") or {}
    for option in meta.get("return_targets") or []:
        if option.get("id") == target:
            return option.get("name") or str(target)
    return _step_name(req, target)


_DECIDED = {"approve": "approved", "reject": "rejected", "return": "returned"}


def _decision(req: Any, entry: dict[str, Any], returns: dict[str, dict]) -> dict[str, Any]:
    element = entry.get("element")
    meta = req.process.tasks.get(element or "") or {}
    form = meta.get("form", [])
    decision = entry.get("decision")
    own = "${requester}" in f"{meta.get('assignee') or ''} {meta.get('candidate_users') or ''}"
    if decision == "approve" and own:  # the requester's own step: revise and resubmit
        title = _("Resubmitted")
    elif decision == "approve":
        title = _("Approved")
    elif decision == "reject":
        title = _("Rejected")
    elif decision == "return":
        back = returns.get(entry.get("task") or "")
        title = _("Returned to %(step)s", step=_returned_to(
            req, element, back.get("target") if back else None))
    else:
        title = _("Done")
    data = entry.get("data") or {}
    return {"kind": _DECIDED.get(decision or "", "done"), "at": _when(entry.get("at")),
            "step": entry.get("name"), "title": title, "decision": decision,
            "who": label(entry.get("by") or "—", entry.get("by_display_name")),
            "comment": entry.get("comment"),
            # only the fields given: a form's other fields were left blank
            "rows": [row for row in data_rows([f for f in form if f["id"] in data], data)]}


def _action(action: dict[str, Any], people: list[str], step: str | None) -> dict[str, Any]:
    kind = action["kind"]
    named = ", ".join(people)
    title = {"delegate": _("Delegated to %(person)s", person=named),
             "add_before": _("Added %(person)s as an approver before them", person=named),
             "add_after": _("Added %(person)s as an approver after them", person=named),
             "cc": _("Copied to %(people)s", people=named),
             "claim": _("Claimed"), "unclaim": _("Released"),
             "remind": _("Reminded the people of the step")}.get(kind, kind)
    return {"kind": kind, "at": _when(action.get("at")), "step": step, "title": title,
            "decision": None, "who": label(action.get("by") or "—",
                                           action.get("by_display_name")),
            "comment": None, "reason": action.get("reason"), "rows": []}


def timeline(req: Any, details: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries, oldest first: ``{kind, at, step, title, who, decision, comment, reason,
    rows}`` (``rows``: ``(label, text)`` of the values entered on the task's form)."""
    requester = req.requester
    entries = [{"kind": "submitted", "at": _when(req.created_at), "step": None,
                "title": _("Submitted"), "decision": None,
                "who": label(requester.name, requester.display_name), "comment": None,
                "reason": None, "rows": []}]
    actions = details.get("actions") or []
    returns = {a["task"]: a for a in actions if a["kind"] == "return"}
    entries += [_decision(req, h, returns) for h in details.get("history") or []]
    # People copied at once (one action each) make one entry.
    merged: list[tuple[dict[str, Any], list[str]]] = []
    for action in actions:
        if action["kind"] in ("return", "withdraw"):
            # a return's decision says where it went, its reason is the decision's comment;
            # a withdrawal is the request's last entry, below
            continue
        person = label(action.get("user") or "—", action.get("user_display_name"))
        if action["kind"] in ("claim", "unclaim", "remind"):
            merged.append((action, []))
            continue
        last = merged[-1][0] if merged else None
        if (action["kind"] == "cc" and last is not None and last["kind"] == "cc"
                and (last["task"], last["by"], last["reason"]) ==
                (action["task"], action["by"], action["reason"])):
            merged[-1][1].append(person)
        else:
            merged.append((action, [person]))
    steps = {t["id"]: t["name"] for t in details.get("tasks") or []} | {
        h["task"]: h["name"] for h in details.get("history") or []}
    entries += [_action(action, people, steps.get(action["task"]))
                for action, people in merged]
    status = req.status.value
    if status == "sealed" and req.sealed_at is not None:
        entries.append({"kind": "sealed", "at": _when(req.sealed_at), "step": None,
                        "title": _("Sealed"), "decision": None, "who": None, "comment": None,
                        "reason": None, "rows": []})
    elif status == "withdrawn":
        withdrawn = next((a for a in reversed(actions) if a["kind"] == "withdraw"), {})
        entries.append({"kind": "withdrawn",
                        "at": _when(withdrawn.get("at")) or _when(req.updated_at),
                        "step": None, "title": _("Withdrawn"), "decision": None,
                        "who": label(requester.name, requester.display_name),
                        "comment": None, "reason": withdrawn.get("reason"), "rows": []})
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(entries, key=lambda e: e["at"] or floor)  # stable: ties keep their order


def init_app(app: Flask) -> None:
    app.add_template_global(timeline)
