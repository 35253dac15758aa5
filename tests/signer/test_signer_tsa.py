"""The built-in timestamp authority: real requests from ``openssl ts -query`` answered, the replies
verified by ``openssl ts -verify``; pyHanko sealing at B-T against it, through the HTTP client and
the in-process one; and every kind of bad request answered with a rejection, never an
exception."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import itertools
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import WSGIRequestHandler, make_server

from signer import (
    DEFAULT_TSA_POLICY,
    KeyMaterial,
    KeyUnavailable,
    SigningFailed,
    TimestampAuthority,
    TimestampResponse,
    TimestampUnavailable,
    generate_private_key,
    http_timestamper,
    issue_tsa_certificate,
    local_timestamper,
    recorded_timestamps,
    seal_pdf,
    timestamp_request,
    timestamp_time,
    validate_pdf,
)

from .conftest import ORG, PASSPHRASE, Pki

NOW = datetime.datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def tsa_rsa(pki: Pki) -> KeyMaterial:
    return issue_tsa_certificate(pki.issuing, PASSPHRASE, org_name=ORG,
                                 crl_url="http://sealflow.example/pki/crl")


@pytest.fixture(scope="module")
def tsa_p256(pki: Pki) -> KeyMaterial:
    return issue_tsa_certificate(pki.issuing, PASSPHRASE, org_name=ORG, name="ECDSA TSA",
                                 key_type="p256")


@pytest.fixture(scope="module", params=["rsa", "p256"])
def tsa_km(request, tsa_rsa: KeyMaterial, tsa_p256: KeyMaterial) -> KeyMaterial:
    return tsa_rsa if request.param == "rsa" else tsa_p256


@pytest.fixture(scope="module")
def authority(pki: Pki, tsa_km: KeyMaterial) -> TimestampAuthority:
    return TimestampAuthority.from_key_material(tsa_km, PASSPHRASE, [pki.issuing.cert_pem])


@pytest.fixture
def openssl(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["openssl", "ts", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=60)
    return run


def _reply(der: bytes) -> TimestampResponse:
    return TimestampResponse.load(der)


def _tst_info(reply: tsp.TimeStampResp) -> tsp.TSTInfo:
    return reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed


def test_tsa_certificate_profile(pki: Pki, tsa_rsa: KeyMaterial):
    cert, issuing = tsa_rsa.certificate(), pki.issuing.certificate()
    cert.verify_directly_issued_by(issuing)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"{ORG} TSA"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    (point,) = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert point.full_name[0].value == "http://sealflow.example/pki/crl"
    assert cert.not_valid_after_utc <= issuing.not_valid_after_utc


@pytest.mark.parametrize("query_flags", [["-cert"], ["-cert", "-no_nonce"], ["-sha512"]],
                         ids=["cert+nonce", "cert-no-nonce", "sha512-no-cert"])
def test_openssl_query_verifies(authority, pki, tsa_km, tmp_path, openssl, query_flags):
    (tmp_path / "data.txt").write_bytes("合同 2026-001\n".encode())
    (tmp_path / "ca.pem").write_bytes(pki.root.cert_pem + pki.issuing.cert_pem)
    (tmp_path / "tsa.pem").write_bytes(tsa_km.cert_pem)
    digest = "-sha512" if "-sha512" in query_flags else "-sha256"
    flags = [f for f in query_flags if f != "-sha512"]
    done = openssl("-query", "-data", "data.txt", digest, *flags, "-out", "req.tsq")
    assert done.returncode == 0, done.stderr
    request_der = (tmp_path / "req.tsq").read_bytes()

    reply_der = authority.respond(request_der, serial=4242, now=NOW)
    (tmp_path / "resp.tsr").write_bytes(reply_der)
    done = openssl("-verify", "-data", "data.txt", "-in", "resp.tsr", "-CAfile", "ca.pem",
                   "-untrusted", "tsa.pem")
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr
    # Also against the request itself (imprint, nonce, policy checked by OpenSSL).
    done = openssl("-verify", "-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile", "ca.pem",
                   "-untrusted", "tsa.pem")
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr

    request = tsp.TimeStampReq.load(request_der)
    reply = _reply(reply_der)
    assert reply["status"]["status"].native == "granted"
    info = _tst_info(reply)
    assert info["version"].native == "v1"
    assert info["policy"].dotted == DEFAULT_TSA_POLICY
    assert info["serial_number"].native == 4242
    assert info["gen_time"].native == NOW
    assert info["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
    assert info["message_imprint"].dump() == request["message_imprint"].dump()
    assert info["nonce"].native == request["nonce"].native  # None both for -no_nonce
    tsa_der = tsa_km.certificate().public_bytes(Encoding.DER)
    assert info["tsa"].name == "directory_name"
    assert info["tsa"].chosen.native == asn1_x509.Certificate.load(tsa_der).subject.native
    signed = reply["time_stamp_token"]["content"]
    certs = [c.chosen for c in signed["certificates"]] if signed["certificates"].native else []
    if "-cert" in query_flags:  # certReq: the TSA certificate and the issuing CA
        assert {c.dump() for c in certs} == {
            x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
            for pem in (tsa_km.cert_pem, pki.issuing.cert_pem)}  # a SET OF: DER sorts it
    else:
        assert certs == []


def test_the_token_names_its_certificate_and_signs_with_sha256(authority, tsa_km):
    reply = _reply(authority.respond(timestamp_request(b"x"), serial=7))
    signed = reply["time_stamp_token"]["content"]
    (signer_info,) = signed["signer_infos"]
    assert signer_info["digest_algorithm"]["algorithm"].native == "sha256"
    assert signer_info["signature_algorithm"].hash_algo == "sha256"
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert attrs["content_type"].native == "tst_info"
    der = tsa_km.certificate().public_bytes(Encoding.DER)
    (ess,) = attrs["signing_certificate_v2"]["certs"]
    assert ess["cert_hash"].native == hashlib.sha256(der).digest()
    assert ess["issuer_serial"]["serial_number"].native == tsa_km.certificate().serial_number
    tst_der = signed["encap_content_info"]["content"].contents
    assert attrs["message_digest"].native == hashlib.sha256(tst_der).digest()


def test_requests_for_tests_and_clients():
    with_nonce = tsp.TimeStampReq.load(timestamp_request(b"data"))
    assert with_nonce["message_imprint"]["hashed_message"].native == \
        hashlib.sha256(b"data").digest()
    assert with_nonce["cert_req"].native is True
    assert with_nonce["nonce"].native > 0
    other = tsp.TimeStampReq.load(timestamp_request(b"data"))
    assert other["nonce"].native != with_nonce["nonce"].native
    plain = tsp.TimeStampReq.load(timestamp_request(b"data", nonce=False, cert_req=False,
                                                    hash_algorithm="sha384"))
    assert plain["nonce"].native is None and plain["cert_req"].native is False
    assert plain["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha384"


def _req(**changes) -> bytes:
    base = tsp.TimeStampReq.load(timestamp_request(b"data"))
    fields = {name: base[name] for name, _, _ in tsp.TimeStampReq._fields
              if base[name].native is not None}
    fields.update(changes)
    return tsp.TimeStampReq(fields).dump()


def _imprint(algorithm: str, digest: bytes) -> tsp.MessageImprint:
    return tsp.MessageImprint({"hash_algorithm": {"algorithm": algorithm},
                               "hashed_message": digest})


BAD_REQUESTS = {
    "empty": (b"", "bad_data_format"),
    "garbage": (b"GET / HTTP/1.1\r\n\r\n", "bad_data_format"),
    "another structure": (_imprint("sha256", bytes(32)).dump(), "bad_data_format"),
    "truncated": (timestamp_request(b"data")[:-5], "bad_data_format"),
    "trailing bytes": (timestamp_request(b"data") + b"\x00\x00", "bad_data_format"),
    "sha1": (_req(message_imprint=_imprint("sha1", hashlib.sha1(b"x").digest())),  # noqa: S324
             "bad_alg"),
    "md5": (_req(message_imprint=_imprint("md5", hashlib.md5(b"x").digest())),  # noqa: S324
            "bad_alg"),
    "short digest": (_req(message_imprint=_imprint("sha256", b"\x01" * 20)), "bad_data_format"),
    "version 2": (_req(version=2), "bad_request"),
    "another policy": (_req(req_policy="1.2.3.4.5"), "unaccepted_policy"),
    "an extension": (_req(extensions=[{"extn_id": "1.2.3.4", "extn_value": b"\x05\x00"}]),
                     "unaccepted_extensions"),
    "huge nonce": (_req(nonce=2**300), "bad_request"),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_requests_get_rejections(authority, tmp_path, openssl, name):
    request_der, fail_info = BAD_REQUESTS[name]
    reply_der = authority.respond(request_der, serial=1, now=NOW)
    reply = _reply(reply_der)
    status = reply["status"]
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {fail_info}
    assert status["status_string"].native[0]
    assert reply["time_stamp_token"].native is None
    # OpenSSL reads it as a proper rejection too.
    (tmp_path / "resp.tsr").write_bytes(reply_der)
    done = openssl("-reply", "-in", "resp.tsr", "-text")
    assert "Status: Rejected." in done.stdout, done.stdout + done.stderr


def test_our_own_policy_and_other_accepted_algorithms_are_granted(authority):
    for request_der in (_req(req_policy=DEFAULT_TSA_POLICY),
                        timestamp_request(b"x", hash_algorithm="sha384"),
                        timestamp_request(b"x", nonce=False)):
        reply = _reply(authority.respond(request_der, serial=9))
        assert reply["status"]["status"].native == "granted"


def test_serial_and_time_are_the_callers_to_get_right(authority):
    request_der = timestamp_request(b"x")
    for serial in (0, -1, 2**159):
        with pytest.raises(ValueError):
            authority.respond(request_der, serial=serial)
    with pytest.raises(ValueError):
        authority.respond(request_der, serial=1, now=datetime.datetime(2026, 1, 1))  # noqa: DTZ001
    # A rejection needs no serial number: bad input never raises.
    assert _reply(authority.respond(b"junk", serial=0))["status"]["status"].native == "rejection"


def test_settings_are_checked(pki, tsa_rsa):
    cert, key = tsa_rsa.certificate(), tsa_rsa.private_key(PASSPHRASE)
    with pytest.raises(KeyUnavailable):
        TimestampAuthority(certificate=cert, private_key=generate_private_key("p256"))
    with pytest.raises(ValueError, match="timeStamping"):
        seal = pki.seal_rsa
        TimestampAuthority(certificate=seal.certificate(),
                           private_key=seal.private_key(PASSPHRASE))
    with pytest.raises(ValueError, match="hash_algorithms"):
        TimestampAuthority(certificate=cert, private_key=key, hash_algorithms=frozenset({"md5"}))
    with pytest.raises(ValueError):
        TimestampAuthority(certificate=cert, private_key=key, policy="not an oid")
    with pytest.raises(KeyUnavailable):
        TimestampAuthority.from_key_material(tsa_rsa, b"wrong passphrase")
    authority = TimestampAuthority(certificate=cert, private_key=key, policy="1.2.3.4",
                                   accuracy=datetime.timedelta(milliseconds=1500))
    assert "private" not in repr(authority).lower()
    info = _tst_info(_reply(authority.respond(timestamp_request(b"x"), serial=3)))
    assert info["policy"].dotted == "1.2.3.4"
    assert info["accuracy"].native == {"seconds": 1, "millis": 500, "micros": None}
    no_accuracy = TimestampAuthority(certificate=cert, private_key=key, accuracy=None)
    info = _tst_info(_reply(no_accuracy.respond(timestamp_request(b"x"), serial=3)))
    assert info["accuracy"].native is None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def tsa_answer(pki: Pki, tsa_rsa: KeyMaterial) -> Callable[[str, bytes], bytes]:
    """The authority's answer to a request at a path, serials from a counter: at
    ``/sha512-only`` it accepts SHA-512 imprints only (pyHanko asks with SHA-256); at
    ``/garbage`` it answers with bytes that are not DER."""
    authority = TimestampAuthority.from_key_material(tsa_rsa, PASSPHRASE,
                                                     [pki.issuing.cert_pem])
    strict = TimestampAuthority.from_key_material(tsa_rsa, PASSPHRASE,
                                                  hash_algorithms=frozenset({"sha512"}))
    serials = itertools.count(1)
    lock = threading.Lock()

    def answer(path: str, body: bytes) -> bytes:
        with lock:
            serial = next(serials)
        tsa = strict if path == "/sha512-only" else authority
        reply = tsa.respond(body, serial=serial)
        return b"<html>not a timestamp</html>" if path == "/garbage" else reply

    return answer


@pytest.fixture(scope="module")
def tsa_url(tsa_answer) -> Iterator[str]:
    """:func:`tsa_answer` behind a bare HTTP endpoint (no Sealflow app)."""

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        reply = tsa_answer(environ["PATH_INFO"], body)
        start_response("200 OK", [("Content-Type", "application/timestamp-reply")])
        return [reply]

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _timestamper(how: str, tsa_url: str, tsa_answer, path: str = "/tsa"):
    """The client sealing uses: over HTTP, or in-process (the answer handed over directly)."""
    if how == "http":
        return http_timestamper(tsa_url.replace("/tsa", path))
    return local_timestamper(functools.partial(tsa_answer, path))


@pytest.mark.parametrize("how", ["http", "in-process"])
def test_pyhanko_seals_at_b_t(signer_rsa, appearance, pdf_1p, pki, tsa_url, tsa_answer, pdfsig,
                              how):
    timestamper = _timestamper(how, tsa_url, tsa_answer)
    for _ in range(2):  # the same client, reused (the first seal asks a sample token too)
        with recorded_timestamps() as stamps:
            sealed = seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(),
                              signer=signer_rsa, appearance_pdf=appearance.pdf,
                              timestamper=timestamper)
        # The seal's own token, as the PDF carries it; the sample is not counted.
        assert stamps == [timestamp_time(sealed)]
        (report,) = validate_pdf(sealed, [pki.root.cert_pem])
        assert report.bottom_line, report.summary
        assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in report.summary
        assert report.timestamp is not None
        assert abs(report.timestamp - datetime.datetime.now(datetime.UTC)) < \
            datetime.timedelta(minutes=1)
        assert "Signature is Valid." in pdfsig(sealed)


@pytest.mark.parametrize("how", ["http", "in-process"])
@pytest.mark.parametrize(("path", "message"), [
    ("/sha512-only", "refused the request: rejection, failInfo bad_alg"),
    ("/garbage", "reply is not a TimeStampResp"),
])
def test_a_refusal_is_a_signing_failure(signer_rsa, appearance, pdf_1p, tsa_url, tsa_answer,
                                        path, message, how):
    timestamper = _timestamper(how, tsa_url, tsa_answer, path)
    with pytest.raises(SigningFailed, match=message):
        seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(), signer=signer_rsa,
                 appearance_pdf=appearance.pdf, timestamper=timestamper)


def test_an_unreachable_tsa_is_a_signing_failure(signer_rsa, appearance, pdf_1p):
    timestamper = http_timestamper("http://127.0.0.1:9/tsa", timeout=2)
    with pytest.raises(SigningFailed, match="timestamp service"):
        seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(), signer=signer_rsa,
                 appearance_pdf=appearance.pdf, timestamper=timestamper)


def test_an_in_process_tsa_that_cannot_answer_is_a_signing_failure(signer_rsa, appearance,
                                                                   pdf_1p):
    def respond(_request: bytes) -> bytes:
        raise TimestampUnavailable("the serial register is locked")

    with pytest.raises(SigningFailed, match="could not answer: the serial register is locked"):
        seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(), signer=signer_rsa,
                 appearance_pdf=appearance.pdf, timestamper=local_timestamper(respond))


def test_the_client_sends_basic_auth_and_refuses_a_user_it_cannot_carry():
    client = http_timestamper("http://tsa.example/tsa", username="用户", password="p:w")
    assert client.request_headers()["Authorization"] == \
        "Basic " + base64.b64encode("用户:p:w".encode()).decode()
    assert "Authorization" not in http_timestamper("http://tsa.example/tsa").request_headers()
    with pytest.raises(ValueError):
        http_timestamper("http://tsa.example/tsa", username="a:b", password="p")

