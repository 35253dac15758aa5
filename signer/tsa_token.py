"""Timestamp tokens over a digest the caller holds (the audit chain's head), and their check.

The token is the RFC 3161 ``TimeStampToken`` (a CMS ``ContentInfo``) as DER, exactly what a
TSA returns: an outside expert checks it with ``openssl ts -verify -digest HEX -in ...``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

__all__ = ["TokenCheck", "check_digest_token", "timestamp_digest"]


def timestamp_digest(timestamper: TimeStamper, digest: bytes) -> bytes:
    """A DER timestamp token from ``timestamper`` over the SHA-256 ``digest`` as given (it is
    not hashed again). Raises as the timestamper does (a refusal, no answer)."""
    token = asyncio.run(timestamper.async_timestamp(digest, "sha256"))
    return bytes(token.dump())


@dataclass(frozen=True)
class TokenCheck:
    """What a token says and whether it holds: ``problem`` is None when it does."""

    time: datetime | None
    problem: str | None


def check_digest_token(token: bytes, digest: bytes, trust_roots: list[bytes]) -> TokenCheck:
    """Check that ``token`` is a timestamp over ``digest`` (SHA-256), its signature intact and
    made by a TSA certificate that chains to one of ``trust_roots`` (PEM or DER), as of the
    token's own time (the TSA's certificate may have expired since). Nothing is fetched."""
    try:
        info = cms.ContentInfo.load(token)
        signed = info["content"]
        tst = signed["encap_content_info"]["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            return TokenCheck(None, "the token holds no TSTInfo")
        when = tst["gen_time"].native
    except (ValueError, TypeError, KeyError) as exc:
        return TokenCheck(None, f"the token cannot be read ({exc})")
    roots = [cert for blob in trust_roots for cert in load_certs_from_pemder_data(blob)]
    context = ValidationContext(trust_roots=roots, allow_fetching=False, moment=when,
                                revocation_mode="soft-fail")

    def imprint(algorithm: str) -> bytes:
        return digest if algorithm == "sha256" else b""

    try:
        status = asyncio.run(validate_tst_signed_data(signed, context, imprint))
    except (PathBuildingError, PathValidationError) as exc:
        return TokenCheck(when, f"the TSA's certificate is not trusted ({exc})")
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many kinds for a bad token
        return TokenCheck(when, f"the token does not verify ({exc})")
    if not status.get("intact"):
        return TokenCheck(when, "the token is not over this head (its imprint differs)")
    if not status.get("valid"):
        return TokenCheck(when, "the token's signature does not verify")
    if status.get("trust_problem_indic") is not None:
        return TokenCheck(when, "the TSA's certificate is not trusted")
    return TokenCheck(when, None)
