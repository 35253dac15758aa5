"""Shared fixtures: an app on a fresh database (SQLite, or PostgreSQL when
SEALFLOW_TEST_DATABASE_URL is set), users, tokens, seals, flows and PDFs."""

from __future__ import annotations

import base64
import hmac
import io
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from werkzeug.serving import WSGIRequestHandler, make_server

import signer
from app import create_app
from app.extensions import db
from config import TestConfig
from processes.db import unit_of_work
from processes.models import Base, Role, Seal, SealStatus, User
from processes.people import directory
from processes.pki import issued
from processes.pki_models import IssuedCertificate, PkiAuthority

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_BPMN = ROOT / "bpmn" / "contract_seal" / "contract_seal.bpmn"
PG_URL = os.environ.get("SEALFLOW_TEST_DATABASE_URL")


def make_pdf(pages: int = 1, text: str = "Contract 2026-001") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for n in range(1, pages + 1):
        c.setFont("Helvetica", 14)
        c.drawString(72, 760, f"{text} page {n}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="session")
def pdf() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def pki_material() -> dict[str, Any]:
    """One CA and seal key for the whole run (RSA key generation is slow); each test's
    database gets copies of them."""
    pw = b"test-passphrase"  # TestConfig.KEY_PASSPHRASE
    root, issuing = signer.create_ca_hierarchy("测试科技有限公司", pw)
    seal_km = signer.issue_seal_certificate(issuing, pw, seal_name="测试科技有限公司合同专用章",
                                            org_name="测试科技有限公司")
    tsa_km = signer.issue_tsa_certificate(issuing, pw, org_name="测试科技有限公司",
                                          crl_url="http://localhost/pki/crl")
    appearance = signer.draw_seal("测试科技有限公司", "合同专用章")
    return {"root": root, "issuing": issuing, "seal": seal_km, "tsa": tsa_km,
            "appearance": appearance}


def install_pki(app, pki_material: dict[str, Any]) -> None:
    """Create the schema and store the test CA, issuing CA and TSA, as `flask pki init` does."""
    with app.app_context():
        Base.metadata.create_all(db.engine)
        with unit_of_work(db.session):
            db.session.add_all([
                PkiAuthority(kind=kind, cert_pem=pki_material[kind].cert_pem,
                             key_pem=pki_material[kind].key_pem)
                for kind in ("root", "issuing", "tsa")])


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'sealflow.db'}", None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema


@pytest.fixture
def bare_app(tmp_path: Path) -> Iterator[Any]:
    """An app on an empty database (no tables): for `sealflow init` and migrations."""
    yield from _app(tmp_path, None)


@pytest.fixture
def app(tmp_path: Path, pki_material) -> Iterator[Any]:
    yield from _app(tmp_path, pki_material)


def _app(tmp_path: Path, pki_material: dict | None) -> Iterator[Any]:
    """An app on its own database: a fresh SQLite file, or a fresh PostgreSQL schema.
    With ``pki_material``, the tables and the organisation CA are created too."""
    url, schema = _database_url(tmp_path)
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://")) \
        if schema else None
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    app = create_app(TestConfig(tmp_path, url))
    try:
        if pki_material is not None:
            install_pki(app, pki_material)
        yield app
    finally:
        # Job threads the test started (sealing, the filing lane) end first: one left running
        # would use the database after it is gone.
        app.extensions["sealflow_jobs"].shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin is not None:
            try:
                _drop_schema(admin, schema)
            finally:
                admin.dispose()


def _drop_schema(admin: sa.Engine, schema: str) -> None:
    """Drop a test's schema; a job thread the test left running may still hold a row of it
    (its lock and the drop's then deadlock, and PostgreSQL picks one to fail): try again."""
    for attempt in range(5):
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            return
        except sa.exc.OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@dataclass
class ApiClient:
    """The test client with one user's bearer token."""

    client: Any
    token: str
    user: str

    def _h(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url: str, **kw: Any):
        return self.client.get(url, headers=self._h(kw.pop("headers", None)), **kw)

    def head(self, url: str, **kw: Any):
        return self.client.head(url, headers=self._h(kw.pop("headers", None)), **kw)

    def post(self, url: str, **kw: Any):
        return self.client.post(url, headers=self._h(kw.pop("headers", None)), **kw)

    def put(self, url: str, **kw: Any):
        return self.client.put(url, headers=self._h(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any):
        return self.client.delete(url, headers=self._h(kw.pop("headers", None)), **kw)


@pytest.fixture
def make_user(app) -> Callable[..., User]:
    def make(name: str, *, groups: list[str] = (), roles: list[str] = (),
             password: str | None = None, head_of: list[str] = ()) -> User:
        with app.app_context(), unit_of_work(db.session):
            for g in list(groups) + list(head_of):
                directory.add_group(db.session, g)
            user = directory.add_user(db.session, name, password=password, groups=list(groups),
                                   roles=[Role(r) for r in roles])
            for g in head_of:
                directory.add_group(db.session, g, head=name)
            return user
    return make


@pytest.fixture
def api(app, client, make_user) -> Callable[..., ApiClient]:
    """``api("alice", groups=[...], roles=[...])``: an ApiClient for that user (created)."""
    def make(name: str, *, scopes: list[str] = (), **kw: Any) -> ApiClient:
        user = make_user(name, **kw)
        with app.app_context(), unit_of_work(db.session):
            token = directory.create_token(db.session, db.session.get(User, user.id),
                                        scopes=list(scopes))
        return ApiClient(client, token, name)
    return make


@pytest.fixture
def make_seal(app, pki_material) -> Callable[..., int]:
    """A seal with the session's key material and the given custodians; returns its id."""
    def make(custodians: list[str], *, name: str = "测试科技有限公司合同专用章") -> int:
        km, appearance = pki_material["seal"], pki_material["appearance"]
        with app.app_context(), unit_of_work(db.session):
            users = [directory.get_user(db.session, c) for c in custodians]
            seal = Seal(name=name, type="合同专用章", status=SealStatus.active,
                        cert_pem=km.cert_pem, key_pem=km.key_pem,
                        certificate_serial=km.serial_hex, appearance_pdf=appearance.pdf,
                        appearance_png=appearance.png, custodians=users)
            db.session.add(seal)
            db.session.flush()
            # The register of issued certificates, as create_seal keeps it (the session's seals
            # share one certificate: it is registered with the first).
            if not db.session.execute(sa.select(IssuedCertificate.id).where(
                    IssuedCertificate.serial == km.serial_hex)).first():
                issued.record(db.session, km.cert_pem, purpose="seal", seal_id=seal.id)
            return seal.id
    return make


@pytest.fixture
def trust_roots(pki_material) -> list[bytes]:
    return [pki_material["root"].cert_pem]


@pytest.fixture
def ca_pems(pki_material) -> list[bytes]:
    """The organisation's root and issuing CA certificates (PEM), root first."""
    return [pki_material["root"].cert_pem, pki_material["issuing"].cert_pem]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LiveServer:
    """A real HTTP server (werkzeug, threaded, on 127.0.0.1) serving whichever app a test hands
    it; with ``credentials`` set it first demands HTTP basic auth, as an external TSA may."""

    def __init__(self) -> None:
        self.app: Any = None
        self.credentials: tuple[str, str] | None = None
        self._server = make_server("127.0.0.1", 0, self, threaded=True,
                                   request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="sealflow-live-server")
        self._thread.start()

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", ""), expected):
                start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="tsa"'),
                                                    ("Content-Type", "text/plain")])
                return [b"credentials required"]
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app is being served"]
        return self.app(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.close()


@pytest.fixture
def live_tsa(app, live_server: LiveServer) -> Iterator[LiveServer]:
    """Seal at PAdES B-T as a deployed Sealflow does: the test's app is served over real HTTP,
    and the sealing job gets its timestamps from that server's ``POST /tsa``."""
    live_server.app = app
    app.config.update(PADES_LEVEL="B-T", TSA_URL=f"{live_server.url}/tsa")
    app.extensions.pop("sealflow_env", None)  # env() is rebuilt from the new settings
    yield live_server
    live_server.app = None
    live_server.credentials = None


def deploy(api_client: ApiClient, path: Path = CONTRACT_BPMN, **form: Any):
    """Deploy one file; a .bpmn file goes with the .dmn decision tables beside it."""
    paths = [path] + (sorted(path.parent.glob("*.dmn")) if path.suffix == ".bpmn" else [])
    data: dict[str, Any] = dict(form)
    data["file"] = [(io.BytesIO(p.read_bytes()), p.name) for p in paths]
    return api_client.post("/api/v1/processes", data=data, content_type="multipart/form-data")


def deploy_bytes(api_client: ApiClient, files: dict[str, bytes], **form: Any):
    data: dict[str, Any] = dict(form)
    data["file"] = [(io.BytesIO(b), n) for n, b in files.items()]
    return api_client.post("/api/v1/processes", data=data, content_type="multipart/form-data")


def submit(api_client: ApiClient, seal_id: int, document: bytes, *, process="contract_seal",
           data: dict | None = None, headers: dict | None = None, **extra: Any):
    import json
    form: dict[str, Any] = {"process": process, "seal": str(seal_id),
                            "document": (io.BytesIO(document), "contract.pdf"),
                            "data": json.dumps(data if data is not None else
                                               {"amount": 50000, "purpose": "采购合同"})}
    form.update(extra)
    return api_client.post("/api/v1/requests", data=form, content_type="multipart/form-data",
                           headers=headers)


PASSWORD = "correct-horse-1"


@pytest.fixture
def login(app, make_user) -> Callable[[str], Any]:
    """``login("alice")``: a test client of its own, logged in through the real login form
    (the user gets a password, or is created). Like Playwright's default browser, it asks
    for English pages (Accept-Language: en-US); a client that asks nothing gets Chinese."""
    def log_in(name: str, language: str = "en-US,en;q=0.9") -> Any:
        make_user(name, password=PASSWORD)
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        resp = client.post("/login", data={"name": name, "password": PASSWORD})
        assert resp.status_code == 302, resp.text
        return client
    return log_in


@dataclass
class Org:
    """The contract-seal cast: requester alice (sales, head bob), legal lily, custodian carol,
    designer dana; sam, a seal administrator, deploys the flows that change seals."""

    alice: ApiClient
    bob: ApiClient
    lily: ApiClient
    carol: ApiClient
    designer: ApiClient
    seal_id: int
    seal_admin: ApiClient | None = None


@pytest.fixture
def org(api, make_seal) -> Org:
    bob = api("bob", head_of=["sales"])
    alice = api("alice", groups=["sales"])
    lily = api("lily", groups=["legal"])
    carol = api("carol")
    designer = api("dana", roles=["designer"])
    with designer.client.application.app_context(), unit_of_work(db.session):
        directory.add_group(db.session, "legal", name="法务部")
    seal_id = make_seal(["carol"])
    resp = deploy(designer)
    assert resp.status_code == 201, resp.get_json()
    return Org(alice, bob, lily, carol, designer, seal_id, api("sam", roles=["seal_admin"]))


def only_task(api_client: ApiClient) -> dict:
    tasks = api_client.get("/api/v1/tasks").get_json()
    assert len(tasks) == 1, tasks
    return tasks[0]


def approve(api_client: ApiClient, comment: str = "同意", **data: Any):
    task = only_task(api_client)
    return api_client.post(f"/api/v1/tasks/{task['id']}/complete",
                           json={"decision": "approve", "comment": comment, "data": data})


def seal_one(org: Org, document: bytes) -> dict:
    """Alice asks to seal ``document``; Bob then Carol approve; the request as Alice sees it."""
    req = submit(org.alice, org.seal_id, document).get_json()
    approve(org.bob)
    approve(org.carol)
    return org.alice.get(f"/api/v1/requests/{req['id']}").get_json()


def sealed_bytes(org: Org, request_id: int) -> bytes:
    resp = org.alice.get(f"/api/v1/requests/{request_id}/sealed")
    assert resp.status_code == 200
    data = resp.data
    resp.close()
    return data
