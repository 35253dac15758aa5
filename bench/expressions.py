"""What an expression evaluation costs: ordinary expressions (the budget must not slow them) and
the costliest ones (the budget must stop them at once).

    PYTHONPATH=$PWD .venv/bin/python bench/expressions.py [--n 20000]
        [--baseline /path/to/other/tree/processes/flows/expressions.py]

With ``--baseline``, the same ordinary expressions are timed with that file's ``evaluate`` too,
interleaved with this tree's, and the ratio printed (this tree / baseline).
"""

from __future__ import annotations

import argparse
import importlib.util
import timeit
from types import ModuleType

from processes.flows import expressions
from processes.flows.expressions import ExpressionError

VARIABLES = {"amount": 1_500_000, "requester_heads": ["bob"], "seal_type": "合同专用章",
             "decision": "approve", "return_date": "2026-12-01", "approvers": ["a", "b", "c"],
             "decisions": ["approve", "approve", "reject"]}
ORDINARY = [
    "${amount > 1000000 && requester_heads != []}",
    "${decision == 'approve'}",
    "${requester_heads}",
    "${'R/' + return_date + 'T18:00:00/P1D'}",
    "${empty approvers or 'reject' in decisions}",
    "${amount * 2 + 1 > 100 and seal_type eq '合同专用章'}",
]
COSTLY = [  # each must be refused within milliseconds
    "${len([[0]*n]*n)}",
    "${len(str([s]*n))}",
    "${int(s*n)}",
    "${k * k * k * k * k}",
    "${round(5, -k)}",
]
COSTLY_VARIABLES = {"n": 20000, "s": "9" * 90, "k": 10**9}


def _best_us(module: ModuleType, text: str, n: int) -> float:
    module.compile_expression(text)
    runs = timeit.repeat(lambda: module.evaluate(text, VARIABLES), number=n, repeat=7)
    return min(runs) / n * 1e6


def _load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("baseline_expressions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--baseline", help="another tree's processes/flows/expressions.py")
    args = parser.parse_args()
    baseline = _load(args.baseline) if args.baseline else None
    print(f"ordinary expressions, µs per evaluation (best of 7 runs of {args.n}):")
    print("      this  baseline  ratio" if baseline else "      this")
    for text in ORDINARY:
        if baseline is None:
            print(f"  {_best_us(expressions, text, args.n):8.2f}  {text}")
            continue
        base = _best_us(baseline, text, args.n)
        this = _best_us(expressions, text, args.n)
        print(f"  {this:8.2f}  {base:8.2f}  {this / base:5.2f}  {text}")
    print("costly expressions, ms until refused:")
    for text in COSTLY:
        start = timeit.default_timer()
        try:
            expressions.evaluate(text, COSTLY_VARIABLES)
            outcome = "evaluated (!)"
        except ExpressionError as exc:
            outcome = exc.message[:90]
        print(f"  {(timeit.default_timer() - start) * 1e3:8.2f}  {outcome}")


if __name__ == "__main__":
    main()
