"""`sealflow pki`: the organisation CA's root key taken offline, and the root's CRL signed."""

from __future__ import annotations

import os
from pathlib import Path

import click

import signer
from app.cli import transactional
from app.context import env
from app.extensions import db
from processes.errors import BadInput
from processes.pki import authorities, revocation


@click.group("pki")
def pki_group() -> None:
    """The organisation CA."""


@pki_group.command("root-offline")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="file to write the root key to (encrypted PKCS#8, the configured "
                   "passphrase); it must not exist")
@transactional
def root_offline(out: Path) -> str:
    """Move the root CA's key out of the database into FILE.

    The file is written and read back (it must decrypt to the root certificate's key) before
    the database forgets the key. Keep it offline; `pki root-crl --root-key FILE` needs it
    about once a year."""
    if authorities.root_key_online(db.session) and revocation.root_due(db.session):
        revocation.publish_root(db.session, env())  # a fresh root CRL before the key leaves
    key_pem = authorities.take_root_offline(db.session, env())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadInput(f"{out} exists: the root key is never written over a file") from None
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
        fh.flush()
        os.fsync(fh.fileno())
    written = signer.KeyMaterial(authorities.ca_certificates(db.session)[0], out.read_bytes())
    try:
        written.matching_key(env().key_passphrase, "the root CA's")
    except signer.KeyUnavailable as exc:
        raise BadInput(f"{out} does not hold the root key as written ({exc}); the key stays "
                       "online") from None
    latest = revocation.latest(db.session, "root")
    return (f"root CA key written to {out} and removed from the database; the root CRL is "
            f"valid until {latest.next_update.isoformat() if latest else '(none)'}")


@pki_group.command("root-crl")
@click.option("--root-key", "root_key", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
              help="the root key file `pki root-offline` wrote (when the key is offline)")
@transactional
def root_crl(root_key: Path | None) -> str:
    """Sign and publish a new CRL of the root CA (at /pki/root.crl), valid for a year."""
    published = revocation.publish_root(db.session, env(),
                                 root_key_pem=root_key.read_bytes() if root_key else None)
    return (f"root CRL {published.number} published, valid until "
            f"{published.next_update.isoformat()}")
