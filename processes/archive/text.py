"""The text of a sealed PDF, for the archive's search: poppler's ``pdftotext``.

Chosen over pypdf and pdfminer.six: it is installed already (poppler-utils, for ``pdfsig``;
.ci/system-packages.sh), adds no Python dependency, is the fastest of the three, and reads
Chinese both from embedded fonts with a ToUnicode map (what word processors write) and, with
poppler-data, from the standard Adobe-GB1 fonts that are not embedded (reportlab's
STSong-Light). A PDF without text (a scan) gives none: it is filed unsearched (no OCR).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

MAX_CHARS = 200_000
"""Text kept and indexed per document (a contract runs to a few tens of thousands)."""
TIMEOUT_SECONDS = 60
NICENESS = 10


class TextUnavailable(Exception):
    """pdftotext is missing, failed or took too long: the filing is tried again later."""


def extract(path: Path) -> str:
    """The text of the PDF at ``path`` in reading order, pages separated by form feeds; ""
    when it has none. pdftotext runs at a lower priority (``nice``): filing gives way to the
    approvals and seals the machine is serving.

    :raises TextUnavailable: pdftotext could not read it (not installed, failed, too slow).
    """
    exe = shutil.which("pdftotext")
    if exe is None:
        raise TextUnavailable("pdftotext is not installed (Debian: poppler-utils)")
    nice = shutil.which("nice")
    command = [exe, "-q", "-enc", "UTF-8", str(path), "-"]
    try:
        done = subprocess.run([nice, "-n", str(NICENESS), *command] if nice else command,
                              capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise TextUnavailable(f"pdftotext took longer than {TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise TextUnavailable(f"pdftotext failed ({done.returncode}): "
                              f"{done.stderr.decode('utf-8', 'replace')[:200]}")
    return done.stdout.decode("utf-8", "replace")[:MAX_CHARS]
