"""gunicorn's settings for `sealflow serve` (``gunicorn --config python:app.gunicorn_conf``):
the hook that checks the base URL once the server listens (``app.base_url``). The rest is on
`serve`'s command line."""

from __future__ import annotations

import threading
import time
from typing import Any


def when_ready(server: Any) -> None:
    """In gunicorn's master, once it listens: the base URL checked in the background
    (warnings go to gunicorn's log, on standard error).

    The check starts only once the first workers are forked. when_ready runs before they
    are, and a fork copies a lock some other thread of the master holds at that moment as held
    for ever: a worker forked while the check imported the IDNA codec for its first connection
    (or logged) hung before it served one request. The waiting thread holds no lock; the
    codec is imported here, so that a worker forked later (a restart) cannot meet it either."""
    import encodings.idna  # noqa: F401  (what the check's first connection would import)

    from app.base_url import check_in_background, local_url
    from config import Config

    base = Config().BASE_URL  # SEALFLOW_BASE_URL: the operator's, or `serve`'s from --port
    host, port = server.LISTENERS[0].sock.getsockname()[:2]

    def after_the_forks() -> None:
        deadline = time.monotonic() + 60
        while len(server.WORKERS) < server.num_workers and time.monotonic() < deadline:
            time.sleep(0.05)
        check_in_background(local_url(host, port), base, server.log)

    threading.Thread(target=after_the_forks, name="sealflow-base-url-wait", daemon=True).start()
