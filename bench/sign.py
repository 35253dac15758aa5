#!/usr/bin/env python
"""What a seal costs: Sealflow's sealing path against stock pyHanko and the raw operations.

One run:

1. Sealflow, for real: ``create_app`` on SQLite in a temp dir, ``sealflow init``'s body
   (``app.cli.init_database``: schema, organisation CA, built-in TSA, system seal), one custodian
   and two seals made with ``processes.seals.registry.create_seal`` (RSA-2048 and P-256: key,
   certificate from the issuing CA, drawn appearance, key stored as encrypted PKCS#8). The app is
   served over real HTTP by werkzeug (threaded, 127.0.0.1, free port) so that B-T timestamps come
   from Sealflow's own ``POST /tsa``, serials persisted, as in production.
2. Two documents made in process: 1 page (reportlab) and 100 pages of about 10 MB (pikepdf, an
   incompressible random image per page).
3. For each document and key, five cases timed N times each, interleaved (round after round,
   each case once per round, after untimed warm-up rounds) so that load elsewhere on the
   machine hits them alike:

   - raw: SHA-256 of the file plus one signature with an already loaded key (RSA PKCS#1 v1.5 /
     ECDSA P-256, SHA-256) - the physical floor;
   - Sealflow B-B and B-T: what ``processes.requests.sealing.sign`` does - ``signer.seal_pdf``
     with the seal's cached ``SealSigner`` (``processes.seals.registry.signer_for``, looked up
     once, untimed), the
     default placement, the request's ``SealSettings`` and approval record (where this tree's
     ``seal_pdf`` takes one), and for B-T the cached HTTP timestamper
     (``processes.pki.timestamping.timestamper_for``);
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
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (  # noqa: E402
    ROOT,
    BenchError,
    Stats,
    code_version,
    load_average,
    log,
)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sign_report import print_report  # noqa: E402
from sign_setup import (  # noqa: E402 - importable from here, as bench/sign_loop.py does
    BIG_PAGES,
    ORG_NAME,
    SEAL_TYPE,
    Document,
    SealCase,
    Sealflow,
    big_pdf,
    prepare,
    prepare_baselines,
    quiet_logging,
    small_pdf,
    start_sealflow,
)

# -- what is timed ----------------------------------------------------------------------------

@dataclass
class Request:
    """The bits of a request processes.requests.sealing.sign turns into SealSettings."""

    counter: int = 1000

    def settings(self, case: SealCase) -> Any:
        import signer

        self.counter += 1
        return signer.SealSettings(
            field_name=f"Seal{self.counter}", name=case.seal_name, location=ORG_NAME,
            reason=f"Sealflow request #{self.counter} (contract_seal v1) authorized")


def approval_record(doc: Document, case: SealCase, settings: Any) -> bytes:
    """A record shaped like processes.requests.sealing.approval_record's: a request approved by
    three."""
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
