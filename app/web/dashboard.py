"""The dashboard, the pages' side (the API is app/api/dashboard.py, the domain
processes/dashboard/figures.py): ``/dashboard`` for managers, auditors and administrators.
Its filters are in the address (the API's query string); each figure is a chart drawn here
(app/web/charts.py) with its table below."""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import login_required

from app.context import identity
from app.errors import message_of
from app.extensions import db
from app.web import blueprint, charts
from processes.dashboard import figures
from processes.dashboard import filters as report_filters
from processes.errors import BadInput
from processes.isotime import timezone_name

TOP_SEALS = 5
"""The seals drawn as lines (the most used); the table lists every one."""
RULES = {
    "business_types": _l("Business types"), "groups": _l("Departments and users"),
    "valid_from": _l("Not in use yet"), "valid_to": _l("No longer in use"),
    "max_uses": _l("Total uses"), "max_per_month": _l("Uses per month"),
    "max_pages": _l("Pages"), "max_bytes": _l("File size"),
    "min_approvals": _l("Number of approvals"), "demands": _l("Demanded approvals"),
    "policy": _l("Other"),
}
"""A policy rule's name on the page, by its code (processes/seals/policy.py)."""


@blueprint.get("/dashboard")
@login_required
def dashboard():
    who = identity()
    figures.require_reader(who)
    try:
        chosen = report_filters.parse(request.args)
    except BadInput as exc:  # a hand-made address: say so, and show the default range
        flash(message_of(exc), "error")
        chosen = report_filters.parse({})
    found = figures.figures(db.session, who, chosen)
    return render_template("dashboard.html", found=found, filters=chosen,
                           choices=figures.filter_choices(db.session), charts=_charts(found),
                           duration=duration, rule_label=rule_label, zone=timezone_name())


def duration(seconds: float | None) -> str:
    """A lead time as people say it: seconds, minutes, hours or days."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(n)s s", n=max(0, round(seconds)))
    if seconds < 3600:
        return _("%(n)s min", n=round(seconds / 60))
    if seconds < 86400 * 2:
        return _("%(n)s h", n=f"{seconds / 3600:.1f}")
    return _("%(n)s d", n=f"{seconds / 86400:.1f}")


def rule_label(code: str) -> str:
    return str(RULES.get(code, code))


def _charts(found: dict[str, Any]) -> dict[str, Any]:
    """Each figure's chart (None where there is nothing to draw)."""
    uses, lead, tasks = found["seal_uses"], found["lead_times"], found["tasks"]
    refused, stopped = found["refusals"], found["incidents"]
    top = sorted(uses["seals"], key=lambda s: -s["total"])[:TOP_SEALS]
    times = (_("Median"), _("90th percentile"))
    return {
        "uses": charts.lines(
            "chart-uses", _("Seal uses per month"),
            _("Documents sealed each month by the %(count)s most used seals; the table below "
              "lists every seal.", count=len(top)),
            uses["months"], [(s["name"], s["uses"]) for s in top]) if top else None,
        "flows": charts.bars(
            "chart-flows", _("Approval lead time per flow"),
            _("From filing to the last decision: the median and the 90th percentile of each "
              "flow; the table below has the same figures."), times,
            [charts.BarRow(f["flow_name"], [f["median_seconds"], f["p90_seconds"]],
                           [duration(f["median_seconds"]), duration(f["p90_seconds"])])
             for f in lead["flows"]], ("s1", "s3")) if lead["flows"] else None,
        "steps": charts.bars(
            "chart-steps", _("Approval lead time per step"),
            _("From a task's creation to its completion: the median and the 90th percentile "
              "of each step; the table below has the same figures."), times,
            [charts.BarRow(f"{s['flow_name']} · {s['name'] or s['step']}",
                           [s["median_seconds"], s["p90_seconds"]],
                           [duration(s["median_seconds"]), duration(s["p90_seconds"])])
             for s in lead["steps"]], ("s1", "s3")) if lead["steps"] else None,
        "tasks": charts.bars(
            "chart-tasks", _("Open tasks per group"),
            _("Tasks waiting now on each group, and how many of them are overdue; the table "
              "below has the same figures."), (pgettext("count", "Open"), _("Overdue")),
            [charts.BarRow(g["name"] or _("People named"), [g["open"], g["overdue"]],
                           [str(g["open"]), str(g["overdue"])]) for g in tasks["groups"]],
            ("s1", "s0")) if tasks["groups"] else None,
        "refusals": charts.bars(
            "chart-refusals", _("Refusals by policy rule"),
            _("Uses a seal's policy refused, per rule; the table below has the same figures."),
            (_("Refusals"),),
            [charts.BarRow(rule_label(r["rule"]), [r["count"]], [str(r["count"])])
             for r in refused["rules"]], ("s0",)) if refused["rules"] else None,
        "incidents": charts.bars(
            "chart-incidents", _("Incidents per flow"),
            _("Requests stopped by an incident now, and those stopped in the range that have "
              "gone on since; the table below has the same figures."),
            (pgettext("incident", "Open"), _("Resolved")),
            [charts.BarRow(f["flow_name"], [f["open"], f["resolved"]],
                           [str(f["open"]), str(f["resolved"])]) for f in stopped["flows"]],
            ("s0", "s2")) if stopped["flows"] else None,
    }
