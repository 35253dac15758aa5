"""The README's quick-start, pasted in order into bash at the top of a fresh clone: its own
secrets and database, a seal, the contract flow, a server started in the background on a free
port, a request over the API, two approvals and the sealed PDF, which pyHanko, pdfsig and qpdf
must accept.

The clone is a copy of this working tree without what a clone lacks (`.git`, `.venv`,
`instance/`, caches). Its `.venv` holds links to the environment running this test, with the
marks `make install` leaves when the packages are installed and the browser assets built (as
`make test` has just done), so the block's `make install` still runs (the Debian packages'
check) but installs no packages over the network, and the test never writes into the real
environment.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.pdfcheck import assert_sealed

# It runs `sealflow init`, a dozen commands and a server of its own: once per CI run is enough.
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- quick-start[^>]*-->\s*```bash\n(.*?)```", re.DOTALL)
NOT_IN_A_CLONE = (".git", ".venv", "instance", "__pycache__", ".pytest_cache", ".ruff_cache",
                  "*.egg-info", "node_modules", "build")


def quick_start() -> str:
    """The one block of README.md marked ``<!-- quick-start ... -->``."""
    found = BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(found) == 1, "README.md must hold exactly one ```bash block marked quick-start"
    return found[0]


def fresh_clone(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    venv = Path(sys.prefix)
    assert (venv / "bin" / "sealflow").exists(), (
        f"run the suite from the environment `make install` made (not {venv})")
    (dest / ".venv" / "bin").mkdir(parents=True)
    for tool in (venv / "bin").iterdir():
        (dest / ".venv" / "bin" / tool.name).symlink_to(tool)
    # The Makefile's mark of an installed environment, named after pyproject.toml's checksum.
    checksum = subprocess.run("cksum < pyproject.toml", shell=True, cwd=dest, check=True,
                              capture_output=True, text=True).stdout.split()[0]
    (dest / ".venv" / f".installed-{checksum}").touch()
    # And of the browser assets built (app/static/vendor was copied with the tree).
    web = subprocess.run("cat web/package-lock.json web/build.mjs web/src/* | cksum", shell=True,
                         cwd=dest, check=True, capture_output=True, text=True).stdout.split()[0]
    (dest / ".venv" / f".web-{web}").touch()
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_quick_start_seals_a_contract_as_written(tmp_path):
    clone = fresh_clone(tmp_path / "sealflow")
    script = tmp_path / "quick-start.sh"
    script.write_text(quick_start(), encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SEALFLOW_") and k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    # The clone's code runs, not wherever the environment's editable install points.
    env.update(PORT=str(port), PYTHONPATH=str(clone))
    # Its own session, so that the server the block leaves running is stopped with it.
    shell = subprocess.Popen(["bash", "-e", "-o", "pipefail", str(script)], cwd=clone, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    try:
        output, _ = shell.communicate(timeout=600)
        log = clone / "instance" / "server.log"
        assert shell.returncode == 0, output + (log.read_text() if log.exists() else "")
        sealed = (clone / "sealed.pdf").read_bytes()
        roots = urllib.request.urlopen(f"http://127.0.0.1:{port}/pki/ca", timeout=10).read()
    finally:
        try:
            os.killpg(shell.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        shell.wait(timeout=30)
    assert "Signature is Valid." in output  # the block's own last word: pdfsig sealed.pdf
    assert sealed.startswith((clone / "contract.pdf").read_bytes())  # the approved bytes, intact
    assert_sealed(sealed, [roots])
