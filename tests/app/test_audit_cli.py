"""`sealflow audit export`: the filtered log to CSV or JSON, streamed under a progress bar;
Ctrl-C leaves a whole file and says how to resume, and `--after-seq` resumes it; each export
is itself an audit event."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess

import pytest
from sqlalchemy import select

from app.extensions import db
from processes import audit
from processes.db import unit_of_work
from processes.models import AuditEvent
from tests.processes_live import ROOT, command, environment


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "export", *args])


@pytest.fixture
def log(app):
    """2,500 events: more than two of the export's batches."""
    with app.app_context(), unit_of_work(db.session):
        for number in range(2500):
            audit.record(db.session, "task.completed" if number % 2 else "request.created",
                         request_id=number + 1, note=f"第{number}号 合同")


def exported(app) -> list[dict]:
    with app.app_context(), unit_of_work(db.session, write=False):
        return [{"actor": e.actor, **e.details} for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "audit.exported")
            .order_by(AuditEvent.seq)).scalars()]


def test_a_csv_export_has_every_event_and_is_recorded(app, log, tmp_path):
    target = tmp_path / "audit.csv"
    result = run(app, str(target), "--action", "task.")
    assert result.exit_code == 0, result.output
    assert "1250 events written" in result.output
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["seq", "at", "actor", "action"]
    assert len(rows) == 1251 and {r[3] for r in rows[1:]} == {"task.completed"}
    seqs = [int(r[0]) for r in rows[1:]]
    assert seqs == sorted(seqs)
    assert json.loads(rows[1][6]) == {"note": "第1号 合同"}
    assert exported(app) == [{"actor": None, "format": "csv", "after_seq": None,
                              "filter": {"action": "task."}, "file": "audit.csv"}]


def test_a_json_export_is_one_json_array_and_resumes(app, log, tmp_path):
    whole = tmp_path / "whole.json"
    assert run(app, str(whole), "--request", "7").exit_code == 0
    assert [e["request_id"] for e in json.loads(whole.read_text())] == [7]

    everything = tmp_path / "all.json"
    assert run(app, str(everything)).exit_code == 0
    events = json.loads(everything.read_text(encoding="utf-8"))
    # And the two exports' own events: an export is recorded before its first row is read.
    assert len(events) == 2502 and events[-1]["action"] == "audit.exported"
    # An export stopped after its 1,000th event (the file closed whole), then resumed.
    part = tmp_path / "part.json"
    lines = everything.read_text(encoding="utf-8").split("\n")
    part.write_text("\n".join(lines[:1001]).rstrip(",") + "\n]\n", encoding="utf-8")
    assert len(json.loads(part.read_text(encoding="utf-8"))) == 1000
    resumed = run(app, str(part), "--after-seq", str(events[999]["seq"]))
    assert resumed.exit_code == 0, resumed.output
    again = json.loads(part.read_text(encoding="utf-8"))
    assert again == events + [again[-1]] and again[-1]["action"] == "audit.exported"
    assert exported(app)[-1]["after_seq"] == events[999]["seq"]


def test_bad_input_is_refused_and_nothing_is_written(app, log, tmp_path):
    target = tmp_path / "x.csv"
    for args, words in ((["--from", "yesterday"], "from"),
                        (["--request", "abc"], "request"),
                        (["--after-seq", "5"], "does not exist")):
        result = run(app, str(target), *args)
        assert result.exit_code == 1 and words in result.output, result.output
        assert not target.exists()
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    result = run(app, str(bad), "--after-seq", "5")
    assert result.exit_code == 1 and "not a JSON export" in result.output
    assert exported(app) == []


def test_ctrl_c_leaves_a_whole_file_and_the_command_says_how_to_resume(app, tmp_path):
    """A real process writing into a pipe it fills: interrupted while it waits for the reader,
    it finishes the event it writes, closes the JSON array and exits 130."""
    with app.app_context(), unit_of_work(db.session):  # about 2 MB: far past a pipe's buffer
        for number in range(8000):
            audit.record(db.session, "timer.fired", request_id=number, pad="x" * 200)
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    process = subprocess.Popen(command("audit", "export", str(fifo)), env=environment(app),
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        with open(fifo, "rb") as reader:
            head = reader.read(200_000)  # the writer is now blocked on a full pipe
            process.send_signal(signal.SIGINT)
            rest = reader.read()
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err.decode()
    events = json.loads(head + rest)  # whole: the array ended
    assert 100 < len(events) < 8000
    message = err.decode()
    assert f"interrupted: {len(events)} events written" in message
    assert f"resume with --after-seq {events[-1]['seq']}" in message

    part = tmp_path / "part.json"
    part.write_bytes(head + rest)
    resumed = run(app, str(part), "--after-seq", str(events[-1]["seq"]))
    assert resumed.exit_code == 0, resumed.output
    again = json.loads(part.read_text(encoding="utf-8"))
    timers = [e["request_id"] for e in again if e["action"] == "timer.fired"]
    assert timers == list(range(8000))
