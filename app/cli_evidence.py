"""`sealflow evidence`: export a sealed request's evidence package (`export`), and check one
offline (`verify`: no database, no network; docs/evidence.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.cli import ID, _fail
from processes.errors import SealflowError

EXIT_NOT_VERIFIED = 2
"""``verify`` without ``--root``: every check held against the package's own root, which
proves nothing until its fingerprint is compared with the organisation's published one."""


@click.group("evidence")
def evidence_group() -> None:
    """Evidence packages (存证) of sealed requests."""


@evidence_group.command("export")
@click.argument("request_id", type=ID)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_command(request_id: int, file: Path) -> None:
    """Write the evidence package of sealed request REQUEST_ID to FILE (a ZIP)."""
    from app.evidence import export
    try:
        data = export(request_id)
    except SealflowError as exc:
        _fail(exc)
    temporary = file.with_name(f".{file.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, file)
    click.echo(f"wrote the evidence package of request {request_id} to {file} "
               f"({len(data)} bytes)")


@evidence_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", "roots", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the organisation's root CA certificate (PEM or DER), as it publishes it; "
                   "repeat for more than one")
@click.option("--json", "as_json", is_flag=True, help="print the verdict as JSON")
def verify_command(file: Path, roots: tuple[Path, ...], as_json: bool) -> None:
    """Check the evidence package FILE offline: the manifest, the sealed report, the seal
    over exactly the approved bytes, the signatures as of their timestamps, the audit proof
    and its anchor. Exits 0 when it holds against the --root given, 1 with the reasons when
    anything differs, 2 when it holds but no --root was given (compare the fingerprint
    printed with the organisation's published one, then run again with --root)."""
    from processes.evidence.verdict import verify
    verdict = verify(file.read_bytes(), [path.read_bytes() for path in roots])
    if as_json:
        click.echo(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=1))
    else:
        for line in verdict.checks:
            click.echo(f"ok  {line}")
        for line in verdict.problems:
            click.echo(f"BAD {line}", err=True)
        for fp in verdict.root_fingerprints:
            click.echo(f"root SHA-256 fingerprint: {fp}")
    if verdict.problems:
        click.echo(f"the evidence package does NOT hold: {verdict.problems[0]}", err=True)
        sys.exit(1)
    if not verdict.root_given:
        click.echo("checked against the root inside the package, which proves nothing: "
                   "compare its fingerprint above with the organisation's published one, then "
                   "run again with --root CA.pem", err=True)
        sys.exit(EXIT_NOT_VERIFIED)
    click.echo(f"the evidence package of request {verdict.request} holds")
