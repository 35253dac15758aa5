"""Timestamp requests (RFC 3161 ``TimeStampReq``) as the timestamp authority of
:mod:`signer.tsa` accepts them: parsed, checked, or refused with the RFC's ``failInfo``."""

from __future__ import annotations

from dataclasses import dataclass, field

from asn1crypto import tsp

from .errors import TimestampRefused

DIGEST_SIZES = {
    "sha224": 28,
    "sha256": 32,
    "sha384": 48,
    "sha512": 64,
    "sha3_256": 32,
    "sha3_384": 48,
    "sha3_512": 64,
}
"""The message-imprint algorithms a TSA can be configured to accept (asn1crypto names), with the
length of their digests."""

DEFAULT_HASH_ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})
"""Message-imprint algorithms accepted by default (SHA-1 is not)."""

MAX_NONCE_BITS = 256
"""Longer nonces are refused: a nonce only has to be unlikely to repeat, and it is echoed."""


@dataclass(frozen=True)
class TimestampRequest:
    """A ``TimeStampReq`` the authority accepted (see :meth:`TimestampAuthority.accept`)."""

    hash_algorithm: str
    """Algorithm of the message imprint, as asn1crypto names it (``"sha256"``)."""

    digest: bytes
    """The hashed message: the digest of the data being timestamped."""

    nonce: int | None
    """The client's nonce, echoed in the token; ``None`` if it sent none."""

    cert_req: bool
    """Whether the client asked for the TSA certificate in the token."""

    message_imprint: bytes = field(repr=False)
    """The ``MessageImprint`` exactly as received (DER), echoed byte for byte."""


def accept_request(request_der: bytes, *, hash_algorithms: frozenset[str],
                   policy: str) -> TimestampRequest:
    """Parse and check a DER ``TimeStampReq`` for a TSA accepting ``hash_algorithms`` under
    ``policy``.

    :raises TimestampRefused: with the RFC 3161 ``failInfo``: ``bad_data_format`` (not a
        request, or a digest of the wrong length), ``bad_request`` (another version, an
        over-long nonce), ``bad_alg`` (an imprint algorithm not accepted),
        ``unaccepted_policy``, ``unaccepted_extensions``.
    """
    try:
        req = tsp.TimeStampReq.load(bytes(request_der), strict=True)
        req.native  # noqa: B018 - parses every field now, so damage shows here
        imprint = req["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        parameters = imprint["hash_algorithm"]["parameters"].native
        digest = imprint["hashed_message"].native
        version = req["version"].native
        asked = req["req_policy"].native
        nonce = req["nonce"].native
        cert_req = bool(req["cert_req"].native)
        extensions = req["extensions"].native
        imprint_der = imprint.dump()
    except Exception as e:  # noqa: BLE001 - asn1crypto's parse errors have no common base
        raise TimestampRefused("bad_data_format", "the body is not a TimeStampReq") from e
    if version != "v1":
        raise TimestampRefused("bad_request", f"unsupported request version {version}")
    if algorithm not in hash_algorithms or parameters is not None:
        raise TimestampRefused(
            "bad_alg",
            f"message imprint algorithm {algorithm} is not accepted; use one of "
            f"{', '.join(sorted(hash_algorithms))}",
        )
    if len(digest) != DIGEST_SIZES[algorithm]:
        raise TimestampRefused(
            "bad_data_format",
            f"a {algorithm} digest has {DIGEST_SIZES[algorithm]} bytes, not {len(digest)}",
        )
    if asked is not None and asked != policy:
        raise TimestampRefused(
            "unaccepted_policy", f"this TSA issues tokens under policy {policy} only"
        )
    if extensions:
        raise TimestampRefused("unaccepted_extensions", "this TSA accepts no extensions")
    if nonce is not None and abs(nonce).bit_length() > MAX_NONCE_BITS:
        raise TimestampRefused("bad_request", f"the nonce is longer than {MAX_NONCE_BITS} bits")
    return TimestampRequest(
        hash_algorithm=algorithm,
        digest=digest,
        nonce=nonce,
        cert_req=cert_req,
        message_imprint=imprint_der,
    )
