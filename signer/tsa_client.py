"""The client side of timestamping: requests, and the HTTP client sealing at PAdES B-T uses.

:func:`http_timestamper` builds pyHanko's RFC 3161 HTTP client, one code path for Sealflow's own
TSA and an external one alike.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import secrets
import ssl
from collections.abc import AsyncIterator

import aiohttp
import certifi
from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError

from .tsa import TimestampResponse

__all__ = ["http_timestamper", "timestamp_request"]


def timestamp_request(
    data: bytes,
    nonce: bool = True,
    *,
    hash_algorithm: str = "sha256",
    cert_req: bool = True,
) -> bytes:
    """A DER ``TimeStampReq`` for ``data`` (hashed here with ``hash_algorithm``), with a random
    64-bit nonce unless ``nonce`` is false, asking for the TSA certificate unless ``cert_req`` is
    false."""
    request: dict = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": hashlib.new(hash_algorithm, data).digest(),
        },
        "cert_req": cert_req,
    }
    if nonce:
        request["nonce"] = secrets.randbits(63) | 1 << 62
    return tsp.TimeStampReq(request).dump()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS settings of every timestamp request (certifi's roots, as pyHanko's own), made once:
    loading the roots takes some 60 ms."""
    return ssl.create_default_context(cafile=certifi.where())


class _TimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP client with two changes.

    - A refusal is a :class:`~pyhanko.sign.timestamps.TimestampRequestError`. asn1crypto 1.5.1
      declares the token of a ``TimeStampResp`` mandatory (wbond/asn1crypto#286), so a rejection,
      which has none, would otherwise surface as a bare ``ValueError``.
    - Each request's HTTP session (pyHanko opens one per request: an event loop per signature)
      reuses one TLS context, where pyHanko's would load the CA bundle every time.
    """

    @contextlib.asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        connector = aiohttp.TCPConnector(ssl=_tls_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            yield session

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = await super().async_request_tsa_response(req)
        except ValueError:
            raise TimestampRequestError("the TSA's reply is not a TimeStampResp") from None
        try:
            response["status"]  # noqa: B018 - parses the response: a rejection fails here
        except ValueError:
            raise TimestampRequestError(_refusal(response)) from None
        return response


def _refusal(response: tsp.TimeStampResp) -> str:
    """What a TSA's token-less reply says, read with the token optional."""
    try:
        status = TimestampResponse.load(response.dump())["status"].native
    except ValueError:
        return "the TSA's reply is not a TimeStampResp"
    fail_info = ", ".join(sorted(status["fail_info"] or [])) or "none"
    text = "; ".join(status["status_string"] or [])
    return f"the TSA refused the request: {status['status']}, failInfo {fail_info}, {text!r}"


def http_timestamper(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
) -> HTTPTimeStamper:
    """pyHanko's RFC 3161 HTTP client for the TSA at ``url``, with HTTP basic authentication
    (UTF-8) when ``username`` is given. Keep it and reuse it: it fetches one token to size
    signatures, once per instance.

    :raises ValueError: ``username`` contains a colon (basic authentication cannot carry it).
    """
    headers = None
    if username:
        if ":" in username:
            raise ValueError("a basic-authentication user name cannot contain ':'")
        # A header rather than pyHanko's auth=: that builds aiohttp.BasicAuth, deprecated.
        credentials = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {credentials}"}
    return _TimeStamper(url, timeout=timeout, headers=headers)
