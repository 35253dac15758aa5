"""`sealflow archive verify`: re-check every filed document (processes/archive/recheck.py)
under a progress bar; Ctrl-C stops it between two documents and prints the `--after` that
resumes it."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.cli_progress import INTERRUPTED, stop_on_interrupt
from app.context import env
from app.extensions import db
from processes.archive import recheck
from processes.db import unit_of_work


@click.group("archive")
def archive_group() -> None:
    """The archive of sealed documents."""


@archive_group.command("verify")
@click.option("--after", type=click.IntRange(min=0), default=0,
              help="resume: check the documents of requests after this id")
@with_appcontext
def archive_verify(after: int) -> None:
    """Read every archived document again and check it: both files present with the bytes
    recorded, the sealed file built on the approved bytes, every signature valid. Exits 1
    naming each document that does not hold."""
    bad, checked, last = [], 0, after
    settings = env()
    with stop_on_interrupt() as stopped, unit_of_work(db.session, write=False):
        total = recheck.count(db.session, after)
        with click.progressbar(length=total, label="checking", file=sys.stderr) as bar:
            for request_id, sealed, original in recheck.entries(db.session, after):
                found = recheck.check(db.session, settings, request_id, sealed, original)
                checked, last = checked + 1, request_id
                if found.problems:
                    bad.append(found)
                bar.update(1)
                if stopped:
                    break
    for found in bad:
        click.echo(f"request {found.request_id}: " + "; ".join(found.problems))
    click.echo(f"{checked} documents checked, {len(bad)} with problems")
    if stopped:
        click.echo(f"interrupted: resume with --after {last}", err=True)
        sys.exit(INTERRUPTED)
    if bad:
        sys.exit(1)
