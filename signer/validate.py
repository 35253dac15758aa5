"""Verifying the signatures in a PDF, offline, against the organisation's trust roots.

Every signature is checked with pyHanko's default difference policy (never skipped), so a change
made to the document after sealing (other than form filling, further signatures or validation
data) makes that seal's bottom line false and its :attr:`SignatureReport.modified_after` true.
Files are read non-strictly, so hybrid-reference files (a classic table plus an xref stream) load.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic, misc
from pyhanko.sign import fields
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from .errors import InvalidDocument
from .pdf import open_pdf

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

    level: str | None = None
    """The PAdES baseline level the signature reaches: ``B-B`` (a good signature), ``B-T``
    (and a trusted signature timestamp), ``B-LT`` (and revocation data for its certificate in
    the document security store: in the DSS entry for this signature, or, in a DSS without
    per-signature entries, a CRL from its issuer or an OCSP response), ``B-LTA`` (and a good
    document timestamp after it). ``None`` when the bottom line is false."""


@dataclass(frozen=True)
class DocumentTimestampReport:
    """The verdict on one document timestamp (``/DocTimeStamp``, PAdES B-LTA's archive
    timestamp): an RFC 3161 token over everything before it."""

    field: str
    """Name of the timestamp's signature field."""

    timestamp: datetime.datetime | None
    """The time the timestamp authority vouches for."""

    tsa: str
    """Common name of the timestamp authority's certificate."""

    tsa_certificate_serial: str
    """Its serial number, lower-case hex (empty if unreadable)."""

    tsa_certificate_expires: datetime.datetime | None
    """When that certificate expires: the timestamp must be renewed (covered by a newer one)
    before then."""

    intact: bool
    """The token is intact, its signature correct, and it covers the revision it claims."""

    trusted: bool
    """The TSA's certificate chains to one of the trust roots."""

    modification_level: str
    """What changed after it, as for :attr:`SignatureReport.modification_level`."""

    bottom_line: bool
    """Intact, trusted, and nothing disallowed changed after it."""

    signed_length: int = 0
    """Length of the revision it covers (see :attr:`SignatureReport.signed_length`)."""


@dataclass(frozen=True)
class DocumentReport:
    """The verdict on every signature and document timestamp of a PDF."""

    signatures: list[SignatureReport]
    """The signatures, as :func:`validate_pdf` returns them."""

    document_timestamps: list[DocumentTimestampReport]
    """The document timestamps, oldest first."""


def validate_pdf(data: bytes, trust_roots: Sequence[bytes]) -> list[SignatureReport]:
    """Validate every signature (``/Sig``) in ``data``, in signing order.

    Document timestamps (``/DocTimeStamp``, added for PAdES B-LTA) are not reported here (see
    :func:`validate_document`). A signature too damaged to evaluate is reported (last) with a
    false bottom line, rather than failing the whole document. Nothing is fetched from the
    network; revocation is checked only where the information is embedded.

    :param trust_roots: certificates (PEM or DER) of the roots to trust.
    :raises InvalidDocument: ``data`` is not a readable, unencrypted PDF.
    """
    return validate_document(data, trust_roots).signatures


def validate_document(data: bytes, trust_roots: Sequence[bytes]) -> DocumentReport:
    """Validate every signature and every document timestamp in ``data``: the signatures as
    :func:`validate_pdf` does, each with the PAdES level it reaches, and the document timestamps
    (PAdES B-LTA), oldest first. Nothing is fetched.

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
    timestamps = [_validate_timestamp(embedded, context) for _, embedded in stamps]
    dss = _Dss.read(reader) if readable else None
    signatures = [_with_level(_validate_one(embedded, context), embedded, dss, timestamps)
                  for _, embedded in readable]
    return DocumentReport(signatures + broken, timestamps)


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


@dataclass(frozen=True)
class _Dss:
    """What the document security store holds, as far as levels go."""

    vri: dict[str, bool]
    """Per signature (``/<SHA-1 of its /Contents, hex>``): whether its entry has revocation
    data."""

    crl_issuers: list[asn1_x509.Name]
    has_ocsp: bool

    @classmethod
    def read(cls, reader) -> _Dss | None:
        try:
            dss = reader.root.get("/DSS")
            if dss is None:
                return None
            dss = dss.get_object()
            vri = {}
            for key, entry in dss.get("/VRI", generic.DictionaryObject()).get_object().items():
                entry = entry.get_object()
                vri[str(key)] = bool(entry.get("/CRL") or entry.get("/OCSP"))
            issuers = []
            for ref in dss.get("/CRLs", generic.ArrayObject()).get_object():
                crl = asn1_crl.CertificateList.load(ref.get_object().data)
                issuers.append(crl["tbs_cert_list"]["issuer"])
            return cls(vri, issuers, bool(dss.get("/OCSPs")))
        except _DAMAGED as e:
            logger.info("the document security store is unreadable: %s", e)
            return None

    def covers(self, embedded: EmbeddedPdfSignature) -> bool:
        """Whether it holds revocation data for the signature's certificate."""
        try:
            if self.vri:
                key = "/" + hashlib.sha1(embedded.pkcs7_content).hexdigest().upper()  # noqa: S324
                return self.vri.get(key, False)
            issuer = embedded.signer_cert.issuer
        except _DAMAGED:
            return False
        return self.has_ocsp or any(name == issuer for name in self.crl_issuers)


def _with_level(report: SignatureReport, embedded: EmbeddedPdfSignature, dss: _Dss | None,
                timestamps: list[DocumentTimestampReport]) -> SignatureReport:
    """The report with the PAdES level the signature reaches (see SignatureReport.level)."""
    if not report.bottom_line:
        return report
    if report.timestamp is None or not report.timestamp_trusted:
        level = "B-B"
    elif dss is None or not dss.covers(embedded):
        level = "B-T"
    elif not any(ts.bottom_line and ts.signed_length > report.signed_length
                 for ts in timestamps):
        level = "B-LT"
    else:
        level = "B-LTA"
    return dataclasses.replace(report, level=level)


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
