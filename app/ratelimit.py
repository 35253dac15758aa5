"""Rate limits for the public endpoints (verification, the timestamp authority): a token bucket
per client address, in process memory.

Each worker process keeps its own buckets, so with ``serve --workers N`` a client may get up to N
times the rate; and the address is ``request.remote_addr``, so behind a reverse proxy every
client shares the proxy's address unless the proxy's ``X-Forwarded-For`` is trusted (werkzeug's
``ProxyFix``). Enough to stop one client from keeping the validator or the TSA busy; a limit at
the proxy is the place for more.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import current_app, make_response, request
from flask_babel import gettext as _

from app.errors import error_response
from config import parse_rate


class TokenBucket:
    """``capacity`` calls per ``period`` seconds for each key, refilled continuously."""

    def __init__(self, capacity: int, period: float, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.period = period
        self._refill = capacity / period  # tokens per second
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0 when allowed, else the seconds until one is due."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - then) * self._refill)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._refill
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            # The least recently seen addresses go first; forgetting one only refills it.
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


def _bucket(name: str, setting: str) -> TokenBucket | None:
    buckets = current_app.extensions.setdefault("sealflow_rate_limits", {})
    if name not in buckets:
        rate = parse_rate(current_app.config[setting], f"SEALFLOW_{setting}")
        buckets[name] = TokenBucket(*rate) if rate is not None else None
    return buckets[name]


def rate_limited(name: str, setting: str) -> Callable[[Callable], Callable]:
    """Limit a view to the rate in ``app.config[setting]`` per client address; the views that
    share ``name`` share the buckets. Past the limit: 429 with ``Retry-After``."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            bucket = _bucket(name, setting)
            wait = bucket.take(request.remote_addr or "unknown") if bucket else 0.0
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                response = make_response(error_response(
                    "rate_limited",
                    _("Too many requests from your address; try again in %(seconds)s s",
                      seconds=seconds), 429))
                response.headers["Retry-After"] = str(seconds)
                return response
            return view(*args, **kwargs)

        return wrapper

    return decorate
