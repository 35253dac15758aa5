"""The client side of timestamping: requests, and the pyHanko timestamp clients sealing uses.

:func:`local_timestamper` asks a TSA in this process (Sealflow's own, through a function that
answers a DER ``TimeStampReq`` as ``POST /tsa`` would); :func:`http_timestamper` builds pyHanko's
RFC 3161 HTTP client for a TSA elsewhere. Both read the answer the same way and sort a failure
into one of two kinds: a refusal (a rejection, refused credentials, no TSA at that address) is a
:class:`~pyhanko.sign.timestamps.TimestampRequestError`, which sealing reports as
:class:`~signer.SigningFailed`; no usable answer (unreachable, too slow, busy, garbled) is
:class:`~signer.TimestampUnavailable`, which passes through pyHanko untouched, so that the
sealing job can ask again later.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import hashlib
import secrets
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import aiohttp
import certifi
from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError
from pyhanko.sign.timestamps.common_utils import dummy_digest

from .errors import TimestampUnavailable
from .tsa import TimestampResponse

__all__ = ["http_timestamper", "local_timestamper", "recorded_timestamps", "timestamp_request"]

_RECORDED: contextvars.ContextVar[list[datetime] | None] = contextvars.ContextVar(
    "sealflow_recorded_timestamps", default=None)


@contextlib.contextmanager
def recorded_timestamps() -> Iterator[list[datetime]]:
    """The genTime (UTC) of each token our timestamp clients receive inside the block, in
    order; the sample token pyHanko asks for to size signatures is left out. Sealing reads its
    signature's timestamp time here (the first) rather than parsing the sealed PDF again.
    pyHanko's event loop runs in this thread and its tasks share the list; a token asked from
    another thread is not seen (read the PDF when the list is empty)."""
    times: list[datetime] = []
    token = _RECORDED.set(times)
    try:
        yield times
    finally:
        _RECORDED.reset(token)


def _record(req: tsp.TimeStampReq, response: tsp.TimeStampResp) -> tsp.TimeStampResp:
    """``response`` (checked); its token's time noted for :func:`recorded_timestamps`."""
    times = _RECORDED.get()
    if times is None:
        return response
    imprint = req["message_imprint"]
    if imprint["hashed_message"].native == dummy_digest(imprint["hash_algorithm"]["algorithm"]
                                                        .native):
        return response
    tst_info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    when = tst_info["gen_time"].native
    if when is not None:
        times.append(when.astimezone(UTC))
    return response


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
    - No usable answer is :class:`~signer.TimestampUnavailable` (see :func:`_unanswered`), where
      pyHanko says "Error while contacting timestamp service" for every failure alike.
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
        except TimestampRequestError as e:  # pyHanko's wrapper of the HTTP client's error
            raise _unanswered(e.__cause__) from e
        except ValueError:
            raise TimestampUnavailable("the TSA's reply is not a TimeStampResp",
                                       "not_a_reply") from None
        return _record(req, _checked(response))


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
            raise TimestampUnavailable(f"the timestamp authority could not answer: {e}",
                                       e.reason or "not_recorded", e.status) from e
        try:
            response = tsp.TimeStampResp.load(reply)
        except ValueError:
            raise TimestampUnavailable("the TSA's reply is not a TimeStampResp",
                                       "not_a_reply") from None
        return _record(req, _checked(response))


_BUSY = frozenset({408, 425, 429})
"""HTTP statuses below 500 that say "not now" rather than "no": asked again later."""


def _unanswered(cause: BaseException | None) -> Exception:
    """What a failed HTTP exchange with a TSA means. The TSA turning the request down (an HTTP
    4xx: credentials refused, no TSA at that address) is a refusal; anything else (refused
    connection, timeout, HTTP 5xx, a reply of another type) may pass:
    :class:`~signer.TimestampUnavailable`."""
    if isinstance(cause, aiohttp.ContentTypeError):
        return TimestampUnavailable(f"the timestamp service's reply is not a timestamp reply "
                                    f"({cause.message})", "not_a_reply")
    if isinstance(cause, aiohttp.ClientResponseError):
        what = f"HTTP {cause.status} {cause.message or ''}".strip()
        if 400 <= cause.status < 500 and cause.status not in _BUSY:
            return TimestampRequestError(f"the timestamp service refused the request: {what}")
        return TimestampUnavailable(f"the timestamp service did not answer: {what}", "busy",
                                    cause.status)
    if isinstance(cause, TimeoutError):
        return TimestampUnavailable("the timestamp service did not answer in time", "timeout")
    return TimestampUnavailable(f"the timestamp service could not be reached: "
                                f"{cause or 'no reason given'}", "unreachable")


def _checked(response: tsp.TimeStampResp) -> tsp.TimeStampResp:
    """``response``, parsed; a refusal (no token) raises, saying why; a reply that cannot be
    read even with the token optional is garbled (:class:`~signer.TimestampUnavailable`)."""
    try:
        response["status"]  # noqa: B018 - parses the response: a rejection fails here
    except ValueError:
        pass
    else:
        return response
    try:
        status = TimestampResponse.load(response.dump())["status"].native
    except ValueError:
        raise TimestampUnavailable("the TSA's reply is not a TimeStampResp",
                                   "not_a_reply") from None
    fail_info = ", ".join(sorted(status["fail_info"] or [])) or "none"
    text = "; ".join(status["status_string"] or [])
    raise TimestampRequestError(
        f"the TSA refused the request: {status['status']}, failInfo {fail_info}, {text!r}")


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
    HTTP endpoint would, or raises :class:`~signer.TimestampUnavailable` when it cannot answer
    now (another :class:`~signer.SignerError` when it cannot answer at all: it passes through).
    Keep it and reuse it: like the HTTP client, it asks for one token to size signatures, once
    per instance.
    """
    return _LocalTimeStamper(respond)
