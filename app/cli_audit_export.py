"""`sealflow audit export` (the group is app/cli_audit.py; the domain processes/audit_log.py):
it writes the events a filter picks to a CSV or JSON file, streaming them (the log is
never held in memory) under a progress bar; an interrupted export says where it stopped and
``--after-seq`` resumes it, appending to the same file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click
from flask.cli import with_appcontext

from app.cli import _fail
from app.cli_audit import audit_group
from app.cli_progress import INTERRUPTED, stop_on_interrupt
from app.extensions import db
from processes import audit_log
from processes.db import unit_of_work
from processes.errors import BadInput, SealflowError, msg


@audit_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(audit_log.FORMATS),
              help="csv (UTF-8 with a BOM, for Excel) or json; default: FILE's suffix, else csv")
@click.option("--from", "start", help="first day (2026-12-01) or time, SEALFLOW_TIMEZONE")
@click.option("--to", "end", help="last day (included) or time")
@click.option("--actor", help="a user name")
@click.option("--action", help="an action or its prefix (task. : every task event)")
@click.option("--request", "request_id", help="a request's id")
@click.option("--seal", "seal_id", help="a seal's id")
@click.option("--after-seq", type=click.IntRange(min=0),
              help="resume: append the events after this sequence number to FILE")
@with_appcontext
def audit_export(file: Path, fmt: str | None, start: str | None, end: str | None,
                 actor: str | None, action: str | None, request_id: str | None,
                 seal_id: str | None, after_seq: int | None) -> None:
    """Write the audit events a filter picks to FILE, oldest first, with a progress bar.
    Ctrl-C stops it with the file whole; the command then prints the --after-seq that
    resumes it. The export is itself an audit event."""
    fmt = fmt or ("json" if file.suffix.lower() == ".json" else "csv")
    try:
        which = audit_log.parse_filter({"from": start or "", "to": end or "",
                                        "actor": actor or "", "action": action or "",
                                        "request": request_id or "", "seal": seal_id or ""})
        has_rows = _resumable(file, fmt) if after_seq is not None else False
        with unit_of_work(db.session):
            audit_log.record_export(db.session, None, which, fmt, after=after_seq,
                                    file=file.name)
        with unit_of_work(db.session, write=False):
            total = audit_log.count(db.session, which, after=after_seq)
    except SealflowError as exc:
        _fail(exc)
    with file.open("w" if after_seq is None else "a", encoding="utf-8", newline="") as out:
        if after_seq is None:
            out.write(audit_log.export_start(fmt))
        written, last = _write(out, fmt, which, after_seq, total, has_rows)
    click.echo(f"{written} events written to {file}" + (f" (last seq {last})" if last else ""))


def _write(out: IO[str], fmt: str, which: audit_log.Filter, after_seq: int | None,
           total: int, has_rows: bool) -> tuple[int, int | None]:
    """Stream the events into ``out``. Ctrl-C stops it after the event being written, the
    file left whole (the JSON array ended), and the command says how to resume (a second
    Ctrl-C stops it at once)."""
    written, last = 0, after_seq
    with stop_on_interrupt() as stopped:
        with unit_of_work(db.session, write=False), \
                click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
            for event in audit_log.stream(db.session, None, which, after=after_seq):
                out.write(audit_log.export_row(event, fmt, first=not has_rows))
                has_rows = True
                written, last = written + 1, event.seq
                bar.update(1)
                if stopped:
                    break
    out.write(audit_log.export_end(fmt))
    if stopped:
        out.close()
        click.echo(f"\ninterrupted: {written} events written to {out.name}; resume with "
                   f"--after-seq {last if last is not None else 0}", err=True)
        sys.exit(INTERRUPTED)
    return written, last


def _resumable(file: Path, fmt: str) -> bool:
    """Ready ``file`` for the rest of an export: it must exist; a JSON array's closing ``]``
    is taken off (a file cut off by a crash, without it, is taken as it is). Whether it holds
    events already."""
    if not file.is_file():
        raise BadInput(msg("--after-seq resumes an export: %(file)s does not exist",
                           file=str(file)))
    if fmt == "csv":
        return True
    end = audit_log.export_end("json").encode()
    with file.open("r+b") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - 64))
        tail = fh.read()
        if tail.endswith(end):
            tail = tail[:-len(end)]
            fh.truncate(size - len(end))
        if not tail.rstrip().endswith((b"}", b"[")):
            raise BadInput(msg("%(file)s is not a JSON export this command wrote",
                               file=str(file)))
        return not tail.rstrip().endswith(b"[")
