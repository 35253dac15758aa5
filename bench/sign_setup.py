"""bench/sign.py's set-up: the documents, Sealflow for real (the app served over HTTP so that its
own TSA answers, the seals made by processes.seals.registry.create_seal), the baselines' key
files, and quiet logging while the migrations run."""

from __future__ import annotations

import hashlib
import io
import logging
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import ROOT, BenchError, log  # noqa: E402

from processes.pki import authorities
from processes.seals import registry

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSPHRASE = "bench-passphrase"
ORG_NAME = "基准测试科技有限公司"
SEAL_TYPE = "合同专用章"
KEYS = (("rsa2048", "RSA-2048"), ("p256", "P-256"))
BIG_PAGES = 100
SIGN_PACKAGES = ("pyHanko", "cryptography", "pyhanko-certvalidator", "asn1crypto", "aiohttp",
                 "Werkzeug", "pikepdf", "reportlab")
IMAGE_W, IMAGE_H = 190, 180  # 102,600 bytes of RGB noise per page: ~10.3 MB for 100 pages


# -- the documents ----------------------------------------------------------------------------

def small_pdf() -> bytes:
    """1 page, reportlab (as tests/conftest.py make_pdf)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica", 14)
    c.drawString(72, 760, "Bench contract 2026-001 page 1")
    c.showPage()
    c.save()
    return buf.getvalue()


def big_pdf(pages: int = BIG_PAGES) -> bytes:
    """``pages`` A4 pages, each with a line of text and a raw random RGB image (noise does not
    compress, so the size is predictable), pikepdf, streams stored uncompressed. Seeded: the
    same bytes every run."""
    import pikepdf
    from pikepdf import Dictionary, Name

    rng = random.Random(2026)
    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1,
                                        BaseFont=Name.Helvetica))
    for n in range(1, pages + 1):
        image = pikepdf.Stream(pdf, rng.randbytes(IMAGE_W * IMAGE_H * 3))
        image.Type, image.Subtype = Name.XObject, Name.Image
        image.Width, image.Height = IMAGE_W, IMAGE_H
        image.ColorSpace, image.BitsPerComponent = Name.DeviceRGB, 8
        text = f"BT /F1 12 Tf 72 800 Td (Bench contract 2026-001 page {n}) Tj ET " \
               "q 300 0 0 250 72 480 cm /Im0 Do Q"
        page = Dictionary(Type=Name.Page, MediaBox=[0, 0, 595, 842],
                          Resources=Dictionary(Font=Dictionary(F1=font),
                                               XObject=Dictionary(Im0=image)),
                          Contents=pdf.make_stream(text.encode("ascii")))
        pdf.pages.append(pikepdf.Page(page))
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False, deterministic_id=True)
    return buf.getvalue()


@dataclass
class Document:
    name: str
    data: bytes
    sha256: str
    pages: int
    page_index: int  # 0-based page of the default seal placement
    box: tuple[float, float, float, float]  # the default placement, in page coordinates
    page_refs: tuple[tuple[int, int], ...]  # from the upload check, as Sealflow stores them
    n: int
    make_s: float


def prepare(name: str, make: Callable[[], bytes], n: int) -> Document:
    import signer
    from signer.pdf import describe_pdf, open_pdf, page_origin

    t0 = time.perf_counter()
    data = make()
    make_s = time.perf_counter() - t0
    sha = hashlib.sha256(data).hexdigest()
    reader = open_pdf(data)
    info = describe_pdf(reader, sha)
    placement = signer.SealPlacement.default_for(info)  # what seal_pdf does without a placement
    box = placement.box(page_origin(reader, placement.page))
    return Document(name, data, sha, info.pages, placement.page - 1, box, info.page_refs, n,
                    make_s)


# -- Sealflow: the app, its TSA over real HTTP, the seals -------------------------------------

class HttpServer:
    """A werkzeug server (threaded) on 127.0.0.1 and a free port, serving ``app`` once set
    (the pattern of tests/conftest.py's LiveServer); requests are logged like ``sealflow run``'s,
    to the log file."""

    def __init__(self) -> None:
        from werkzeug.serving import make_server

        self.app: Any = None
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="sealflow-bench-tsa")
        self._thread.start()

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app yet"]
        return self.app(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass
class SealCase:
    key_type: str
    label: str
    seal_id: int
    seal_name: str
    cert_pem: bytes
    key_pem: bytes  # encrypted PKCS#8, as stored
    appearance_pdf: bytes
    sealflow: Any  # signer.SealSigner, from processes.seals.registry.signer_for
    stock: Any = None  # pyhanko SimpleSigner
    raw_key: Any = None  # the decrypted cryptography key
    appearance_path: Path | None = None


@dataclass
class Sealflow:
    app: Any
    server: HttpServer
    root_pem: bytes
    issuing_pem: bytes
    seals: list[SealCase]
    timestamper: Any  # processes.pki.timestamping.timestamper_for(env): the cached HTTP client
    tsa_url: str

    def tsa_serials(self) -> int:
        from sqlalchemy import func, select

        from app.extensions import db
        from processes.pki_models import TsaSerial

        with self.app.app_context():
            try:
                return db.session.execute(select(func.count(TsaSerial.id))).scalar_one()
            finally:
                db.session.remove()

    def close(self) -> None:
        from app.extensions import db

        self.server.close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def start_sealflow(data_dir: Path) -> Sealflow:
    server = HttpServer()
    try:
        return _start_sealflow(data_dir, server)
    except BaseException:
        server.close()
        raise


def _start_sealflow(data_dir: Path, server: HttpServer) -> Sealflow:
    from app import create_app
    from app.cli import init_database
    from app.context import env
    from app.extensions import db
    from config import Config, normalise_database_url
    from processes.db import unit_of_work
    from processes.people import directory
    from processes.pki import timestamping

    class BenchConfig(Config):
        """A single-machine install in the temp dir, sealing at B-T with its own /tsa."""

        def __init__(self) -> None:
            super().__init__()
            self.DATA_DIR = data_dir
            self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
                f"sqlite:///{data_dir / 'sealflow.db'}")
            self.SECRET_KEY = "bench-secret-key-not-for-production"
            self.KEY_PASSPHRASE = PASSPHRASE
            self.AUDIT_KEY = "bench-audit-key-not-for-production"
            self.ORG_NAME = ORG_NAME
            self.BASE_URL = server.url
            self.PADES_LEVEL = "B-T"
            self.TSA_URL = f"{server.url}/tsa"
            self.TSA_USERNAME = self.TSA_PASSWORD = self.TSA_POLICY = None
            self.TSA_RATE = "off"  # /tsa's limit per client (60/minute) would stop the runs
            self.PKCS11_TOKEN = self.PKCS11_PIN = None
            self.JOB_MODE = "external"  # nothing seals behind the bench's back

    app = create_app(BenchConfig())
    server.app = app
    with app.app_context():
        t0 = time.perf_counter()
        init_database()  # `sealflow init`: schema, CA, TSA, system seal
        restore_logging()
        log(f"sealflow init in {time.perf_counter() - t0:.1f} s")
        e = env()
        created: list[tuple[str, str, int]] = []
        with unit_of_work(db.session):
            root_km, issuing_km = authorities.ensure_pki(db.session, e)
            custodian = directory.add_user(db.session, "carol")
            for key_type, label in KEYS:
                seal = registry.create_seal(db.session, e, f"{ORG_NAME}合同专用章 {label}",
                                         seal_type=SEAL_TYPE, custodians=[custodian],
                                         key_type=key_type)
                created.append((key_type, label, seal.id))
        seal_cases = []
        with unit_of_work(db.session, write=False):
            from processes.models import Seal

            for key_type, label, seal_id in created:
                seal = db.session.get(Seal, seal_id)
                seal_cases.append(SealCase(
                    key_type, label, seal.id, seal.name, seal.cert_pem, seal.key_pem,
                    seal.appearance_pdf, registry.signer_for(db.session, e, seal)))
        timestamper = timestamping.timestamper_for(e)
        if timestamper is None:
            raise BenchError("processes.pki.timestamping.timestamper_for gave no timestamper "
                             "at B-T")
        db.session.remove()
    return Sealflow(app, server, root_km.cert_pem, issuing_km.cert_pem, seal_cases, timestamper,
                    e.tsa_url)


def prepare_baselines(sf: Sealflow, tmp: Path) -> None:
    """Stock pyHanko's signer from PEM files, as its docs have it; the raw key."""
    from pyhanko.sign import signers

    from signer.keys import private_key_from_bytes

    pem_dir = tmp / "pem"
    pem_dir.mkdir()
    (pem_dir / "root.cert.pem").write_bytes(sf.root_pem)
    (pem_dir / "issuing.cert.pem").write_bytes(sf.issuing_pem)
    for case in sf.seals:
        key_file = pem_dir / f"seal-{case.key_type}.key.pem"
        cert_file = pem_dir / f"seal-{case.key_type}.cert.pem"
        key_file.write_bytes(case.key_pem)  # the encrypted PKCS#8 Sealflow stores
        cert_file.write_bytes(case.cert_pem)
        case.appearance_path = pem_dir / f"seal-{case.key_type}.appearance.pdf"
        case.appearance_path.write_bytes(case.appearance_pdf)
        case.stock = signers.SimpleSigner.load(
            str(key_file), str(cert_file),
            ca_chain_files=(str(pem_dir / "issuing.cert.pem"), str(pem_dir / "root.cert.pem")),
            key_passphrase=PASSPHRASE.encode())
        if case.stock is None:
            raise BenchError(f"SimpleSigner.load could not load {key_file.name}")
        case.raw_key = private_key_from_bytes(case.key_pem, PASSPHRASE.encode())


_LOG_HANDLER: list[logging.Handler] = []


def quiet_logging(path: Path) -> logging.Handler:
    """The app's INFO log (one line per seal and per timestamp, werkzeug's request lines) goes
    to a file, as a server's would; create_app's basicConfig then adds no console handler."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _LOG_HANDLER[:] = [handler]
    restore_logging()
    return handler


def restore_logging() -> None:
    """Undo what the migrations' ``fileConfig(alembic.ini)`` did to this process: root at WARN
    on the console, every logger existing then disabled (seal_pdf's and the TSA's among them).
    A server never runs the migrations in process; its log is as create_app set it up."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h not in _LOG_HANDLER:
            root.removeHandler(h)
    for h in _LOG_HANDLER:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(logging.INFO)
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False


