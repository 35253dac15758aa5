"""Sealing the 100-page file in a tight loop, as a sealing job does one grant after another.

bench/sign.py runs every case interleaved, round after round, and keeps each case's last output
(10 MB) alive for validation; that is fair between the cases but makes every Sealflow run pay for
fresh memory that the raw baseline (a hash and one signature) never touches. This runs the same
Sealflow call (`bench/sign.py`'s ``sealflow_once``: the seal of ``sealflow init``, the request's
settings, an approval record, the page list) and the raw operations each in a loop of their own,
and prints both medians and their ratio. B-B, RSA-2048 and P-256.

    .venv/bin/python bench/sign_loop.py [--n 20]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sign  # noqa: E402 - bench/sign.py, beside this file


def timed(run, n: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20, help="timed runs per case (20)")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="sealflow-bench-loop-"))
    handler = sign.quiet_logging(tmp / "bench.log")
    sf = None
    try:
        sf = sign.start_sealflow(tmp / "data")
        sign.prepare_baselines(sf, tmp)
        doc = sign.prepare(f"{sign.BIG_PAGES}-page", sign.big_pdf, args.n)
        request = sign.Request()
        print(f"Sealing {doc.name} ({len(doc.data):,} bytes) in a tight loop, B-B, "
              f"median of {args.n}; load {sign.load_average()}")
        for case in sf.seals:
            ours = timed(lambda c=case: sign.sealflow_once(doc, c, request.settings(c), None),
                         args.n)
            raw = timed(lambda c=case: sign.raw_once(doc, c), args.n)
            verdict = "met" if ours <= 3 * raw else "NOT met"
            print(f"  {case.label:<9} Sealflow {ours:7.2f} ms   raw {raw:6.2f} ms   "
                  f"ratio {ours / raw:4.1f}x   (goal <= 3x: {verdict})")
        return 0
    finally:
        if sf is not None:
            sf.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
