"""What an expression evaluation costs: ordinary expressions (the budget must not slow them) and
the costliest ones the budget lets through (it must keep them short).

    PYTHONPATH=$PWD .venv/bin/python bench/expressions.py [--n 20000]
"""

from __future__ import annotations

import argparse
import statistics
import timeit

from processes.expressions import ExpressionError, compile_expression, evaluate

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
COSTLY = [  # each must fail quickly
    "${len([[0]*n]*n)}",
    "${len(str([s]*n))}",
    "${int(s*n)}",
    "${k * k * k * k * k}",
    "${round(5, -k)}",
]


def _median_us(text: str, variables: dict, n: int) -> float:
    compile_expression(text)
    runs = timeit.repeat(lambda: evaluate(text, variables), number=n, repeat=5)
    return statistics.median(runs) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    print("ordinary expressions, median µs per evaluation (5 runs of --n):")
    for text in ORDINARY:
        print(f"  {_median_us(text, VARIABLES, args.n):8.2f}  {text}")
    print("costly expressions, ms until refused:")
    costly = {"n": 20000, "s": "9" * 90, "k": 10**9}
    for text in COSTLY:
        start = timeit.default_timer()
        try:
            evaluate(text, costly)
            outcome = "evaluated (!)"
        except ExpressionError as exc:
            outcome = exc.message[:70]
        print(f"  {(timeit.default_timer() - start) * 1e3:8.2f}  {text}: {outcome}")


if __name__ == "__main__":
    main()
