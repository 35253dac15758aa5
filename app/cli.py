"""``sealflow``: the Flask CLI of the app (DESIGN.md: Command line); failures exit non-zero."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.design import deploy
from processes.errors import BadInput, SealflowError
from processes.flows import definitions
from processes.people import directory, logins, tokens
from processes.pki import authorities, revocation
from processes.requests import migration, scenarios
from processes.seals import registry

ID = click.IntRange(1, 2 ** 63 - 1)
"""An id of the database (what fits its 64-bit columns): anything else is a usage error."""


def _fail(exc: SealflowError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    for problem in exc.problems:
        where = ", ".join(f"{k} {problem[k]}" for k in ("file", "element", "line", "field")
                          if problem.get(k))
        click.echo(f"  - {problem.get('message')}{f' ({where})' if where else ''}", err=True)
    sys.exit(1)


def transactional(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command's unit of work: one commit; a domain error prints its problems and exits 1.
    What the command returns is printed."""

    @functools.wraps(command)
    @with_appcontext
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            with unit_of_work(db.session):
                message = command(*args, **kwargs)
        except SealflowError as exc:
            _fail(exc)
        if message is not None:
            click.echo(message)

    return wrapper


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def init_database() -> None:
    """Create or upgrade the schema, then the PKI, the system seal and a current CRL (the one
    PAdES B-LT seals embed; the scheduler keeps it fresh) (idempotent)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    with unit_of_work(db.session):
        authorities.ensure_pki(db.session, env())
        registry.ensure_system_seal(db.session, env())
        if revocation.due(db.session):
            revocation.publish(db.session, env())
        if authorities.root_key_online(db.session) and revocation.root_due(db.session):
            revocation.publish_root(db.session, env())


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database; create the CA and the system seal where absent."""
    try:
        init_database()
    except SealflowError as exc:
        _fail(exc)
    click.echo(f"initialised: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


@click.group("user")
def user_group() -> None:
    """Users and their tokens."""


@user_group.command("add")
@click.argument("name")
@click.option("--password")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.option("--display-name")
@click.option("--groups", help="comma-separated group keys")
@click.option("--roles", help="admin,designer,manager,seal_admin,auditor")
@click.option("--email", help="where their notices are mailed (\"\" removes it)")
@transactional
def user_add(name, password, password_stdin, display_name, groups, roles, email) -> str:
    """Create a user (or update their password, groups, roles and e-mail address)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    user = directory.add_user(db.session, name, password=password, display_name=display_name,
                           groups=_split(groups), roles=directory.parse_roles(roles),
                           email=email, audited=True)
    return f"user {user.name} (id {user.id})"


@user_group.command("token")
@click.argument("name")
@click.option("--scopes", help="extra scopes: act_as,messages")
@click.option("--label", default="cli")
@transactional
def user_token(name, scopes, label) -> str:
    """Create an API token; it is printed once, as the last word."""
    token = directory.create_token(db.session, directory.get_user(db.session, name), name=label,
                                scopes=_split(scopes))
    return f"token for {name}: {token}"


@user_group.command("tokens")
@click.argument("name")
@transactional
def user_tokens(name) -> str:
    """List a user's live tokens (never their secret): id, name, scopes, created, last used."""
    found = tokens.tokens_of(db.session, directory.get_user(db.session, name))
    lines = [f"{'id':>6}  {'name':<20} {'scopes':<24} {'created':<25} last used"]
    for t in map(tokens.describe, found):
        lines.append(f"{t['id']:>6}  {t['name']:<20} {','.join(t['scopes']):<24} "
                     f"{t['created_at'][:19]:<25} {(t['last_used_at'] or 'never')[:19]}")
    return "\n".join(lines) if found else f"{name} has no live tokens"


@user_group.command("revoke-token")
@click.argument("token_id", type=ID)
@transactional
def user_revoke_token(token_id) -> str:
    """Revoke one token by its id (from `user tokens`); it answers 401 from now on."""
    token = tokens.find(db.session, token_id)
    tokens.revoke(db.session, token, actor=None)
    return f"token {token.id} ({token.name}) of {token.user.name} revoked"


@user_group.command("unlock")
@click.argument("name", required=False)
@click.option("--address", help="lift the block of this client address instead")
@transactional
def user_unlock(name, address) -> str:
    """Lift a lock-out after failed log-ins (of a user, or of a client address)."""
    if bool(name) == bool(address):
        raise BadInput("name a user, or give --address (not both)")
    if address:
        was = logins.unlock_address(db.session, address, actor=None)
        return f"address {address} {'unblocked' if was else 'was not blocked'}"
    was = logins.unlock(db.session, name, actor=None)
    return f"user {name} {'unlocked' if was else 'was not locked (failures forgotten)'}"


@user_group.command("deactivate")
@click.argument("name")
@transactional
def user_deactivate(name) -> str:
    """Deactivate a user: their sessions end and their tokens are revoked."""
    directory.deactivate_user(db.session, name)
    return f"user {name} deactivated"


@click.group("group")
def group_group() -> None:
    """Groups (departments)."""


@group_group.command("add")
@click.argument("key")
@click.option("--name")
@click.option("--head", help="user name of the department head")
@transactional
def group_add(key, name, head) -> str:
    """Create a group (or update its name and head)."""
    group = directory.add_group(db.session, key, name=name, head=head)
    return f"group {group.key} (id {group.id})"


@click.group("process")
def process_group() -> None:
    """BPMN flows."""


@process_group.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--authorized-end", help="id of the authorized end event (plain BPMN files)")
@transactional
def process_deploy(files, authorized_end) -> str:
    """Deploy BPMN (and the DMN or called BPMN deployed with it); the first file is the flow."""
    payload = {Path(f).name: Path(f).read_bytes() for f in files}
    result = deploy.deploy(db.session, env(), payload, actor=None,
                           authorized_end=authorized_end,
                           rerun=functools.partial(scenarios.rerun, db.session, env(), None))
    for w in result.warnings:
        click.echo(f"  warning: {w['message']} ({w.get('element')})", err=True)
    for s in result.scenarios:
        if s["changed"]:
            click.echo(f"  scenario {s['name']}: {' > '.join(s['route_before'])} -> "
                       f"{' > '.join(s['route_now']) or '(no route)'}", err=True)
    d = result.definition
    return f"{d.key} version {d.version} {'deployed' if result.created else 'unchanged'}"


@process_group.command("migrate")
@click.argument("key")
@click.option("--from", "from_version", required=True, type=int, help="the version to leave")
@click.option("--to", "to_version", required=True, type=int, help="the version to move to")
@click.option("--dry-run", is_flag=True, help="show the diff and what would move; change nothing")
@transactional
def process_migrate(key, from_version, to_version, dry_run) -> str:
    """Move the running instances of one version of a flow to another, showing the diff."""
    result = migration.migrate(db.session, key, from_version, to_version, dry_run=dry_run,
                               actor=None)
    return _migration_text(result)


def _migration_text(result: migration.Migration) -> str:
    diff = result.diff
    lines = [f"{result.key}: version {result.from_version} -> {result.to_version}"
             + (" (dry run: nothing changed)" if result.dry_run else ""),
             f"  added:   {', '.join(diff['added']) or '-'}",
             f"  removed: {', '.join(diff['removed']) or '-'}",
             "  changed: " + ("; ".join(f"{element} ({', '.join(aspects)})"
                                        for element, aspects in diff["changed"].items()) or "-")]
    verb = "would move" if result.dry_run else "moved"
    lines += [f"request {rid}: {verb}" for rid in result.moved]
    lines += [f"request {r.request}: refused: {r.reason}" for r in result.refused]
    lines.append(f"{len(result.moved)} {verb}, {len(result.refused)} refused")
    return "\n".join(lines)


@click.group("business-type")
def business_type_group() -> None:
    """Business types and the flows that handle them."""


@business_type_group.command("add")
@click.argument("key")
@click.option("--process", "process_key", required=True)
@click.option("--name")
@transactional
def business_type_add(key, process_key, name) -> str:
    """Map a business type to a flow (re-pointing an existing one)."""
    definitions.add_business_type(db.session, key, process_key, name)
    return f"business type {key} -> {process_key}"


@click.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def run_command(host, port) -> None:
    """Development server with the scheduler and job runner in-process."""
    from app import base_url
    from app.jobs import runner
    app = current_app._get_current_object()
    # Before any job runs: what it makes (a seal's certificate) names this server's address.
    base = base_url.adopt(app, host, port)
    runner(app).start_scheduler()
    runner(app).sweep()
    base_url.check_in_background(base_url.local_url(host, port), base)
    # app.run() is a no-op under the Flask CLI (FLASK_RUN_FROM_CLI): serve directly.
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("serve")
@click.option("--workers", default=2, type=int)
@click.option("--port", default=8000, type=int)
@click.option("--host", default="127.0.0.1")
@click.option("--threads", default=4, type=click.IntRange(1, 64),
              help="threads per worker (gunicorn's gthread worker)")
@click.option("--keep-alive", default=5, type=click.IntRange(0, 3600),
              help="seconds an idle client connection stays open (0: close after each answer)")
def serve_command(workers, port, host, threads, keep_alive) -> None:
    """Production server (gunicorn, threaded workers: clients keep their connections alive).
    Run `sealflow worker` beside it for the scheduler."""
    from app import base_url
    from config import Config
    # Here, before gunicorn's workers each fail on it with a traceback.
    settings = _settings_checked(Config)
    _settings_checked(settings.validate)
    if not settings.BASE_URL_SET:  # the workers inherit it: links and certificates name us
        os.environ["SEALFLOW_BASE_URL"] = base_url.served_base_url(host, port)
    base_url.announce(os.environ.get("SEALFLOW_BASE_URL", settings.BASE_URL),
                      settings.BASE_URL_SET, lambda msg, *args: click.echo(msg % args, err=True))
    # gthread, not gunicorn's default sync worker: a sync worker closes every connection after
    # one answer, so each API call paid a TCP connect; threads keep them alive (docs/operations).
    # No control socket: gunicorn 27 opens one at a fixed path in $HOME that every master on
    # the machine shares (each start takes it over, each stop deletes it); nothing uses it.
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                               "--worker-class", "gthread", "--threads", str(threads),
                               "--keep-alive", str(keep_alive), "--no-control-socket",
                               "--config", "python:app.gunicorn_conf",
                               "--bind", f"{host}:{port}", "wsgi:app"])


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Scheduler and job runner as their own process."""
    from app.jobs import runner
    app = current_app._get_current_object()
    if not app.config.get("BASE_URL_SET"):
        click.echo(f"warning: SEALFLOW_BASE_URL is unset: certificates this worker makes (a "
                   f"seal the 制章申请 flow makes) name {app.config['BASE_URL']}. Set it as "
                   "for `sealflow serve`.", err=True)
    sealers = []  # the other sealing processes, forked before any thread starts here
    if runner(app).mode == "external" and app.config["SEAL_PROCESSES"] > 1:
        from app.grant_poller import fork_sealers
        sealers = fork_sealers(app, runner(app).run_lease, app.config["SEAL_PROCESSES"] - 1)
    runner(app).start_scheduler()
    runner(app).sweep()
    click.echo(f"worker running, sealing in {1 + len(sealers)} processes; Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        runner(app).shutdown()
    finally:
        for pid in sealers:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)


def commands() -> list[click.Command]:
    """Sealflow's own commands: on each app's CLI (``app.test_cli_runner``) and on
    ``sealflow`` itself."""
    from app.cli_archive import archive_group
    from app.cli_audit import audit_group
    from app.cli_audit_export import audit_export  # noqa: F401 - adds `export` to the group
    from app.cli_evidence import evidence_group
    from app.cli_pki import pki_group
    from app.cli_seals import seal_group
    from app.demo import demo_command
    return [init_command, user_group, group_group, process_group, business_type_group,
            seal_group, pki_group, run_command, serve_command, worker_command, demo_command,
            audit_group, evidence_group, archive_group]


def init_app(app: Flask) -> None:
    for command in commands():
        app.cli.add_command(command)


def _settings_checked(build: Callable[[], Any]) -> Any:
    """``build()``; a setting missing or wrong is one line naming it (exit 1), not a
    traceback."""
    from config import ConfigurationError
    try:
        return build()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def _create_app() -> Flask:
    from app import create_app
    return _settings_checked(create_app)


class SealflowGroup(FlaskGroup):
    """Every command is registered on the group itself, so listing the commands and showing
    their ``--help`` never build the app (FlaskGroup would, and the app wants the secrets);
    a command that runs builds it (``with_appcontext``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)


def build_cli() -> click.Group:
    cli = SealflowGroup(create_app=_create_app, add_default_commands=False,
                        help="Sealflow: controlled use of electronic seals.")
    for command in (*commands(), shell_command, routes_command):
        cli.add_command(command)
    return cli


def main() -> None:
    build_cli().main(prog_name="sealflow")
