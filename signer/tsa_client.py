"""The client side of timestamping: requests, and the pyHanko timestamp clients sealing uses.

:func:`local_timestamper` asks a TSA in this process (Sealflow's own, through a function that
answers a DER ``TimeStampReq`` as ``POST /tsa`` would); :func:`http_timestamper` builds pyHanko's
RFC 3161 HTTP client for a TSA elsewhere. Both read the answer the same way: a refusal is a
:class:`~pyhanko.sign.timestamps.TimestampRequestError`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import secrets
import ssl
from collections.abc import AsyncIterator, Callable

import aiohttp
import certifi
from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError

from .errors import TimestampUnavailable
from .tsa import TimestampResponse

__all__ = ["http_timestamper", "local_timestamper", "timestamp_request"]


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
        return _checked(response)


class _LocalTimeStamper(TimeStamper):
    """pyHanko's timestamp client for a TSA in this process: each request, as DER, goes to
    ``respond``, whose DER ``TimeStampResp`` is read exactly as an HTTP reply would be."""

    def __init__(self, respond: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self._respond = respond

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            reply = self._respond(req.dump())
        except TimestampUnavailable as e:
            raise TimestampRequestError(f"the timestamp authority could not answer: {e}") from e
        try:
            response = tsp.TimeStampResp.load(reply)
        except ValueError:
            raise TimestampRequestError("the TSA's reply is not a TimeStampResp") from None
        return _checked(response)


def _checked(response: tsp.TimeStampResp) -> tsp.TimeStampResp:
    """``response``, parsed; a refusal (no token) raises, saying why."""
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


def local_timestamper(respond: Callable[[bytes], bytes]) -> TimeStamper:
    """pyHanko's timestamp client for a TSA answering in this process: ``respond`` takes a DER
    ``TimeStampReq`` and returns the DER ``TimeStampResp`` (granted or refused), as the TSA's
    HTTP endpoint would, or raises :class:`~signer.TimestampUnavailable` when it cannot answer.
    Keep it and reuse it: like the HTTP client, it asks for one token to size signatures, once
    per instance.
    """
    return _LocalTimeStamper(respond)
