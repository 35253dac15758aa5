"""Small pictures of a PDF's pages, drawn on the server with poppler's ``pdftoppm``: the verify
page shows each seal on a thumbnail of its page. Without pdftoppm (or when it fails or takes
too long on a hostile file) there is no picture, and the page says where the seal is in words."""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess

logger = logging.getLogger(__name__)

WIDTH = 320
"""Pixels of a thumbnail's longer side."""
TIMEOUT = 10
"""Seconds one page may take to draw (a public upload may be built to be slow)."""
MAX_PAGES = 4
"""Pages drawn for one upload at most."""


def page_png(data: bytes, page: int, width: int = WIDTH) -> bytes | None:
    """Page ``page`` (1-based) of the PDF ``data`` as a PNG, or None."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    try:
        done = subprocess.run([tool, "-png", "-f", str(page), "-l", str(page), "-scale-to",
                               str(width), "-"], input=data, capture_output=True,
                              timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("no thumbnail of page %d: %s", page, exc)
        return None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        logger.info("no thumbnail of page %d: pdftoppm exited %d", page, done.returncode)
        return None
    return done.stdout


def data_urls(data: bytes, pages: list[int]) -> dict[int, str]:
    """The first :data:`MAX_PAGES` of ``pages`` as ``data:`` URLs for an ``<img>``."""
    urls: dict[int, str] = {}
    for page in list(dict.fromkeys(pages))[:MAX_PAGES]:
        png = page_png(data, page)
        if png is not None:
            urls[page] = "data:image/png;base64," + base64.b64encode(png).decode()
    return urls
