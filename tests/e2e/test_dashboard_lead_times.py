"""The dashboard's lead times (processes/dashboard/figures.py) over many durations: the median
and the 90th percentile are the nearest ranks a fresh sort of every duration in the range
gives (rounded to the second), with the tasks and requests of every version of a flow counted
together under the flow."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from processes.db import unit_of_work
from processes.models import Request, utcnow
from processes.statuses import TaskStatus
from processes.task_models import Task
from tests.conftest import CONTRACT_BPMN, deploy_bytes
from tests.e2e.test_dashboard import _sealed, _set_times

# Seconds, with fractions to round, ties, and more of them than any flow's own tasks. None
# within a millisecond of a half second: SQLite's julianday keeps times to about 50 us.
MORE = [431.2, 95.75, 95.75, 3600.0, 12.4, 7201.6, 300.0, 299.51, 45.0, 86400.25, 61.0,
        600.0, 1.0, 100000.0, 95.75, 7.3, 1800.8, 59.4, 240.0, 3599.6, 5.0, 18000.0, 66.6]


def _nearest(durations: list[float], p: float) -> int:
    ranked = sorted(durations)
    return round(ranked[math.ceil(p * len(ranked)) - 1])


def _add_done_tasks(app, request_id: int, element: str, seconds: list[float],
                    at: datetime) -> None:
    """More completed tasks of ``element`` on the request, created ``at``, each taking its
    ``seconds``."""
    with app.app_context(), unit_of_work(db.session):
        like = db.session.execute(select(Task).where(Task.request_id == request_id,
                                                     Task.element_id == element)).scalar_one()
        for taken in seconds:
            db.session.add(Task(id=str(uuid.uuid4()), request_id=request_id, element_id=element,
                                name=like.name, status=TaskStatus.completed, created_at=at,
                                completed_at=at + timedelta(seconds=taken), decision="approve"))


def test_lead_times_are_the_nearest_ranks_of_every_duration_of_every_version(org, api, app,
                                                                             pdf):
    first = [_sealed(org, pdf) for _ in range(2)]
    table = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_bytes()
    again = deploy_bytes(org.designer, {
        "contract_seal.bpmn": CONTRACT_BPMN.read_bytes(),
        "contract_routing.dmn": table.replace(b"1000000", b"2000000")})
    assert again.status_code == 201 and again.get_json()["version"] == 2
    ids = [*first, _sealed(org, pdf)]
    with app.app_context():
        versions = {db.session.get(Request, i).process_id for i in ids}
    assert len(versions) == 2  # two requests on version 1, one on version 2

    filed = utcnow() - timedelta(days=5)
    head = [timedelta(minutes=m) for m in (50, 10, 30)]
    custodian = [timedelta(seconds=s) for s in (20.6, 20.4, 7200.0)]
    for request_id, h, c in zip(ids, head, custodian, strict=True):
        _set_times(app, request_id, filed, [h, c])
    # Done two days before the request was filed: its last decision stays the custodian's.
    _add_done_tasks(app, ids[2], "dept_head_approve", MORE, filed - timedelta(days=2))

    found = api("audrey", roles=["auditor"]).get("/api/v1/dashboard").get_json()
    steps = {s["step"]: s for s in found["lead_times"]["steps"]}
    assert [(s["flow"], s["step"]) for s in found["lead_times"]["steps"]] == [
        ("contract_seal", "custodian_approve"), ("contract_seal", "dept_head_approve")]
    heads = [h.total_seconds() for h in head] + MORE
    assert (steps["dept_head_approve"]["tasks"], steps["dept_head_approve"]["median_seconds"],
            steps["dept_head_approve"]["p90_seconds"]) == \
        (len(heads), _nearest(heads, 0.5), _nearest(heads, 0.9))
    assert (steps["custodian_approve"]["tasks"], steps["custodian_approve"]["median_seconds"],
            steps["custodian_approve"]["p90_seconds"]) == (3, 21, 7200)
    # From filing to the last decision (the custodian's): head and custodian one after another.
    decided = [(h + c).total_seconds() for h, c in zip(head, custodian, strict=True)]
    [flow] = found["lead_times"]["flows"]
    assert (flow["flow"], flow["requests"], flow["median_seconds"], flow["p90_seconds"]) == \
        ("contract_seal", 3, _nearest(decided, 0.5), _nearest(decided, 0.9))
