"""`sealflow audit`: check the audit log (`verify`, resumable), anchor its head (`anchor`),
rotate its key (`rotate-key`); `export` is app/cli_audit_export.py."""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app.audit_jobs import anchor_audit
from app.cli import _fail, transactional
from app.context import env
from app.extensions import db
from processes import audit_keys, audit_verify
from processes.db import unit_of_work
from processes.errors import BadInput, SealflowError
from processes.models import AuditEvent


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


def _load_checkpoint(path: Path) -> audit_verify.Position | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path} is not a checkpoint: {exc}") from None
    ring = audit_keys.for_bind(db.engine)
    found = audit_verify.Position.load(ring, data) if ring is not None and \
        isinstance(data, dict) else None
    if found is None:
        raise click.ClickException(f"{path} is not a checkpoint this key wrote: start again "
                                   "without it")
    return found


def _save_checkpoint(path: Path, at: audit_verify.Position) -> None:
    ring = audit_keys.for_bind(db.engine)
    if ring is None:
        return
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(at.dump(ring)))
    os.replace(temporary, path)


@audit_group.command("verify")
@click.option("--from", "from_seq", type=click.IntRange(1), default=None,
              help="start at this event, trusting the one before it as it stands")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="resume from this file if it exists; keep it up to date while checking "
                   "(removed once the whole log verifies)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@with_appcontext
def verify_command(from_seq: int | None, checkpoint: Path | None, as_json: bool) -> None:
    """Check the audit log: the SHA-256 chain, the MACs, every anchor and the head file.

    Exits 1 at the first event that does not hold, naming it. Ctrl-C stops it; run it again
    with --checkpoint FILE (or --from SEQ) to go on from where it was."""
    try:
        with unit_of_work(db.session, write=False):
            start = _load_checkpoint(checkpoint) if checkpoint is not None else None
            if start is None and from_seq is not None:
                start = audit_verify.position_before(db.session, from_seq)
            report = _verify_with_bar(start, checkpoint)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: run the same command again to go on"
                   + ("" if checkpoint else " (with --checkpoint FILE, or --from SEQ)"),
                   err=True)
        sys.exit(130)
    except SealflowError as exc:
        _fail(exc)
    if report["ok"] and checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    shown = {**report, "reason": str(report["reason"]) if report["reason"] else None}
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False))
    elif report["ok"]:
        click.echo(f"the audit log holds: {report['events']} events from {report['start']} "
                   f"to {report['last_seq']}, {report['anchors']} anchors")
    else:
        where = f" at event {report['first_bad']}" if report["first_bad"] else ""
        click.echo(f"the audit log does not hold{where}: {shown['reason']}", err=True)
    if not report["ok"]:
        sys.exit(1)


def _verify_with_bar(start: audit_verify.Position | None,
                     checkpoint: Path | None) -> dict[str, Any]:
    after = start.seq if start is not None else 0
    total = db.session.execute(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.seq > after)).scalar() or 0
    done = [start.events if start is not None else 0]
    with click.progressbar(length=total, label="checking the audit log", file=sys.stderr,
                           show_pos=True) as bar:
        def progress(at: audit_verify.Position) -> None:
            bar.update(at.events - done[0])
            done[0] = at.events
            if checkpoint is not None:
                _save_checkpoint(checkpoint, at)

        return audit_verify.verify(db.session, start=start, progress=progress,
                                   trust_roots=env().external_ca_roots)


@audit_group.command("anchor")
@click.option("--force", is_flag=True,
              help="anchor the head even if only timestamps came since the last anchor")
@with_appcontext
def anchor_command(force: bool) -> None:
    """Timestamp the audit chain's head now (the scheduler does it every
    SEALFLOW_AUDIT_ANCHOR_HOURS)."""
    try:
        anchor = anchor_audit(db.session, env(), force=force)
    except SealflowError as exc:
        _fail(exc)
    if anchor is None:
        click.echo("nothing to anchor: the head is anchored already")
    else:
        click.echo(f"anchored event {anchor.seq} ({anchor.hash}) at "
                   f"{anchor.stamped_at.isoformat()}")


@audit_group.command("rotate-key")
@click.option("--new-key-stdin", is_flag=True,
              help="read the new key from standard input (default: a random one, printed)")
@transactional
def rotate_key_command(new_key_stdin: bool) -> str:
    """Start a new audit key: records the rotation, MAC'd by the key in use, naming the new
    key's fingerprint. Then set SEALFLOW_AUDIT_KEY to the new key, add the old one to
    SEALFLOW_AUDIT_OLD_KEYS (comma-separated: the older events still verify with it) and
    restart every Sealflow process."""
    new = sys.stdin.readline().strip() if new_key_stdin else secrets.token_urlsafe(32)
    if len(new) < 16:
        raise BadInput("the new key must be at least 16 characters")
    new_id = audit_verify.rotate_key(db.session, new.encode())
    shown = "" if new_key_stdin else f"SEALFLOW_AUDIT_KEY={new}\n"
    return (f"{shown}rotation recorded: the next key's fingerprint is {new_id}. Set "
            "SEALFLOW_AUDIT_KEY to the new key, add the old one to SEALFLOW_AUDIT_OLD_KEYS, "
            "and restart every Sealflow process.")
