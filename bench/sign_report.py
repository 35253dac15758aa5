"""bench/sign.py's report: every case's median, p90 and min, then the goals and the ratios."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from common import load_average, machine, versions
from sign_setup import IMAGE_H, IMAGE_W, KEYS, SIGN_PACKAGES, Document, Sealflow

if TYPE_CHECKING:
    from sign import Case

GOAL_STOCK_RATIO = 5.0
GOAL_RAW_RATIO = 3.0
GOAL_BT_EXTRA_MS = 20.0


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
    print(f"  versions  : {versions(SIGN_PACKAGES)}")
    print(f"  code      : {args.code}")
    for d in docs:
        how = "reportlab" if d is small else \
            f"pikepdf, a {IMAGE_W}x{IMAGE_H} random RGB image per page, uncompressed"
        print(f"  document  : {d.name}: {len(d.data):,} bytes ({how}; made in "
              f"{d.make_s * 1000:.0f} ms); seal at the default place, page {d.page_index + 1}, "
              f"({d.box[0]:.0f}, {d.box[1]:.0f}), {d.box[2] - d.box[0]:.0f} pt")
    print("  keys      : RSA-2048 and P-256 seals made by processes.seals.registry.create_seal "
          "(issuing CA of `sealflow init`, drawn appearance, key stored as encrypted PKCS#8)")
    print("  Sealflow  : signer.seal_pdf with processes.seals.registry.signer_for's cached "
          "SealSigner, default placement, the request's SealSettings, an approval record and "
          "the page list kept from the upload check (as processes.requests.sealing.sign); B-T with "
          "processes.pki.timestamping.timestamper_for's cached HTTP client")
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


