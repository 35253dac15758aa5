"""Checking a sealed PDF years later, offline: its timestamp tokens taken out (an outside
expert checks them with ``openssl ts``), and its signatures validated as of their own
timestamps with the revocation lists kept beside it, since by the time anyone looks the
certificates and the CRLs will have expired. Nothing is fetched."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, tsp
from asn1crypto import pem as pem_armor
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import misc
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from .pdf import open_pdf
from .reports import DocumentReport
from .validate import validate_document

__all__ = ["EmbeddedToken", "embedded_tokens", "revisions", "signed_revision",
           "token_certificates", "validate_as_of"]


@dataclass(frozen=True)
class EmbeddedToken:
    """An RFC 3161 token found in a PDF: a signature's (``kind`` ``signature``, over that
    signature's value) or a document timestamp (``document``, over the file before it)."""

    field: str
    kind: str
    der: bytes
    """The TimeStampToken (CMS ContentInfo), DER, as the TSA gave it."""
    time: datetime.datetime | None


def _gen_time(info: cms.ContentInfo) -> datetime.datetime | None:
    try:
        tst = info["content"]["encap_content_info"]["content"].parsed
        return tst["gen_time"].native if isinstance(tst, tsp.TSTInfo) else None
    except (ValueError, TypeError, KeyError):
        return None


def _signature_token(embedded: EmbeddedPdfSignature) -> cms.ContentInfo | None:
    attrs = embedded.signer_info["unsigned_attrs"]
    if not attrs or attrs.native is None:
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            return attr["values"][0]
    return None


def embedded_tokens(data: bytes) -> list[EmbeddedToken]:
    """Every timestamp token of ``data``, signatures' first, each in signing order."""
    reader = open_pdf(data, "encrypted PDFs cannot be checked here")
    found: list[tuple[int, EmbeddedToken]] = []
    for embedded in reader.embedded_signatures:
        try:
            if embedded.sig_object_type == "/DocTimeStamp":
                info = cms.ContentInfo({"content_type": "signed_data",
                                        "content": embedded.signed_data})
                kind = "document"
            else:
                token = _signature_token(embedded)
                if token is None:
                    continue
                info, kind = token, "signature"
            found.append((embedded.signed_revision, EmbeddedToken(
                embedded.field_name, kind, bytes(info.dump()), _gen_time(info))))
        except (ValueError, KeyError, TypeError, misc.PdfError):
            continue
    found.sort(key=lambda item: (item[1].kind != "signature", item[0]))
    return [token for _, token in found]


def token_certificates(token: bytes) -> list[bytes]:
    """The certificates a timestamp token carries (the TSA's, usually), PEM."""
    try:
        signed = cms.ContentInfo.load(token)["content"]
        found = [cert.chosen for cert in signed["certificates"] or ()]
    except (ValueError, TypeError, KeyError):
        return []
    return [pem_armor.armor("CERTIFICATE", cert.dump())
            for cert in found if isinstance(cert, asn1_x509.Certificate)]


def signed_revision(data: bytes, field: str) -> tuple[int, int] | None:
    """``(revision, revisions before it)`` of the signature in ``field``: 0-based, so a
    signature added straight after a file of ``n`` revisions is revision ``n``."""
    reader = open_pdf(data, "encrypted PDFs cannot be checked here")
    for embedded in reader.embedded_signatures:
        if embedded.field_name == field:
            return embedded.signed_revision, reader.xrefs.total_revisions
    return None


def revisions(data: bytes) -> int:
    """How many revisions ``data`` has (1: as first written)."""
    return open_pdf(data, "encrypted PDFs cannot be checked here").xrefs.total_revisions


def validate_as_of(data: bytes, trust_roots: Sequence[bytes], *, crls: Sequence[bytes] = (),
                   certificates: Sequence[bytes] = (),
                   fallback: datetime.datetime | None = None) -> DocumentReport:
    """Validate ``data`` as :func:`signer.validate_document` does, each signature and
    document timestamp as of the time its own token gives (``fallback`` for a signature
    without one), revocation checked against ``crls`` (DER) where a certificate names a
    distribution point, CRLs issued later accepted (they say the certificate was still good
    then), ``certificates`` (PEM or DER) helping to build the paths. Nothing is fetched."""
    roots = [cert for blob in trust_roots for cert in load_certs_from_pemder_data(blob)]
    others: list[asn1_x509.Certificate] = [
        cert for blob in certificates for cert in load_certs_from_pemder_data(blob)]

    def context_for(embedded: EmbeddedPdfSignature) -> ValidationContext:
        moment = fallback
        if embedded.sig_object_type == "/DocTimeStamp":
            moment = _gen_time(cms.ContentInfo({"content_type": "signed_data",
                                                "content": embedded.signed_data})) or moment
        else:
            token = _signature_token(embedded)
            moment = (_gen_time(token) if token is not None else None) or moment
        return ValidationContext(trust_roots=roots, other_certs=others, crls=list(crls),
                                 moment=moment, allow_fetching=False,
                                 revocation_mode="hard-fail", retroactive_revinfo=True)

    return validate_document(data, trust_roots, context_for=context_for)
