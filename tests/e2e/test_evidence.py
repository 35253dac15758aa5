"""Evidence packages (存证): exported for a sealed request, checked offline with no database and
no network, and refused, with the reason, when any file is changed, the report is re-sealed by
another key or an event of the proof is altered."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from reportlab.pdfgen import canvas

import signer
from app.cli_evidence import evidence_group
from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.evidence import names
from processes.people import directory
from processes.pki import revocation
from processes.seals import registry
from tests.conftest import approve, seal_one, submit

PASSPHRASE = b"test-passphrase"


@pytest.fixture
def crl(app) -> None:
    """The issuing CA's CRL published, as `sealflow init` and the scheduler do."""
    with app.app_context(), unit_of_work(db.session):
        revocation.publish(db.session, env())


@pytest.fixture
def timestamped(app, crl):
    """Seals at B-T from the built-in TSA, in-process."""
    app.config.update(PADES_LEVEL="B-T", TSA_URL="")
    app.extensions.pop("sealflow_env", None)
    return app


def _export(app, request_id: int, out: Path) -> Path:
    """``sealflow evidence export`` of a sealed request, which must succeed."""
    result = app.test_cli_runner().invoke(args=["evidence", "export", str(request_id),
                                                str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def exported(app, org, pdf, timestamped, tmp_path) -> tuple[int, Path]:
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    out = _export(app, body["id"], tmp_path / "evidence.zip")
    return body["id"], out


@pytest.fixture
def root_pem(tmp_path, pki_material) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(pki_material["root"].cert_pem)
    return path


@pytest.fixture
def offline(offline_later):
    """No network and no database from here: any connection is refused."""
    offline_later()


@pytest.fixture
def offline_later(monkeypatch):
    """Call it to cut the network and the database off."""
    return lambda: _cut_off(monkeypatch)


def _cut_off(monkeypatch) -> None:
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
    assert "process: contract_seal v1, 2 files, their SHA-256 is the deployed version's" in output
    # Without a root of one's own: every check, the fingerprint to compare, and not a pass.
    code, output = _verify(path)
    assert code == 2, output
    assert "root SHA-256 fingerprint:" in output



def _flip(data: bytes) -> bytes:
    """One byte changed, in the middle (a PDF's content, a token's signature, a JSON value)."""
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_any_file_changed_is_found_with_its_reason(exported, root_pem, tmp_path, offline):
    _, path = exported
    with zipfile.ZipFile(path) as archive:
        contained = [n for n in archive.namelist() if n != names.MANIFEST]
    assert {names.ORIGINAL, names.SEALED, names.REPORT, names.HISTORY, names.AUDIT,
            names.ANCHOR_TOKEN, names.ROOT, "timestamps/signature-1.tsr",
            "process/contract_seal.bpmn", "process/contract_routing.dmn",
            "certificates/seal.pem", "crls/issuing-1.crl"} <= set(contained)
    for name in contained:
        def change(files, name=name):
            files[name] = _flip(files[name])
        changed = _rewritten(path, tmp_path / "plain.zip", change)
        if name in (names.ORIGINAL, names.SEALED, names.AUDIT):  # as is: the manifest says so
            with zipfile.ZipFile(changed) as archive, zipfile.ZipFile(
                    tmp_path / "kept.zip", "w") as kept:
                for item in archive.namelist():
                    kept.writestr(item, archive.read(item) if item != names.MANIFEST else
                                  zipfile.ZipFile(path).read(names.MANIFEST))
            code, output = _verify(tmp_path / "kept.zip", root_pem)
            assert code == 1 and f"{name}: its SHA-256 differs from the manifest's" in output, \
                (name, output)
        # The manifest rewritten to match, as a forger would: the report's seal says so (or,
        # for the report itself, its seal no longer holds).
        code, output = _verify(changed, root_pem)
        assert code == 1, (name, output)
        expected = f"{names.REPORT}: the signature" if name == names.REPORT else \
            f"{names.REPORT}: the files its seal lists differ from the package's ({name})"
        assert expected in output, (name, output)


def test_a_file_added_or_taken_out_is_found(exported, root_pem, tmp_path):
    _, path = exported
    code, output = _verify(_rewritten(path, tmp_path / "added.zip", lambda files: files.update(
        {"certificates/extra.pem": b"trust me"})), root_pem)
    assert code == 1 and "(certificates/extra.pem)" in output, output
    code, output = _verify(_rewritten(path, tmp_path / "gone.zip", lambda files: files.pop(
        "crls/issuing-1.crl")), root_pem)
    assert code == 1 and "(crls/issuing-1.crl)" in output, output
    (tmp_path / "junk.zip").write_bytes(b"PK not a zip")
    code, output = _verify(tmp_path / "junk.zip", root_pem)
    assert code == 1 and "not a readable ZIP file" in output


def test_a_zip_made_to_unpack_to_too_much_is_refused_unread(root_pem, tmp_path, monkeypatch):
    from processes.evidence import verdict
    monkeypatch.setattr(verdict, "MAX_UNPACKED", 1024 * 1024)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(names.MANIFEST, b"{}")
        archive.writestr("original.pdf", bytes(2 * 1024 * 1024))  # zeros: a few KB packed
    assert len(bomb.getvalue()) < 20_000
    (tmp_path / "bomb.zip").write_bytes(bomb.getvalue())
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a: read.append(a) or b"")
    code, output = _verify(tmp_path / "bomb.zip", root_pem)
    assert code == 1 and "would unpack to 2 files and 2097154 bytes" in output, output
    assert read == []


def test_a_report_resealed_by_another_key_is_refused(exported, root_pem, tmp_path, offline):
    """A forger with a key of their own (and a CA of their own, put in the package as its
    root) re-seals a report listing a changed original: the root given does not trust it."""
    _, path = exported
    root, issuing = signer.create_ca_hierarchy("测试科技有限公司", PASSPHRASE)
    forged_seal = signer.issue_seal_certificate(issuing, PASSPHRASE, seal_name="测试科技有限公司 "
                                                "Sealflow", org_name="测试科技有限公司")
    own_signer = signer.SealSigner.from_key_material(forged_seal, PASSPHRASE,
                                                     chain=[issuing.cert_pem])
    with zipfile.ZipFile(path) as archive:
        report = archive.read(names.REPORT)
    records = signer.approval_records(signer.open_pdf(report, ""))
    (record,) = [r for r in records.values() if r]

    def forge(files):
        files[names.HISTORY] = files[names.HISTORY].replace('"同意"'.encode(), b'"no"')
        files[names.ROOT] = root.cert_pem
        listed = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()
                  if n not in (names.MANIFEST, names.REPORT)}
        drawn = io.BytesIO()
        page = canvas.Canvas(drawn)
        page.drawString(72, 720, "Evidence report")
        page.save()
        data = drawn.getvalue()
        files[names.REPORT] = signer.seal_pdf(
            data, expected_sha256=hashlib.sha256(data).hexdigest(),
            signer=own_signer, appearance_pdf=signer.draw_seal("测试科技有限公司", "系统章").pdf,
            approval_record=json.dumps({**record, "files": listed}).encode())
    forged = _rewritten(path, tmp_path / "forged.zip", forge)
    code, output = _verify(forged, root_pem)
    assert code == 1, output
    assert f"{names.REPORT}: the signature in field" in output
    assert "its certificate does not validate to the root given" in output
    # Against the forger's root found inside the package it would pass: hence never that.
    code, output = _verify(forged)
    assert code != 0 and "root SHA-256 fingerprint" in output


def test_an_event_altered_in_the_proof_is_found(exported, root_pem, tmp_path, offline):
    request_id, path = exported

    def alter(files):
        audit = json.loads(files[names.AUDIT])
        own = [item for item in audit["run"] if "content" not in item]
        own[0]["actor"] = "mallory"
        files[names.AUDIT] = json.dumps(audit).encode()
    code, output = _verify(_rewritten(path, tmp_path / "altered.zip", alter), root_pem)
    assert code == 1
    assert "audit.json: the chain proof does not hold at event" in output, output

    def hide(files):  # an event of another request shown whole would leak: only digests
        audit = json.loads(files[names.AUDIT])
        assert all(item.get("request_id") == request_id for item in audit["run"]
                   if "content" not in item)
        audit["run"] = [item for item in audit["run"] if "content" not in item]
        files[names.AUDIT] = json.dumps(audit).encode()
    code, output = _verify(_rewritten(path, tmp_path / "cut.zip", hide), root_pem)
    assert code == 1 and "audit.json: the chain proof does not hold" in output, output


def test_a_request_not_sealed_is_refused_clearly(app, org, pdf, tmp_path):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    result = app.test_cli_runner().invoke(args=["evidence", "export", str(req["id"]),
                                                str(tmp_path / "e.zip")])
    assert result.exit_code == 1
    assert f"request {req['id']} is running: only a sealed request has an evidence package" \
        in result.output
    assert not (tmp_path / "e.zip").exists()
    resp = org.alice.get(f"/api/v1/requests/{req['id']}/evidence")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_sealed"


def test_the_api_and_the_page_give_it_to_those_who_may_see_it(app, org, pdf, timestamped, api,
                                                               login, root_pem, tmp_path):
    body = seal_one(org, pdf)
    resp = org.alice.get(f"/api/v1/requests/{body['id']}/evidence")
    assert resp.status_code == 200, resp.get_data()[:300]
    assert resp.mimetype == "application/zip"
    assert f"evidence-request-{body['id']}.zip" in resp.headers["Content-Disposition"]
    (tmp_path / "api.zip").write_bytes(resp.data)
    code, output = _verify(tmp_path / "api.zip", root_pem)
    assert code == 0, output
    outsider = api("olga", groups=["sales"])
    assert outsider.get(f"/api/v1/requests/{body['id']}/evidence").status_code == 404
    # The request page offers it to an approver; the download is recorded.
    page = login("bob").get(f"/requests/{body['id']}")
    assert b'id="evidence-download"' in page.data
    got = login("bob").get(f"/requests/{body['id']}/evidence")
    assert got.status_code == 200 and got.data[:2] == b"PK"
    (tmp_path / "page.zip").write_bytes(got.data)
    code, output = _verify(tmp_path / "page.zip", root_pem)
    assert code == 0, output
    with app.app_context():
        from processes.audit_models import AuditAnchor
        from processes.models import AuditEvent
        exports = db.session.execute(sa.select(AuditEvent.actor).where(
            AuditEvent.action == "request.evidence_exported",
            AuditEvent.request_id == body["id"]).order_by(AuditEvent.seq)).scalars().all()
        anchors = db.session.execute(sa.select(sa.func.count()).select_from(AuditAnchor)
                                     ).scalar()
    assert exports == ["alice", "bob"]
    # alice's export (and the download before it) only read: bob's needed no new anchor.
    assert anchors == 1


def test_a_seal_without_a_timestamp_holds_as_of_the_anchor(app, org, pdf, crl, root_pem,
                                                            tmp_path, offline_later):
    """At B-B (no signature timestamp) the seal is validated as of the anchor's time: the
    anchored events name the sealed file's SHA-256."""
    body = seal_one(org, pdf)
    out = _export(app, body["id"], tmp_path / "bb.zip")
    with zipfile.ZipFile(out) as archive:
        assert not [n for n in archive.namelist() if n.startswith("timestamps/signature")]
    offline_later()
    code, output = _verify(out, root_pem)
    assert code == 0, output
    assert "valid as of the anchor's time" in output and "PAdES B-B" in output


def test_a_package_of_a_b_lta_seal_holds_with_its_document_timestamp(app, org, pdf, crl,
                                                                     root_pem, tmp_path,
                                                                     offline_later):
    """At B-LTA the sealed file carries, after the seal, its validation data and a document
    timestamp: the package lists both tokens, and the check still finds that the seal signed
    exactly the original plus the seal."""
    app.config.update(PADES_LEVEL="B-LTA", TSA_URL="")
    app.extensions.pop("sealflow_env", None)
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    out = _export(app, body["id"], tmp_path / "lta.zip")
    with zipfile.ZipFile(out) as archive:
        listed = archive.namelist()
    assert [n for n in listed if n.startswith("timestamps/signature")], listed
    assert [n for n in listed if n.startswith("timestamps/document")], listed
    offline_later()
    code, output = _verify(out, root_pem)
    assert code == 0, output
    assert "sealed: the original plus the seal" in output and "PAdES B-LTA" in output
    code, output = _verify(_rewritten(out, tmp_path / "lta-changed.zip", lambda files: files.update(
        {"sealed.pdf": _flip(files["sealed.pdf"])})), root_pem)
    assert code == 1, output


def test_the_steps_by_hand_in_the_docs_work_as_written(app, org, pdf, timestamped, root_pem,
                                                       tmp_path):
    """docs/evidence.md's openssl, jq and pdfsig steps, run as written on a package of a seal
    made as Sealflow makes them (its certificate names the CRL and the OCSP responder)."""
    with app.app_context(), unit_of_work(db.session):
        carol = directory.get_user(db.session, "carol")
        seal_id = registry.create_seal(db.session, env(), "测试科技有限公司合同专用章",
                                       custodians=[carol]).id
    req = submit(org.alice, seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    path = _export(app, req["id"], tmp_path / "e.zip")
    work = tmp_path / "expert"
    work.mkdir()
    (work / "evidence-request-42.zip").write_bytes(path.read_bytes())
    (work / "root.pem").write_bytes(root_pem.read_bytes())  # beside the ZIP, as the doc has it
    doc = (Path(__file__).resolve().parents[2] / "docs" / "evidence.md").read_text()
    (script,) = re.findall(r"```sh\n(.*?)```", doc, re.S)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, text=True,
                          capture_output=True, timeout=120, check=False,
                          env={"HOME": str(work), "PATH": "/usr/bin:/bin"})
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "FAILED" not in out and "report.pdf: OK" in out and "sealed.pdf: OK" in out
    lines = out.splitlines()
    approved = json.loads((work / "ev" / "history.json").read_text())["approved_sha256"]
    anchored = json.loads((work / "ev" / "audit.json").read_text())["anchor"]["hash"]
    assert lines.count(approved) == 1 and f"{approved}  original.pdf" in lines
    assert lines.count(anchored) == 2  # the run recomputed ends at the anchored hash
    assert "Verification: OK" in out and "certificates/seal.pem: OK" in out
    assert out.count("Certificate is Trusted.") == 2, out
    assert "starts with the original" in out
