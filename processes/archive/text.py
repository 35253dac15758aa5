"""The text of a sealed PDF, for the archive's search: poppler's ``pdftotext``.

Chosen over pypdf and pdfminer.six: it is installed already (poppler-utils, for ``pdfsig``;
.ci/system-packages.sh), adds no Python dependency, is the fastest of the three, and reads
Chinese both from embedded fonts with a ToUnicode map (what word processors write) and, with
poppler-data, from the standard Adobe-GB1 fonts that are not embedded (reportlab's
STSong-Light). A PDF without text (a scan) gives none: it is filed unsearched (no OCR).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile

logger = logging.getLogger(__name__)

MAX_CHARS = 200_000
"""Text kept and indexed per document (a contract runs to a few tens of thousands)."""
TIMEOUT_SECONDS = 60


class TextUnavailable(Exception):
    """pdftotext is missing, failed or took too long: the filing is tried again later."""


def extract(data: bytes) -> str:
    """The PDF's text in reading order, pages separated by form feeds; "" when it has none.

    :raises TextUnavailable: pdftotext could not read it (not installed, failed, too slow).
    """
    exe = shutil.which("pdftotext")
    if exe is None:
        raise TextUnavailable("pdftotext is not installed (Debian: poppler-utils)")
    # From a file: pdftotext seeks in its input, which a pipe does not allow.
    fd, path = tempfile.mkstemp(suffix=".pdf", prefix="sealflow-text-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        done = subprocess.run([exe, "-q", "-enc", "UTF-8", path, "-"], capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise TextUnavailable(f"pdftotext took longer than {TIMEOUT_SECONDS} s") from None
    finally:
        os.unlink(path)
    if done.returncode != 0:
        raise TextUnavailable(f"pdftotext failed ({done.returncode}): "
                              f"{done.stderr.decode('utf-8', 'replace')[:200]}")
    return done.stdout.decode("utf-8", "replace")[:MAX_CHARS]
