"""gunicorn's settings for `sealflow serve` (``gunicorn --config python:app.gunicorn_conf``):
the hook that checks the base URL once the server listens (``app.base_url``). The rest is on
`serve`'s command line."""

from __future__ import annotations

from typing import Any


def when_ready(server: Any) -> None:
    """In gunicorn's master, once it listens: the base URL checked in the background
    (warnings go to gunicorn's log, on standard error)."""
    from app.base_url import check_in_background, local_url
    from config import Config

    base = Config().BASE_URL  # SEALFLOW_BASE_URL: the operator's, or `serve`'s from --port
    host, port = server.LISTENERS[0].sock.getsockname()[:2]
    check_in_background(local_url(host, port), base, server.log)
