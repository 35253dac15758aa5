"""`sealflow seal`: the administrator's bootstrap path for seals (in normal operation they are
made, changed, resumed, voided and revoked through the shipped lifecycle flows)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app

from app.cli import ID, _split, transactional
from app.context import env
from app.extensions import db
from processes.models import SealStatus
from processes.people import directory
from processes.seals import external_ca, lifecycle, long_term, policy, registry


@click.group("seal")
def seal_group() -> None:
    """Seals: the administrator's bootstrap and emergency path."""


@seal_group.command("create")
@click.argument("name")
@click.option("--custodian", "custodians", multiple=True, required=True)
@click.option("--type", "seal_type", default="合同专用章")
@click.option("--key-type", default="rsa2048", type=click.Choice(["rsa2048", "rsa3072", "p256"]))
@click.option("--key-storage", default="software", type=click.Choice(["software", "pkcs11"]),
              help="software: encrypted in the database; pkcs11: generated in the HSM token "
                   "(SEALFLOW_PKCS11_*) and never leaving it")
@click.option("--external-ca", is_flag=True,
              help="no certificate from the organisation CA: a request (`seal csr`) for an "
                   "external CA; the seal waits, requested, for `seal import-cert`")
@transactional
def seal_create(name, custodians, seal_type, key_type, key_storage, external_ca) -> str:
    """Make a seal: key, certificate from the organisation CA, seal image. Prints its id."""
    users = [directory.get_user(db.session, c) for n in custodians for c in _split(n)]
    seal = registry.create_seal(db.session, env(), name, seal_type=seal_type, custodians=users,
                             key_type=key_type, key_storage=key_storage,
                             external_ca=external_ca)
    return str(seal.id)


@seal_group.command("csr")
@click.argument("seal_id", type=ID)
@transactional
def seal_csr(seal_id) -> str:
    """Print the certification request of a seal made with --external-ca (PEM)."""
    seal = registry.get_seal(db.session, seal_id)
    return external_ca.certification_request(db.session, None, seal).decode().strip()


@seal_group.command("import-cert")
@click.argument("seal_id", type=ID)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@transactional
def seal_import_cert(seal_id, file: Path) -> str:
    """Import the certificate an external CA issued for the seal's request (PEM: the
    certificate, then the CA certificates); checked, then the seal is active."""
    seal = external_ca.import_certificate(db.session, env(), None,
                                          registry.get_seal(db.session, seal_id), file.read_bytes())
    return f"seal {seal.id} is {seal.status.value}, certificate {seal.certificate_serial}"


def _seal_transition(seal_id: int, to: str, reason: str) -> str:
    seal = registry.get_seal(db.session, seal_id)
    lifecycle.transition(db.session, seal, SealStatus(to), reason=reason)
    return f"seal {seal.id} is {seal.status.value}"


for _action, _status in (("suspend", "suspended"), ("resume", "active"), ("void", "voided"),
                         ("revoke", "revoked")):
    def _make(status: str, action: str):
        @seal_group.command(action, help=f"Immediately {action} a seal (emergencies): an "
                                         "administrator's action, recorded with the reason as "
                                         "an emergency (a suspension made here is lifted only "
                                         "by an administrator).")
        @click.argument("seal_id", type=ID)
        @click.option("--reason", required=True)
        @transactional
        def command(seal_id, reason) -> str:
            return _seal_transition(seal_id, status, reason)
        return command
    _make(_status, _action)


@seal_group.command("appearance")
@click.argument("seal_id", type=ID)
@click.option("--png", type=click.Path(exists=True, dir_okay=False),
              help="an uploaded image of the seal (PNG with a transparent background)")
@click.option("--serial", help="draw the seal again with this serial number below its type")
@transactional
def seal_appearance(seal_id, png, serial) -> str:
    """Change a seal's appearance: upload an image, or draw it again."""
    seal = registry.get_seal(db.session, seal_id)
    registry.change_appearance(db.session, env(), seal, serial=serial,
                            png=Path(png).read_bytes() if png else None)
    return f"seal {seal.id}: new appearance"


@seal_group.command("policy")
@click.argument("seal_id", type=ID)
@click.option("--max-uses", type=int)
@click.option("--max-per-month", type=int)
@click.option("--max-pages", type=int)
@click.option("--max-bytes", type=int)
@click.option("--min-approvals", type=int,
              help="at least this many approvals by different people (never fewer than one)")
@click.option("--distinct-demands/--shared-demands", default=None,
              help="whether one person may meet two demanded approvals (default: distinct)")
@click.option("--business-types", help="comma-separated business type keys")
@click.option("--groups", help="comma-separated group keys whose members may use the seal")
@click.option("--users", help="comma-separated user names who may use the seal")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]))
@click.option("--valid-to", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]))
@click.option("--demand", "demands", multiple=True,
              help="an approval every use needs: custodian, requester_head, group:KEY, user:NAME")
@transactional
def seal_policy(seal_id, demands, **options) -> str:
    """Set a seal's usage policy (only the options given change) and prove every allowed flow
    against its demanded approvals."""
    changes = {k: v for k, v in options.items() if v is not None}
    for key in ("business_types", "groups", "users"):
        if key in changes:
            changes[key] = _split(changes[key])
    for key in ("valid_from", "valid_to"):
        if key in changes:
            changes[key] = changes[key].replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    if demands:
        changes["demands"] = [dict(zip(("kind", "ref"), d.split(":", 1), strict=False))
                              for d in demands]
    result = policy.set_policy(db.session, registry.get_seal(db.session, seal_id), actor=None,
                               **changes)
    lines = [f"seal {seal_id} policy: {result['policy']}"]
    for flow in result["flows"]:
        verdict = "ok" if flow["ok"] else "REFUSED"
        lines.append(f"  {flow['process']} v{flow['version']}: {verdict}"
                     + ("" if flow["ok"] else f" - {flow['message']}"))
    return "\n".join(lines)


@seal_group.command("level")
@click.argument("seal_id", type=ID)
@click.argument("level", type=click.Choice([*long_term.PADES_LEVELS, "default"]))
@transactional
def seal_level(seal_id, level) -> str:
    """Set the PAdES level of a seal's signatures: B-B, B-T (a timestamp), B-LT (and the
    validation data), B-LTA (and an archive timestamp, renewed by the scheduler); "default"
    follows SEALFLOW_PADES_LEVEL."""
    seal = registry.get_seal(db.session, seal_id)
    long_term.set_level(db.session, seal, None if level == "default" else level)
    return f"seal {seal.id} signs at {long_term.level_of(seal, env())}" + (
        "" if seal.pades_level else " (the default)")
