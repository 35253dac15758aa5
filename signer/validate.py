"""Verifying the signatures in a PDF, offline, against the organisation's trust roots.

Every signature is checked with pyHanko's default difference policy (never skipped), so a change
made to the document after sealing (other than form filling, further signatures or validation
data) makes that seal's bottom line false and its :attr:`SignatureReport.modified_after` true.
Files are read non-strictly, so hybrid-reference files (a classic table plus an xref stream) load.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import misc
from pyhanko.sign import fields
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from .errors import InvalidDocument
from .pdf import open_pdf

__all__ = ["SignatureReport", "validate_pdf"]

logger = logging.getLogger(__name__)

# What pyHanko and asn1crypto raise on a damaged file or signature (a public upload may be
# anything: none of these may escape as a crash).
_DAMAGED = (ValueError, KeyError, TypeError, IndexError, AttributeError, misc.PdfError)


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on one signature in a PDF."""

    field: str
    """Name of the signature field."""

    signer: str
    """Common name of the signing certificate's subject (the seal's name)."""

    signed_at: datetime.datetime | None
    """Signing time as the signer reported it (not proof: see :attr:`timestamp`)."""

    intact: bool
    """The signed bytes are unchanged."""

    valid: bool
    """The cryptographic signature is correct."""

    trusted: bool
    """The signing certificate chains to one of the trust roots."""

    modification_level: str
    """What changed after signing: ``NONE``, ``LTA_UPDATES`` (validation data, document
    timestamps), ``FORM_FILLING`` (including further signatures), ``ANNOTATIONS`` or ``OTHER``
    (not allowed); ``UNKNOWN`` if it could not be determined."""

    coverage: str
    """How much of the file the signature covers: ``ENTIRE_FILE``, ``ENTIRE_REVISION`` (later
    updates follow), ``CONTIGUOUS_BLOCK_FROM_START`` or ``UNCLEAR``; ``UNKNOWN`` if
    unreadable."""

    bottom_line: bool
    """The overall verdict: intact, valid, trusted, timestamp (if any) good, and no disallowed
    change after signing."""

    summary: str
    """pyHanko's one-line summary, e.g. ``INTACT:TRUSTED,UNTOUCHED``."""

    timestamp: datetime.datetime | None
    """Time from the signature's RFC 3161 timestamp token, if it has one."""

    certificate_serial: str
    """Serial number of the signing certificate, lower-case hex (empty if unreadable)."""

    timestamp_intact: bool | None = None
    """The timestamp token is intact and its signature correct, so it covers this signature;
    ``None`` without a timestamp."""

    timestamp_trusted: bool | None = None
    """The timestamp authority's certificate chains to one of the trust roots; ``None`` without
    a timestamp."""

    modified_after: bool | None = None
    """The document was changed after this signature in a way that is not allowed (modification
    level ``OTHER``, or more than the signature's certification level permits); ``False`` for
    none, validation data and document timestamps, form filling or further signatures. ``None``
    only when the change could not be analysed (an unreadable signature)."""

    docmdp: str | None = None
    """For a certification signature, what it allows afterwards: ``NO_CHANGES``,
    ``FILL_FORMS`` or ``ANNOTATE``; ``None`` for an ordinary (approval) signature."""

    certificate_sha256: str = ""
    """SHA-256 fingerprint of the signing certificate (DER), lower-case hex; empty if
    unreadable. Unlike the serial, it names one certificate whoever issued it."""

    signed_length: int = 0
    """Length of the revision this signature covers: the file up to the end of its
    ``/ByteRange`` (``data[:signed_length]`` is the document as it was signed); 0 if
    unreadable."""


def validate_pdf(data: bytes, trust_roots: Sequence[bytes]) -> list[SignatureReport]:
    """Validate every signature (``/Sig``) in ``data``, in signing order.

    Document timestamps (``/DocTimeStamp``, added for PAdES B-LTA) are not reported. A signature
    too damaged to evaluate is reported (last) with a false bottom line, rather than failing the
    whole document. Nothing is fetched from the network; revocation is checked only where the
    information is embedded.

    :param trust_roots: certificates (PEM or DER) of the roots to trust.
    :raises InvalidDocument: ``data`` is not a readable, unencrypted PDF.
    """
    reader = open_pdf(data, "encrypted PDFs cannot be verified here")
    roots = [cert for blob in trust_roots for cert in load_certs_from_pemder_data(blob)]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)

    try:
        filled = list(fields.enumerate_sig_fields(reader, filled_status=True))
    except _DAMAGED as e:
        raise InvalidDocument(
            f"the PDF is damaged: its signature fields cannot be read ({e})"
        ) from e

    readable: list[tuple[int, EmbeddedPdfSignature]] = []
    broken: list[SignatureReport] = []
    for field_name, sig_ref, field_ref in filled:
        try:
            sig_type = sig_ref.get_object().get("/Type", "/Sig")
            if sig_type != "/Sig":
                logger.debug("skipping %s in field %r", sig_type, field_name)
                continue
            embedded = EmbeddedPdfSignature(reader, field_ref, field_name)
            readable.append((embedded.signed_revision, embedded))
        except _DAMAGED as e:
            broken.append(_broken_report(field_name, str(e)))
    readable.sort(key=lambda item: item[0])
    return [_validate_one(embedded, context) for _, embedded in readable] + broken


def _validate_one(embedded: EmbeddedPdfSignature, context: ValidationContext) -> SignatureReport:
    try:
        status = validate_pdf_signature(embedded, context)
    except _DAMAGED as e:
        return _broken_report(embedded.field_name, str(e), _signer_cert(embedded))
    except Exception as e:
        # The validator itself failed: pyhanko-certvalidator 0.33 asserts, for one, when a
        # certificate names an RSA issuer but carries an ECDSA signature. Anyone may upload
        # such a file, so it is a broken signature, not a crash.
        logger.warning("the validator failed on the signature in field %r", embedded.field_name,
                       exc_info=True)
        reason = f"the signature could not be checked ({type(e).__name__})"
        return _broken_report(embedded.field_name, reason, _signer_cert(embedded))
    modification = status.modification_level
    timestamp = status.timestamp_validity
    return SignatureReport(
        field=embedded.field_name,
        signer=_common_name(status.signing_cert),
        signed_at=status.signer_reported_dt or _claimed_time(embedded),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        modification_level=modification.name if modification is not None else "UNKNOWN",
        coverage=status.coverage.name if status.coverage is not None else "UNKNOWN",
        # Without a difference analysis pyHanko's bottom line ignores later changes; the
        # analysis always runs here, but an unknown modification level must never pass.
        bottom_line=status.bottom_line and modification is not None,
        summary=status.summary(),
        timestamp=timestamp.timestamp if timestamp is not None else None,
        certificate_serial=format(status.signing_cert.serial_number, "x"),
        certificate_sha256=_fingerprint(status.signing_cert),
        timestamp_intact=timestamp.intact and timestamp.valid if timestamp is not None else None,
        timestamp_trusted=timestamp.trusted if timestamp is not None else None,
        modified_after=_modified_after(modification, status.docmdp_ok),
        docmdp=_docmdp(embedded),
        signed_length=_signed_length(embedded),
    )


def _modified_after(level: ModificationLevel | None, docmdp_ok: bool | None) -> bool | None:
    """Whether a disallowed change followed the signature (see SignatureReport)."""
    if level is None:
        return None
    return level == ModificationLevel.OTHER or docmdp_ok is False


def _docmdp(embedded: EmbeddedPdfSignature) -> str | None:
    try:
        level = embedded.docmdp_level
    except _DAMAGED:
        return None
    return level.name if level is not None else None


def _signed_length(embedded: EmbeddedPdfSignature) -> int:
    """The end of the signature's /ByteRange: ``[start1 length1 start2 length2]``."""
    try:
        values = [int(v) for v in embedded.byte_range.get_object()]
    except _DAMAGED:
        return 0
    if len(values) < 2 or len(values) % 2:
        return 0
    return max(start + length for start, length in zip(values[::2], values[1::2], strict=True))


def _broken_report(
    field_name: str, reason: str, cert: asn1_x509.Certificate | None = None
) -> SignatureReport:
    """The report on a signature that could not be evaluated at all."""
    logger.info("signature in field %r could not be evaluated: %s", field_name, reason)
    return SignatureReport(
        field=field_name,
        signer=_common_name(cert) if cert is not None else "",
        signed_at=None,
        intact=False,
        valid=False,
        trusted=False,
        modification_level="UNKNOWN",
        coverage="UNKNOWN",
        bottom_line=False,
        summary=f"INVALID: {reason}",
        timestamp=None,
        certificate_serial=format(cert.serial_number, "x") if cert is not None else "",
        certificate_sha256=_fingerprint(cert) if cert is not None else "",
    )


def _signer_cert(embedded: EmbeddedPdfSignature) -> asn1_x509.Certificate | None:
    try:
        return embedded.signer_cert
    except _DAMAGED:
        return None


def _claimed_time(embedded: EmbeddedPdfSignature) -> datetime.datetime | None:
    """The signature dictionary's /M, if it is readable."""
    try:
        return embedded.self_reported_timestamp
    except _DAMAGED:
        return None


def _fingerprint(cert: asn1_x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


def _common_name(cert: asn1_x509.Certificate) -> str:
    cn = cert.subject.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[-1]
    return cn if cn else cert.subject.human_friendly
