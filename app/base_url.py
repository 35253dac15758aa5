"""Where clients reach this server: the base URL `run` and `serve` take from their host and
port when SEALFLOW_BASE_URL is unset, and the start-up check of the one in use.

The base URL goes into links and into the certificates Sealflow makes while it runs (the CRL
distribution point, the OCSP responder). Sealing never calls it (the built-in TSA is asked
in-process). Once the server answers, a background thread checks, and warns (it never stops
the server):

- a base URL that does not answer ``GET <base>/pki/ca``, or answers with another CA;
- CA certificates, made earlier by ``sealflow init``, that name another address than the base
  URL (``init`` ran with the default, ``run --port 5123`` serves elsewhere): certificates cannot
  be changed, so the warning says which address to serve at.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from cryptography import x509
from flask import Flask

logger = logging.getLogger(__name__)

_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 - names of "every address", compared
_CRL_PATHS = ("/pki/root.crl", "/pki/crl")


def _host(name: str) -> str:
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


def served_base_url(host: str, port: int) -> str:
    """The base URL of a server on ``host``:``port``: a wildcard address (listening on every
    address) is named by this machine's name."""
    return f"http://{_host(socket.getfqdn() if host in _WILDCARDS else host)}:{port}"


def local_url(host: str, port: int) -> str:
    """Where this machine reaches its own server on ``host``:``port``."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - compared, not bound
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    return f"http://{_host(host)}:{port}"


def adopt(app: Flask, host: str, port: int) -> str:
    """``app``'s base URL for serving on ``host``:``port``: SEALFLOW_BASE_URL when set,
    otherwise the address served at, which then replaces the default."""
    if not app.config.get("BASE_URL_SET"):
        app.config["BASE_URL"] = served_base_url(host, port)
        app.extensions.pop("sealflow_env", None)  # env() is built again with it
    announce(app.config["BASE_URL"], bool(app.config.get("BASE_URL_SET")))
    return app.config["BASE_URL"]


def announce(base: str, explicit: bool, log: Callable[..., None] | None = None) -> None:
    """Say at start-up which base URL this server uses, and where it comes from."""
    (log or logger.info)(
        "base URL %s (%s): links, and the CRL and OCSP addresses of certificates", base,
        "SEALFLOW_BASE_URL" if explicit else "from --host and --port: SEALFLOW_BASE_URL is unset")


def _get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - http(s) only
        return answer.read(1_000_000)


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _named_base(pems: bytes) -> str | None:
    """The base URL the organisation's CA certificates name in their CRL distribution points
    (the issuing CA's points at the root's CRL), or None when they name none."""
    try:
        certificates = x509.load_pem_x509_certificates(pems)
    except ValueError:
        return None
    for cert in certificates:
        try:
            points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except x509.ExtensionNotFound:
            continue
        for point in points:
            for name in point.full_name or ():
                uri = str(name.value)
                for path in _CRL_PATHS:
                    if uri.endswith(path):
                        return uri[:-len(path)]
    return None


def problems(own: str, base: str, *, timeout: float = 5.0) -> list[str]:
    """What is wrong with ``base`` as the base URL of the server answering at ``own``."""
    found = []
    try:
        ours: bytes | None = _get(f"{own}/pki/ca", timeout)
    except (OSError, ValueError):
        ours = None  # no CA yet (`sealflow init` makes it): nothing to compare
    if base != own:
        try:
            theirs = _get(f"{base}/pki/ca", timeout)
        except (OSError, ValueError) as exc:
            found.append(
                f"SEALFLOW_BASE_URL {base} does not answer (GET {base}/pki/ca: {_why(exc)}); "
                "links and the CRL and OCSP addresses of certificates made from now on name "
                "it. Set it to the address clients reach this server at.")
        else:
            if ours is not None and theirs != ours:
                found.append(
                    f"SEALFLOW_BASE_URL {base} answers with other CA certificates than this "
                    "server's: it is not this Sealflow.")
    named = _named_base(ours) if ours else None
    if named is not None and named != base:
        found.append(
            f"the organisation's CA certificates (made by `sealflow init`) name {named} for "
            f"their CRLs, but this server's base URL is {base}: whoever checks a seal looks "
            f"for the CRLs there. Set SEALFLOW_BASE_URL={named} and serve at that address.")
    return found


def _answers(own: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            _get(f"{own}/pki/ca", 2)
            return True
        except urllib.error.HTTPError:
            return True  # it answers (404: no CA yet)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def check_in_background(own: str, base: str, log: Any = None, *,
                        within: float = 60.0) -> threading.Thread:
    """Once the server answers at ``own`` (within ``within`` seconds), warn of each of
    :func:`problems` on ``log`` (a logger: by default this module's, whose lines go to
    standard error; gunicorn's in its master); in a daemon thread: start-up does not wait."""
    log = log or logger

    def check() -> None:
        if not _answers(own, within):
            log.info("base URL not checked: this server did not answer at %s", own)
            return
        found = problems(own, base)
        for problem in found:
            log.warning("%s", problem)
        if not found:
            log.info("base URL %s checked: nothing to warn about", base)

    thread = threading.Thread(target=check, name="sealflow-base-url-check", daemon=True)
    thread.start()
    return thread
