"""Verifying the signatures in a PDF, offline, against the organisation's trust roots.

Every signature is checked with pyHanko's default difference policy (never skipped), so a change
made to the document after sealing (other than form filling, further signatures or validation
data) makes that seal's bottom line false and its :attr:`SignatureReport.modified_after` true.
Form filling and further signatures pass that policy even when they draw over the page (a later
signature's opaque stamp over the amount line), so what later revisions draw is compared as well
(:mod:`signer.overlays`). Files are read non-strictly, so hybrid-reference files (a classic table
plus an xref stream) load.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
from collections.abc import Callable, Sequence

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import misc
from pyhanko.sign import fields
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from . import overlays
from .errors import InvalidDocument
from .levels import Dss, with_level
from .pdf import open_pdf
from .reports import DocumentReport, DocumentTimestampReport, SignatureReport

__all__ = [
    "DocumentReport",
    "DocumentTimestampReport",
    "SignatureReport",
    "validate_document",
    "validate_pdf",
]

logger = logging.getLogger(__name__)

# What pyHanko and asn1crypto raise on a damaged file or signature (a public upload may be
# anything: none of these may escape as a crash).
_DAMAGED = (ValueError, KeyError, TypeError, IndexError, AttributeError, misc.PdfError)


def _any_trusted(report: SignatureReport) -> bool:
    return True


def validate_pdf(data: bytes, trust_roots: Sequence[bytes], *,
                 later_seal: Callable[[SignatureReport], bool] = _any_trusted
                 ) -> list[SignatureReport]:
    """Validate every signature (``/Sig``) in ``data``, in signing order.

    Document timestamps (``/DocTimeStamp``, added for PAdES B-LTA) are not reported here (see
    :func:`validate_document`). A signature too damaged to evaluate is reported (last) with a
    false bottom line, rather than failing the whole document. Nothing is fetched from the
    network; revocation is checked only where the information is embedded.

    A signature's report lists what later revisions drew over the pages
    (:attr:`SignatureReport.visible_changes`); anything but the stamp of a later seal (a good
    signature that ``later_seal`` accepts, not over this signature's own stamp) fails it.

    :param trust_roots: certificates (PEM or DER) of the roots to trust.
    :param later_seal: whether a later, good signature is one of the organisation's seals, whose
        stamp an earlier seal tolerates; by default every signature trusted to ``trust_roots``
        is.
    :raises InvalidDocument: ``data`` is not a readable, unencrypted PDF.
    """
    return validate_document(data, trust_roots, later_seal=later_seal).signatures


def validate_document(data: bytes, trust_roots: Sequence[bytes], *,
                      later_seal: Callable[[SignatureReport], bool] = _any_trusted,
                      context_for: Callable[[EmbeddedPdfSignature], ValidationContext]
                      | None = None) -> DocumentReport:
    """Validate every signature and every document timestamp in ``data``: the signatures as
    :func:`validate_pdf` does, each with the PAdES level it reaches, and the document timestamps
    (PAdES B-LTA), oldest first. Nothing is fetched.

    :param trust_roots: certificates (PEM or DER) of the roots to trust.
    :param later_seal: as for :func:`validate_pdf`.
    :param context_for: each signature's and timestamp's validation context, when not one for
        all as of now (:func:`signer.archival.validate_as_of`: as of its own timestamp).
    :raises InvalidDocument: ``data`` is not a readable, unencrypted PDF.
    """
    reader = open_pdf(data, "encrypted PDFs cannot be verified here")
    if context_for is None:
        roots = [cert for blob in trust_roots for cert in load_certs_from_pemder_data(blob)]
        context = ValidationContext(trust_roots=roots, allow_fetching=False)

        def context_for(_: EmbeddedPdfSignature) -> ValidationContext:
            return context

    try:
        filled = list(fields.enumerate_sig_fields(reader, filled_status=True))
    except _DAMAGED as e:
        raise InvalidDocument(
            f"the PDF is damaged: its signature fields cannot be read ({e})", "damaged"
        ) from e

    readable: list[tuple[int, EmbeddedPdfSignature]] = []
    stamps: list[tuple[int, EmbeddedPdfSignature]] = []
    broken: list[SignatureReport] = []
    for field_name, sig_ref, field_ref in filled:
        sig_type = "/Sig"
        try:
            sig_type = sig_ref.get_object().get("/Type", "/Sig")
            if sig_type not in ("/Sig", "/DocTimeStamp"):
                logger.debug("skipping %s in field %r", sig_type, field_name)
                continue
            embedded = EmbeddedPdfSignature(reader, field_ref, field_name)
            found = readable if sig_type == "/Sig" else stamps
            found.append((embedded.signed_revision, embedded))
        except _DAMAGED as e:
            if sig_type == "/Sig":
                broken.append(_broken_report(field_name, str(e)))
    readable.sort(key=lambda item: item[0])
    stamps.sort(key=lambda item: item[0])
    timestamps = [_validate_timestamp(embedded, context_for(embedded))
                  for _, embedded in stamps]
    dss = Dss.read(reader) if readable else None
    revisions = {embedded.field_name: revision for revision, embedded in readable}
    signatures = [dataclasses.replace(_validate_one(embedded, context_for(embedded)),
                                      revision=revision + 1)
                  for revision, embedded in readable]
    signatures = overlays.judge(signatures, _drawn_after(reader, revisions), revisions,
                                later_seal)
    signatures = [with_level(report, embedded, dss, timestamps)
                  for report, (_, embedded) in zip(signatures, readable, strict=True)]
    return DocumentReport(signatures + broken, timestamps)


def _drawn_after(reader, revisions: dict[str, int]) -> overlays.Analysis | None:
    """What later revisions drew over the pages, after each signature; ``None`` if that cannot
    be read (then no signature passes)."""
    try:
        return overlays.analyse(reader, revisions)
    except overlays.TooComplex as e:
        logger.info("what the pages draw was not analysed: %s", e)
    except (*_DAMAGED, RecursionError) as e:
        logger.info("what the pages draw cannot be read: %s", e)
    return None


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


def _validate_timestamp(embedded: EmbeddedPdfSignature,
                        context: ValidationContext) -> DocumentTimestampReport:
    cert = _signer_cert(embedded)
    try:
        status = validate_pdf_timestamp(embedded, context)
    except Exception as e:  # noqa: BLE001 - a public upload: a broken timestamp, not a crash
        logger.info("document timestamp in field %r could not be evaluated: %s",
                    embedded.field_name, e)
        return DocumentTimestampReport(
            field=embedded.field_name, timestamp=None,
            tsa=_common_name(cert) if cert is not None else "",
            tsa_certificate_serial=format(cert.serial_number, "x") if cert is not None else "",
            tsa_certificate_expires=_expiry(cert), intact=False, trusted=False,
            modification_level="UNKNOWN", bottom_line=False,
            signed_length=_signed_length(embedded))
    modification = status.modification_level
    good = status.intact and status.valid
    return DocumentTimestampReport(
        field=embedded.field_name,
        timestamp=status.timestamp,
        tsa=_common_name(status.signing_cert),
        tsa_certificate_serial=format(status.signing_cert.serial_number, "x"),
        tsa_certificate_expires=_expiry(status.signing_cert),
        intact=good,
        trusted=status.trusted,
        modification_level=modification.name if modification is not None else "UNKNOWN",
        bottom_line=(good and status.trusted and modification is not None
                     and modification != ModificationLevel.OTHER),
        signed_length=_signed_length(embedded),
    )


def _expiry(cert: asn1_x509.Certificate | None) -> datetime.datetime | None:
    try:
        return cert.not_valid_after if cert is not None else None
    except _DAMAGED:
        return None


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
