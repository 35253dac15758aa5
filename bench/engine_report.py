"""bench/engine.py's results and its report: the production server's completions (the main
figure), the development server's (a second line), the bare engine, and their ratios."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import common
from common import Database, Stats

SPIFFARENA_MS = 127.0
SPIFFARENA_RATIO = 82.0
GOAL_RATIO = 2.0


@dataclass
class ApiResult:
    kind: str  # "serve" or "run"
    completions: Stats
    me: Stats
    connects: int
    requests: int
    closed_by_server: int
    created: int
    create_s: float
    server: str

    def connections(self) -> str:
        keepalive = ("kept alive" if self.closed_by_server == 0 else
                     f"the server closed {self.closed_by_server} (Connection: close), each "
                     "reopened before its clock started")
        return f"{self.connects} TCP connects for {self.requests} timed requests; {keepalive}"


@dataclass
class BareResult:
    stock: Stats
    spec_free: Stats
    stock_bytes: int
    spec_free_bytes: int
    stock_bytes_after: int
    spec_free_bytes_after: int


def print_report(args: argparse.Namespace, db: Database, apis: list[ApiResult],
                 bare: BareResult) -> None:
    main = apis[0]
    rows = [main.completions, bare.stock, bare.spec_free,
            *(a.completions for a in apis[1:]), *(a.me for a in apis)]
    ratio = main.completions.median / bare.stock.median
    ratio_mean = main.completions.mean / bare.stock.mean
    print()
    print("Sealflow engine benchmark: completing the department head's approval")
    print(f"  machine     : {common.machine()}")
    print(f"  load        : {common.load_average()} (1, 5, 15 min, at the end)")
    print(f"  database    : {db.kind}")
    print(f"  code        : {args.code}")
    for api in apis:
        print(f"  server {api.kind:<5}: {api.server}")
    print(f"  N           : {args.n} timed completions per path (+{args.warmup} warm-up, "
          f"untimed); {main.created} requests per server created over HTTP (not timed)")
    print(f"  versions    : {common.versions()}")
    print("  API client  : sequential, one client, http.client, TCP_NODELAY")
    for api in apis:
        print(f"    {api.kind:<5}     : {api.connections()}")
    print(f"  instance    : stock JSON {bare.stock_bytes} B -> {bare.stock_bytes_after} B; "
          f"spec-free {bare.spec_free_bytes} B -> {bare.spec_free_bytes_after} B "
          "(before -> after the approval)")
    print()
    w = max(len(r.label) for r in rows)
    head = (f"  {'path':<{w}}  {'median ms':>9}  {'mean ms':>8}  {'p90 ms':>7}  {'p99 ms':>7}  "
            f"{'min ms':>7}  {'per s':>7}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in rows:
        print(f"  {r.label:<{w}}  {r.median:>9.3f}  {r.mean:>8.3f}  {r.pct(90):>7.3f}  "
              f"{r.pct(99):>7.3f}  {min(r.ms):>7.3f}  {r.per_second:>7.1f}")
    print()
    print(f"  API median ({main.kind})         : {main.completions.median:8.3f} ms per "
          f"completion ({main.completions.per_second:.1f} completions/s, mean "
          f"{main.completions.mean:.3f} ms)")
    print(f"  bare-engine median (stock) : {bare.stock.median:8.3f} ms per completion")
    print(f"  ratio API / bare           : {ratio:8.1f}x median ({ratio_mean:.1f}x mean); goal "
          f"<= {GOAL_RATIO:.0f}x: {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    for api in apis[1:]:
        print(f"  ratio {api.kind} / bare           : "
              f"{api.completions.median / bare.stock.median:8.1f}x median (informational)")
    print(f"  ratio API / spec-free      : "
          f"{main.completions.median / bare.spec_free.median:8.1f}x median (informational)")
    print(f"  SpiffArena reference       : {SPIFFARENA_MS:8.1f} ms per completion, "
          f"{SPIFFARENA_RATIO:.0f}x the bare engine")
