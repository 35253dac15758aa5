"""What a timestamp client makes of a TSA that fails: no usable answer (refused connection,
timeout, HTTP 5xx, 408, 429, a reply of another type, garbage) is ``TimestampUnavailable``,
which the sealing job asks again for later; a refusal (a rejection, HTTP 4xx) is a plain
``SigningFailed``. Each through ``seal_pdf``, against a real HTTP server or an in-process
TSA."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from signer import (
    SigningFailed,
    TimestampAuthority,
    TimestampUnavailable,
    http_timestamper,
    issue_tsa_certificate,
    local_timestamper,
    seal_pdf,
)

from .conftest import ORG, PASSPHRASE, Pki


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def authorities(pki: Pki) -> dict[str, TimestampAuthority]:
    km = issue_tsa_certificate(pki.issuing, PASSPHRASE, org_name=ORG)
    return {"any": TimestampAuthority.from_key_material(km, PASSPHRASE, [pki.issuing.cert_pem]),
            "sha512": TimestampAuthority.from_key_material(
                km, PASSPHRASE, hash_algorithms=frozenset({"sha512"}))}


@pytest.fixture(scope="module")
def server(authorities) -> Iterator[str]:
    """``/grant``; ``/reject`` (SHA-512 only: pyHanko asks with SHA-256); ``/status/<n>``;
    ``/html`` (a web page, 200); ``/garbage`` (the right type, bytes that are not DER);
    ``/slow`` (no answer until the module's tests are done)."""
    released = threading.Event()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if path.startswith("/status/"):
            start_response(f"{path[8:]} Whatever", [("Content-Type", "text/plain")])
            return [b"no"]
        if path == "/html":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<html>maintenance</html>"]
        if path == "/slow":
            released.wait(30)
        reply = b"\x30\x03garbage" if path == "/garbage" else \
            authorities["sha512" if path == "/reject" else "any"].respond(body, serial=1)
        start_response("200 OK", [("Content-Type", "application/timestamp-reply")])
        return [reply]

    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    released.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def _seal(signer_rsa, appearance, pdf: bytes, timestamper) -> bytes:
    return seal_pdf(pdf, expected_sha256=hashlib.sha256(pdf).hexdigest(), signer=signer_rsa,
                    appearance_pdf=appearance.pdf, timestamper=timestamper)


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("path", "message"), [
    ("/status/503", "did not answer: HTTP 503"),
    ("/status/500", "did not answer: HTTP 500"),
    ("/status/502", "did not answer: HTTP 502"),
    ("/status/429", "did not answer: HTTP 429"),
    ("/status/408", "did not answer: HTTP 408"),
    ("/html", "not a timestamp reply"),
    ("/garbage", "not a TimeStampResp"),
    ("/slow", "did not answer in time"),
    (None, "could not be reached"),
])
def test_no_usable_answer_is_timestamp_unavailable(signer_rsa, appearance, pdf_1p, server,
                                                   path, message):
    url = f"{server}{path}" if path else f"http://127.0.0.1:{_unused_port()}/tsa"
    with pytest.raises(TimestampUnavailable, match=message):
        _seal(signer_rsa, appearance, pdf_1p, http_timestamper(url, timeout=0.5))


@pytest.mark.parametrize(("path", "message"), [
    ("/status/401", "refused the request: HTTP 401"),
    ("/status/403", "refused the request: HTTP 403"),
    ("/status/404", "refused the request: HTTP 404"),
    ("/reject", "refused the request: rejection, failInfo bad_alg"),
])
def test_a_refusal_is_a_signing_failure_not_a_wait(signer_rsa, appearance, pdf_1p, server,
                                                   path, message):
    with pytest.raises(SigningFailed, match=message) as raised:
        _seal(signer_rsa, appearance, pdf_1p, http_timestamper(f"{server}{path}"))
    assert not isinstance(raised.value, TimestampUnavailable)


def test_a_tsa_that_answers_after_a_failure_seals(signer_rsa, appearance, pdf_1p, server):
    """The client keeps no trace of a failed try: the same one seals once the TSA answers."""
    client = http_timestamper(f"{server}/status/503")
    with pytest.raises(TimestampUnavailable):
        _seal(signer_rsa, appearance, pdf_1p, client)
    client.url = f"{server}/grant"
    assert _seal(signer_rsa, appearance, pdf_1p, client).startswith(pdf_1p)


def test_the_in_process_tsa_sorts_its_failures_alike(signer_rsa, appearance, pdf_1p):
    def busy(_request: bytes) -> bytes:
        raise TimestampUnavailable("the serial register is locked")

    def absent(_request: bytes) -> bytes:
        raise SigningFailed("the timestamp authority does not exist yet")

    with pytest.raises(TimestampUnavailable, match="could not answer: the serial register"):
        _seal(signer_rsa, appearance, pdf_1p, local_timestamper(busy))
    with pytest.raises(TimestampUnavailable, match="not a TimeStampResp"):
        _seal(signer_rsa, appearance, pdf_1p, local_timestamper(lambda _r: b"garbage"))
    with pytest.raises(SigningFailed, match="does not exist yet") as raised:
        _seal(signer_rsa, appearance, pdf_1p, local_timestamper(absent))
    assert not isinstance(raised.value, TimestampUnavailable)
