"""Evidence packages (存证): exported for a sealed request, checked offline with no database and
no network, and refused, with the reason, when any file is changed, the report is re-sealed by
another key or an event of the proof is altered."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import signer
from app.cli_evidence import evidence_group
from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.evidence import names
from processes.pki import revocation
from tests.conftest import seal_one, submit

PASSPHRASE = b"test-passphrase"


@pytest.fixture
def timestamped(app):
    """Seals at B-T from the built-in TSA, in-process, with a CRL published."""
    app.config.update(PADES_LEVEL="B-T", TSA_URL="")
    app.extensions.pop("sealflow_env", None)
    with app.app_context(), unit_of_work(db.session):
        revocation.publish(db.session, env())
    return app


@pytest.fixture
def exported(app, org, pdf, timestamped, tmp_path) -> tuple[int, Path]:
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    out = tmp_path / "evidence.zip"
    result = app.test_cli_runner().invoke(args=["evidence", "export", str(body["id"]),
                                                str(out)])
    assert result.exit_code == 0, result.output
    return body["id"], out


@pytest.fixture
def root_pem(tmp_path, pki_material) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(pki_material["root"].cert_pem)
    return path


@pytest.fixture
def offline(monkeypatch):
    """No network and no database from here: any connection is refused."""
    def refuse(*args, **kwargs):
        raise OSError("the network is off in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    def no_database(*args, **kwargs):
        raise RuntimeError("the database is gone in this test")
    monkeypatch.setattr(sa.engine.Engine, "connect", no_database)


def _verify(path: Path, *roots: Path) -> tuple[int, str]:
    args = ["verify", str(path)] + [a for r in roots for a in ("--root", str(r))]
    result = CliRunner().invoke(evidence_group, args)
    return result.exit_code, result.output


def _rewritten(source: Path, target: Path, change) -> Path:
    """A copy of the package with ``change(files)`` applied, its manifest rewritten to match
    (as a forger would)."""
    with zipfile.ZipFile(source) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    change(files)
    manifest = json.loads(files[names.MANIFEST])
    import hashlib
    manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()
                         if n != names.MANIFEST}
    files[names.MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


def test_a_package_holds_offline(exported, root_pem, offline):
    request_id, path = exported
    code, output = _verify(path, root_pem)
    assert code == 0, output
    assert f"the evidence package of request {request_id} holds" in output
    assert "sealed: the original plus the seal" in output and "PAdES B-T" in output
    assert "audit:" in output and "report: sealed by" in output
    # Without a root of one's own: every check, the fingerprint to compare, and not a pass.
    code, output = _verify(path)
    assert code == 2, output
    assert "root SHA-256 fingerprint:" in output
