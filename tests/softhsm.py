"""SoftHSM2 tokens for tests: a token directory of the test's own, and pkcs11-tool.

SoftHSM2 reads ``SOFTHSM2_CONF`` when the module is initialised; :func:`softhsm_token` points it
at a configuration in a temporary directory (so tokens live there, never in /var/lib/softhsm), and
signer.pkcs11 initialises the module again when it looks for a token made after that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from signer import Pkcs11Config
from signer.pkcs11 import DEFAULT_MODULE

SO_PIN = "87654321"
USER_PIN = "123456"


def require_softhsm() -> None:
    """Fail clearly when SoftHSM2 or OpenSC is missing (.ci/system-packages.sh installs them)."""
    missing = [tool for tool in ("softhsm2-util", "pkcs11-tool") if shutil.which(tool) is None]
    if missing or not Path(DEFAULT_MODULE).exists():
        pytest.fail(f"SoftHSM2/OpenSC missing ({', '.join(missing) or DEFAULT_MODULE}): "
                    "run .ci/system-packages.sh (`make test` does)")


def init_token(directory: Path, label: str, *, so_pin: str = SO_PIN,
               user_pin: str = USER_PIN) -> Pkcs11Config:
    """Initialise a SoftHSM2 token ``label`` whose files live under ``directory``; set
    ``SOFTHSM2_CONF`` to its configuration (the caller restores it)."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                    "--so-pin", so_pin, "--pin", user_pin],
                   check=True, capture_output=True, timeout=60)
    return Pkcs11Config(token_label=label, user_pin=user_pin)


@contextmanager
def softhsm_token(directory: Path, label: str) -> Iterator[Pkcs11Config]:
    """A fresh token for the duration of the block, ``SOFTHSM2_CONF`` restored after."""
    require_softhsm()
    before = os.environ.get("SOFTHSM2_CONF")
    try:
        yield init_token(directory, label)
    finally:
        if before is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = before


def pkcs11_tool(config: Pkcs11Config, *args: str) -> subprocess.CompletedProcess:
    """Run OpenSC's ``pkcs11-tool`` logged in to the token (a separate process: an independent
    judge of what the token gives out)."""
    return subprocess.run(["pkcs11-tool", "--module", config.module, "--token-label",
                           config.token_label, "--login", "--pin", config.user_pin, *args],
                          capture_output=True, text=True, timeout=60, check=False)
