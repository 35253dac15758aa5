#!/usr/bin/env python
"""What a seal costs: Sealflow's sealing path against stock pyHanko and the raw operations.

One run:

1. Sealflow, for real: ``create_app`` on SQLite in a temp dir, ``sealflow init``'s body
   (``app.cli.init_database``: schema, organisation CA, built-in TSA, system seal), one custodian
   and two seals made with ``processes.seals.create_seal`` (RSA-2048 and P-256: key, certificate
   from the issuing CA, drawn appearance, key stored as encrypted PKCS#8). The app is served
   over real HTTP by werkzeug (threaded, 127.0.0.1, free port) so that B-T timestamps come from
   Sealflow's own ``POST /tsa``, serials persisted, as in production.
2. Two documents made in process: 1 page (reportlab) and 100 pages of about 10 MB (pikepdf, an
   incompressible random image per page).
3. For each document and key, five cases timed N times each, interleaved (round after round,
   each case once per round, after untimed warm-up rounds) so that load elsewhere on the
   machine hits them alike:

   - raw: SHA-256 of the file plus one signature with an already loaded key (RSA PKCS#1 v1.5 /
     ECDSA P-256, SHA-256) - the physical floor;
   - Sealflow B-B and B-T: what ``processes.sealing.sign`` does - ``signer.seal_pdf`` with the
     seal's cached ``SealSigner`` (``processes.seals.signer_for``, looked up once, untimed), the
     default placement, the request's ``SealSettings`` and approval record (where this tree's
     ``seal_pdf`` takes one), and for B-T the cached HTTP timestamper
     (``processes.tsa.timestamper_for``);
   - stock pyHanko B-B and B-T: ``signers.SimpleSigner.load`` from the same encrypted PKCS#8
     PEM (with the passphrase) and chain, ``PdfSigner.sign_pdf`` with the same metadata, field
     spec, visible stamp (``StaticStampStyle.from_pdf_file`` of the same appearance PDF, same
     layout) and, for B-T, the same timestamper.

   One output of every case is validated with ``signer.validate_pdf`` (intact, valid, trusted,
   bottom line; a trusted timestamp for B-T, none for B-B) and every output is checked to be an
   incremental update of its input, so nothing broken is timed. A failure exits 1.
4. A report: median and p90 ms per document for each case, then the goals (met / NOT met):
   stock / Sealflow RSA-2048 B-B >= 5x; Sealflow 100-page B-B / raw 100-page <= 3x per key;
   B-T - B-B <= 20 ms per document and key.

    .venv/bin/python bench/sign.py
    .venv/bin/python bench/sign.py --n 50 --n-big 20 --keep
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import logging
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import ROOT, BenchError, Stats, code_version, log, nproc  # noqa: E402

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSPHRASE = "bench-passphrase"
ORG_NAME = "基准测试科技有限公司"
SEAL_TYPE = "合同专用章"
KEYS = (("rsa2048", "RSA-2048"), ("p256", "P-256"))
BIG_PAGES = 100
IMAGE_W, IMAGE_H = 190, 180  # 102,600 bytes of RGB noise per page: ~10.3 MB for 100 pages

GOAL_STOCK_RATIO = 5.0
GOAL_RAW_RATIO = 3.0
GOAL_BT_EXTRA_MS = 20.0


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    return (f"nproc={nproc()}, {cpu_model()}, {platform.platform()}, "
            f"Python {platform.python_version()}")


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("pyHanko", "cryptography", "pyhanko-certvalidator", "asn1crypto", "aiohttp",
                 "Werkzeug", "pikepdf", "reportlab"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


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
    sealflow: Any  # signer.SealSigner, from processes.seals.signer_for
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
    timestamper: Any  # processes.tsa.timestamper_for(env): the cached HTTP client
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
    from processes import people, seals, tsa
    from processes.db import unit_of_work

    class BenchConfig(Config):
        """A single-machine install in the temp dir, sealing at B-T with its own /tsa."""

        def __init__(self) -> None:
            super().__init__()
            self.DATA_DIR = data_dir
            self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
                f"sqlite:///{data_dir / 'sealflow.db'}")
            self.SECRET_KEY = "bench-secret-key-not-for-production"
            self.KEY_PASSPHRASE = PASSPHRASE
            self.ORG_NAME = ORG_NAME
            self.BASE_URL = server.url
            self.PADES_LEVEL = "B-T"
            self.TSA_URL = f"{server.url}/tsa"
            self.TSA_USERNAME = self.TSA_PASSWORD = self.TSA_POLICY = None
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
            root_km, issuing_km = seals.ensure_pki(db.session, e)
            custodian = people.add_user(db.session, "carol")
            for key_type, label in KEYS:
                seal = seals.create_seal(db.session, e, f"{ORG_NAME}合同专用章 {label}",
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
                    seal.appearance_pdf, seals.signer_for(db.session, e, seal)))
        timestamper = tsa.timestamper_for(e)
        if timestamper is None:
            raise BenchError("processes.tsa.timestamper_for gave no timestamper at B-T")
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


# -- what is timed ----------------------------------------------------------------------------

@dataclass
class Request:
    """The bits of a request processes.sealing.sign turns into SealSettings (and, where this
    tree's seal_pdf takes one, an approval record)."""

    counter: int = 1000

    def settings(self, case: SealCase) -> Any:
        import signer

        self.counter += 1
        return signer.SealSettings(
            field_name=f"Seal{self.counter}", name=case.seal_name, location=ORG_NAME,
            reason=f"Sealflow request #{self.counter} (contract_seal v1) authorized")


def approval_record(doc: Document, case: SealCase, settings: Any) -> bytes:
    """A record shaped like processes.sealing.approval_record's: a request approved by three."""
    approvals = [{"task": task, "user": user, "decision": "approve", "comment": "同意",
                  "at": "2026-11-26T10:00:00+08:00"}
                 for task, user in (("dept_head_approve", "bob"), ("legal_review", "lily"),
                                    ("custodian_approve", "carol"))]
    return json.dumps({
        "sealflow_approval_record": 1, "field": settings.field_name, "organisation": ORG_NAME,
        "request": int(settings.field_name.removeprefix("Seal")),
        "process": {"key": "contract_seal", "version": 1}, "business_type": "contract",
        "requester": "alice",
        "seal": {"id": case.seal_id, "name": case.seal_name, "type": SEAL_TYPE,
                 "certificate_serial": case.sealflow.serial_hex},
        "document_sha256": doc.sha256, "approvals": approvals,
        "authorized_at": "2026-11-26T10:00:00+08:00",
    }, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def sealflow_once(doc: Document, case: SealCase, settings: Any, timestamper: Any) -> bytes:
    import signer

    return signer.seal_pdf(doc.data, expected_sha256=doc.sha256, signer=case.sealflow,
                           appearance_pdf=case.appearance_pdf, placement=None,
                           settings=settings, timestamper=timestamper,
                           approval_record=approval_record(doc, case, settings),
                           page_refs=doc.page_refs)


def stock_once(doc: Document, case: SealCase, settings: Any, timestamper: Any) -> bytes:
    from pyhanko import stamp
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=settings.field_name, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, reason=settings.reason,
        location=settings.location, name=settings.name)
    style = stamp.StaticStampStyle.from_pdf_file(  # Sealflow's style, from a file
        str(case.appearance_path), background_opacity=1.0, border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(), inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT))
    pdf_signer = signers.PdfSigner(
        meta, signer=case.stock, timestamper=timestamper, stamp_style=style,
        new_field_spec=fields.SigFieldSpec(sig_field_name=settings.field_name,
                                           on_page=doc.page_index, box=doc.box))
    writer = IncrementalPdfFileWriter(io.BytesIO(doc.data), strict=False)
    return pdf_signer.sign_pdf(writer).getvalue()


def raw_once(doc: Document, case: SealCase) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    digest = hashlib.sha256(doc.data).digest()
    key = case.raw_key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(digest, PKCS1v15(), Prehashed(hashes.SHA256()))
    return key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def check_raw(doc: Document, case: SealCase, signature: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

    public = case.raw_key.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, doc.data, PKCS1v15(), hashes.SHA256())
        else:
            public.verify(signature, doc.data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BenchError(f"raw {case.label} signature of {doc.name} does not verify") from None


def check_output(what: str, doc: Document, out: bytes) -> None:
    """Every timed output: an incremental update of the input, ending in %%EOF."""
    if len(out) <= len(doc.data) or out[:len(doc.data)] != doc.data \
            or b"%%EOF" not in out[-32:]:
        raise BenchError(f"{what}: the output is not an incremental update of the input "
                         f"({len(doc.data)} -> {len(out)} bytes)")


def validate(what: str, out: bytes, sf: Sealflow, settings: Any, timestamped: bool) -> str:
    """One output per case through signer.validate_pdf; returns its summary."""
    import signer

    reports = signer.validate_pdf(out, trust_roots=[sf.root_pem])
    if len(reports) != 1:
        raise BenchError(f"{what}: expected one signature, validate_pdf found {len(reports)}")
    r = reports[0]
    problems = [name for name, ok in (
        ("intact", r.intact), ("valid", r.valid), ("trusted", r.trusted),
        ("bottom_line", r.bottom_line), ("coverage ENTIRE_FILE", r.coverage == "ENTIRE_FILE"),
        ("not modified after", r.modified_after is False),
        (f"field {settings.field_name}", r.field == settings.field_name)) if not ok]
    if timestamped:
        if r.timestamp is None or not r.timestamp_intact or not r.timestamp_trusted:
            problems.append(f"timestamp intact/trusted (timestamp {r.timestamp}, intact "
                            f"{r.timestamp_intact}, trusted {r.timestamp_trusted})")
    elif r.timestamp is not None:
        problems.append("no timestamp at B-B")
    if problems:
        raise BenchError(f"{what}: validate_pdf says {r.summary}; failed: {', '.join(problems)}")
    return r.summary


@dataclass
class Case:
    doc: str
    key: str
    path: str  # raw, Sealflow, stock pyHanko, TSA
    level: str  # "", B-B, B-T
    run: Callable[[], bytes]
    check: Callable[[bytes], None]
    stats: Stats = field(default_factory=lambda: Stats(""))
    summary: str = ""
    last: bytes = b""
    settings: Any = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.doc, self.key, self.path, self.level) if p)

    def once(self, timed: bool) -> None:
        t = time.perf_counter()
        out = self.run()
        elapsed = time.perf_counter() - t
        self.check(out)  # after the clock
        if timed:
            self.stats.samples_s.append(elapsed)
        self.last = out


def interleaved(cases: list[Case], n: int, warmup: int) -> None:
    """``warmup`` untimed rounds, then ``n`` timed rounds; each round runs every case once, in
    turn, so a burst of load elsewhere on the machine hits all of them alike and the ratios
    between them stay fair."""
    for i in range(warmup + n):
        for case in cases:
            case.once(timed=i >= warmup)


def run_cases(args: argparse.Namespace, sf: Sealflow, docs: list[Document]) -> list[Case]:
    request = Request()

    # Informational: one TSA round trip through the same client, as pyHanko asks it.
    digest = hashlib.sha256(b"bench").digest()

    async def ask() -> Any:
        return await sf.timestamper.async_timestamp(digest, "sha256")

    tsa = Case("", "", "TSA round trip alone (POST /tsa, the cached client)", "",
               run=lambda: asyncio.run(ask()).dump(), check=lambda out: None)
    interleaved([tsa], args.n, args.warmup)
    cases = [tsa]

    for doc in docs:
        for seal in sf.seals:
            raw = Case(doc.name, seal.label, "raw (SHA-256 + 1 signature)", "",
                       run=lambda d=doc, s=seal: raw_once(d, s), check=lambda sig: None)
            group = [raw]
            for path, sign_once in (("Sealflow", sealflow_once), ("stock pyHanko", stock_once)):
                for level in ("B-B", "B-T"):
                    case = Case(doc.name, seal.label, path, level, run=lambda: b"",
                                check=lambda out: None)
                    ts = sf.timestamper if level == "B-T" else None

                    def run(d=doc, s=seal, o=sign_once, t=ts, c=case) -> bytes:
                        c.settings = request.settings(s)
                        return o(d, s, c.settings, t)

                    case.run = run
                    case.check = lambda out, c=case, d=doc: check_output(c.name, d, out)
                    group.append(case)
            t0 = time.perf_counter()
            interleaved(group, doc.n, args.warmup)
            log(f"{doc.name} {seal.label}: {len(group)} cases x ({args.warmup} + {doc.n}) runs "
                f"in {time.perf_counter() - t0:.1f} s")

            check_raw(doc, seal, raw.last)
            raw.summary = f"{len(raw.last)}-byte signature verifies"
            for case in group[1:]:
                case.summary = validate(case.name, case.last, sf, case.settings,
                                        timestamped=case.level == "B-T")
                case.summary += f"; +{len(case.last) - len(doc.data):,} bytes"
                case.last = b""
            raw.last = b""
            cases.extend(group)
    return cases


# -- report -----------------------------------------------------------------------------------

def find(cases: list[Case], doc: str, key: str, path: str, level: str) -> Case:
    for c in cases:
        if c.doc == doc and c.key == key and c.path.startswith(path) and c.level == level:
            return c
    raise KeyError((doc, key, path, level))


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_report(args: argparse.Namespace, sf: Sealflow, docs: list[Document],
                 cases: list[Case], serials: int) -> None:
    small, big = docs
    print()
    print(f"Sealflow sealing benchmark: a PAdES seal (visible stamp) on a 1-page and a "
          f"{big.pages}-page PDF")
    print(f"  machine   : {machine()}")
    print(f"  load      : {args.load} at the start, {load_average()} at the end (1, 5, 15 min; "
          "other work on the machine skews the figures)")
    print(f"  versions  : {versions()}")
    print(f"  code      : {args.code}")
    for d in docs:
        how = "reportlab" if d is small else \
            f"pikepdf, a {IMAGE_W}x{IMAGE_H} random RGB image per page, uncompressed"
        print(f"  document  : {d.name}: {len(d.data):,} bytes ({how}; made in "
              f"{d.make_s * 1000:.0f} ms); seal at the default place, page {d.page_index + 1}, "
              f"({d.box[0]:.0f}, {d.box[1]:.0f}), {d.box[2] - d.box[0]:.0f} pt")
    print("  keys      : RSA-2048 and P-256 seals made by processes.seals.create_seal (issuing CA "
          "of `sealflow init`, drawn appearance, key stored as encrypted PKCS#8)")
    print("  Sealflow  : signer.seal_pdf with processes.seals.signer_for's cached SealSigner, "
          "default placement, the request's SealSettings, an approval record and the page list "
          "kept from the upload check (as processes.sealing.sign); B-T with "
          "processes.tsa.timestamper_for's cached HTTP client")
    print("  stock     : pyHanko SimpleSigner.load(key, cert, ca_chain_files, key_passphrase) "
          "+ PdfSigner.sign_pdf: same metadata, field spec, stamp (from_pdf_file) and "
          "timestamper")
    print("  raw       : hashlib.sha256 of the file + one signature of the digest (RSA PKCS#1 "
          "v1.5 / ECDSA, SHA-256) with the loaded key")
    print(f"  TSA       : Sealflow's own POST /tsa at {sf.tsa_url}: create_app on SQLite in a "
          "temp dir, werkzeug threaded server in this process; "
          f"{serials} tokens granted, serials persisted (tsa_serials)")
    print(f"  N         : {small.n} per 1-page case, {big.n} per {big.pages}-page case, after "
          f"{args.warmup} untimed warm-up round(s); per document and key the cases run "
          "interleaved, round after round")
    print("  checked   : every output an incremental update of its input; the last of each case "
          "validated with signer.validate_pdf (intact, valid, trusted, bottom line, timestamp "
          "trusted at B-T)")
    print()
    w = max(len(c.name) for c in cases)
    head = f"  {'case':<{w}}  {'median ms':>9}  {'p90 ms':>8}  {'min ms':>8}  validation"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for c in cases:
        print(f"  {c.name:<{w}}  {c.stats.median:>9.2f}  {c.stats.pct(90):>8.2f}  "
              f"{min(c.stats.ms):>8.2f}  {c.summary}")

    def median(doc: Document, label: str, path: str, level: str = "") -> float:
        return find(cases, doc.name, label, path, level).stats.median

    lines: list[tuple[str, str, str]] = []
    for d in docs:
        stock, ours = median(d, "RSA-2048", "stock", "B-B"), median(d, "RSA-2048", "Sealflow",
                                                                     "B-B")
        r = stock / ours
        lines.append((f"stock / Sealflow, {d.name} RSA-2048 B-B",
                      f"{r:7.1f}x   ({stock:.1f} / {ours:.1f} ms)",
                      f"goal >= {GOAL_STOCK_RATIO:g}x: {verdict(r >= GOAL_STOCK_RATIO)}"))
    for _, label in KEYS:
        ours, raw = median(big, label, "Sealflow", "B-B"), median(big, label, "raw")
        r = ours / raw
        lines.append((f"Sealflow B-B / raw, {big.name} {label}",
                      f"{r:7.1f}x   ({ours:.1f} / {raw:.1f} ms)",
                      f"goal <= {GOAL_RAW_RATIO:g}x: {verdict(r <= GOAL_RAW_RATIO)}"))
    for d in docs:
        for _, label in KEYS:
            bb, bt = median(d, label, "Sealflow", "B-B"), median(d, label, "Sealflow", "B-T")
            lines.append((f"Sealflow B-T - B-B, {d.name} {label}",
                          f"{bt - bb:+7.1f} ms ({bt:.1f} - {bb:.1f} ms)",
                          f"goal <= {GOAL_BT_EXTRA_MS:g} ms: "
                          f"{verdict(bt - bb <= GOAL_BT_EXTRA_MS)}"))
    print()
    print("  Goals (from the medians)")
    _print_lines(lines)

    lines = [("TSA round trip alone", f"{cases[0].stats.median:7.1f} ms", "")]
    for d in docs:
        for _, label in KEYS:
            for level in ("B-B", "B-T"):
                stock, ours = median(d, label, "stock", level), median(d, label, "Sealflow",
                                                                       level)
                lines.append((f"stock / Sealflow, {d.name} {label} {level}",
                              f"{stock / ours:7.1f}x   ({stock:.1f} / {ours:.1f} ms)", ""))
    for _, label in KEYS:
        ours, raw = median(small, label, "Sealflow", "B-B"), median(small, label, "raw")
        lines.append((f"Sealflow B-B / raw, {small.name} {label}",
                      f"{ours / raw:7.0f}x   ({ours:.1f} / {raw:.2f} ms)",
                      "fixed cost: CMS and PDF work"))
    for d in docs:
        for _, label in KEYS:
            bb, bt = median(d, label, "stock", "B-B"), median(d, label, "stock", "B-T")
            lines.append((f"stock B-T - B-B, {d.name} {label}",
                          f"{bt - bb:+7.1f} ms ({bt:.1f} - {bb:.1f} ms)", ""))
    print()
    print("  Informational")
    _print_lines(lines)


def _print_lines(lines: list[tuple[str, str, str]]) -> None:
    w1 = max(len(a) for a, _, _ in lines)
    w2 = max(len(b) for _, b, _ in lines)
    for a, b, c in lines:
        print(f"  {a:<{w1}} : {b:<{w2}}  {c}".rstrip())


# -- main -------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="timed runs per 1-page case (30)")
    p.add_argument("--n-big", type=int, default=10,
                   help=f"timed runs per {BIG_PAGES}-page case (10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before each case (2)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temp dir (database, PEM files, bench.log)")
    args = p.parse_args(argv)
    if args.n < 1 or args.n_big < 1 or args.warmup < 0:
        p.error("--n and --n-big must be at least 1, --warmup at least 0")
    return args


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.code = code_version()
    args.load = load_average()
    tmp = Path(tempfile.mkdtemp(prefix="sealflow-bench-sign-"))
    handler = quiet_logging(tmp / "bench.log")
    sf: Sealflow | None = None
    try:
        t0 = time.perf_counter()
        sf = start_sealflow(tmp / "data")
        prepare_baselines(sf, tmp)
        log(f"Sealflow up, TSA at {sf.tsa_url}, seals ready in {time.perf_counter() - t0:.1f} s")
        docs = [prepare("1-page", small_pdf, args.n),
                prepare(f"{BIG_PAGES}-page", big_pdf, args.n_big)]
        log(f"documents: {', '.join(f'{d.name} {len(d.data):,} bytes' for d in docs)}")
        cases = run_cases(args, sf, docs)
        print_report(args, sf, docs, cases, sf.tsa_serials())
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if sf is not None:
            sf.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
