"""PAdES B-LT and B-LTA (validation data in the document security store, document timestamps and
their renewal) and certification signatures with fields prepared for the seals that follow."""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asn1crypto import crl as asn1_crl
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import read_certification_data
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext

from .errors import InvalidDocument, SigningFailed
from .pdf import PdfInfo, free_field_name, open_pdf, page_origin

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

    from .pades import SealPlacement, SealSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedField:
    """An empty signature field a later seal will fill, made by the seal before it."""

    name: str
    """The field's name: the later seal's :attr:`SealSettings.field_name`."""

    placement: SealPlacement
    """Where the later seal will go (its size and position are fixed now)."""


PADES_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""The PAdES baseline levels, weakest first: B-B (the signature), B-T (and an RFC 3161 signature
timestamp), B-LT (and the validation data in the document security store), B-LTA (and a document
timestamp over all of that, renewed before it lapses)."""

ARCHIVE_TIMESTAMP_FIELD = "ArchiveTimestamp"
"""Name of the document timestamp fields: ``ArchiveTimestamp``, ``ArchiveTimestamp-2`` ..."""

# What pyHanko and asn1crypto raise on a damaged file.
_DAMAGED = (misc.PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError)


@dataclass(frozen=True)
class LongTermSettings:
    """What a PAdES B-LT or B-LTA seal embeds so that it can be validated long after its
    certificates expire, with nothing fetched, then or now: the certificate chains of the seal
    and of the timestamp authority, and the CRLs given, in the document security store (DSS)."""

    trust_roots: tuple[bytes, ...]
    """Certificates (PEM or DER) the seal's and the TSA's chains must lead to. Both chains are
    validated before signing, so a revoked or untrusted certificate fails the seal rather than
    going into the document."""

    crls: tuple[bytes, ...] = ()
    """CRLs (DER) to embed, current at signing time: the issuing CA's (and the root's, for the
    issuing CA, if it publishes one)."""

    level: str = "B-LT"
    """``B-LT``; or ``B-LTA`` to add a document timestamp over the signature and its validation
    data (extend it later with :func:`renew_archive_timestamp`)."""

    def __post_init__(self) -> None:
        if self.level not in ("B-LT", "B-LTA"):
            raise ValueError(f"long-term settings are for B-LT and B-LTA, not {self.level!r}")


def signature_options(
    reader: PdfFileReader,
    field_name: str,
    settings: SealSettings,
    long_term: LongTermSettings | None,
    timestamper: TimeStamper | None,
) -> dict:
    """pyHanko signature metadata for certification and B-LT/B-LTA (none for a plain B-B or
    B-T seal), once the document is known to allow this seal."""
    _check_certified(reader, field_name)
    options: dict = {}
    if settings.certify:
        options.update(certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS)
    if any(prepared.name == field_name for prepared in settings.prepare_fields):
        raise SigningFailed(f"the seal's own field {field_name!r} cannot be prepared for another")
    if long_term is None:
        return options
    if timestamper is None:
        raise SigningFailed(
            f"PAdES {long_term.level} needs a timestamp authority: every level from B-T up "
            "carries an RFC 3161 timestamp, and none was given")
    options.update(embed_validation_info=True,
                   validation_context=_validation_context(long_term.trust_roots, long_term.crls))
    if long_term.level == "B-LTA":
        options.update(use_pades_lta=True,
                       timestamp_field_name=free_field_name(reader, ARCHIVE_TIMESTAMP_FIELD))
    return options


def _check_certified(reader: PdfFileReader, field_name: str) -> None:
    """In a certified document, a further seal may only fill a field the certification
    prepared: any other change (a new field included) would invalidate the certification."""
    certification = read_certification_data(reader)
    if certification is None:
        return
    if certification.permission == fields.MDPPerm.NO_CHANGES:
        raise SigningFailed("the document is certified with no changes allowed: it cannot be "
                            "sealed again")
    empty = sorted(name for name, value, _ in fields.enumerate_sig_fields(reader) if not value)
    if field_name not in empty:
        raise SigningFailed(
            f"the document is certified: a further seal must fill a signature field prepared "
            f"by the certification, and there is no empty field {field_name!r} "
            f"({'empty fields: ' + ', '.join(empty) if empty else 'it has none'})")


def prepare_fields(
    writer: IncrementalPdfFileWriter,
    reader: PdfFileReader,
    info: PdfInfo,
    prepared: Sequence[PreparedField],
) -> None:
    """Add the empty signature fields later seals will fill, to the revision being signed."""
    for spec in prepared:
        spec.placement.check(info)
        try:
            box = spec.placement.box(page_origin(reader, spec.placement.page))
            # pyHanko annotates the box as ints; PDF coordinates are reals, written as given.
            fields.append_signature_field(writer, fields.SigFieldSpec(
                sig_field_name=spec.name, on_page=spec.placement.page - 1,
                box=box))  # type: ignore[arg-type]
        except _DAMAGED as e:
            raise SigningFailed(f"signature field {spec.name!r} cannot be prepared: {e}") from e


def _validation_context(trust_roots: Sequence[bytes], crls: Sequence[bytes]) -> ValidationContext:
    """An offline validation context: these roots, these CRLs, nothing fetched."""
    try:
        roots = [cert for blob in trust_roots for cert in load_certs_from_pemder_data(blob)]
        lists = [asn1_crl.CertificateList.load(der, strict=True) for der in crls]
    except ValueError as e:
        raise SigningFailed(f"a trust root or CRL is not readable ({e})") from e
    if not roots:
        raise SigningFailed("long-term validation data needs at least one trust root")
    return ValidationContext(trust_roots=roots, crls=lists, allow_fetching=False)


def renew_archive_timestamp(
    data: bytes,
    *,
    timestamper: TimeStamper,
    trust_roots: Sequence[bytes],
    crls: Sequence[bytes],
) -> bytes:
    """Extend the archive timestamp chain of a PAdES B-LTA document; return the new PDF.

    An incremental update: the newest document timestamp is validated against ``trust_roots``,
    its validation data (the TSA's chain and ``crls``, current now) goes into the DSS, and a new
    document timestamp covers all of it, the old timestamp included. The signatures are
    untouched. Renew before the newest timestamp's TSA certificate expires (see
    :func:`archive_timestamp_expiry`) or its algorithms weaken.

    :raises InvalidDocument: ``data`` is not a readable, unencrypted PDF.
    :raises SigningFailed: the document has no document timestamp (it is not B-LTA), the newest
        one does not validate, or the timestamp authority failed.
    """
    started = time.perf_counter()
    reader = open_pdf(data)
    try:
        newest = _newest_document_timestamp(reader)
        field_name = free_field_name(reader, ARCHIVE_TIMESTAMP_FIELD)
    except _DAMAGED as e:
        raise InvalidDocument(f"the PDF is damaged ({e})", "damaged") from e
    if newest is None:
        raise SigningFailed("the document has no document timestamp to renew: it is not "
                            "PAdES B-LTA")
    context = _validation_context(trust_roots, crls)
    stamper = signers.PdfTimeStamper(timestamper, field_name=field_name)
    try:
        out = stamper.update_archival_timestamp_chain(reader, context, in_place=False)
    except (SigningError, SignatureValidationError, TimestampRequestError, *_DAMAGED) as e:
        raise SigningFailed(f"the archive timestamp could not be renewed: {e}") from e
    renewed = out.getvalue()
    logger.info("renewed the archive timestamp of document %s as field %r (%.0f ms)",
                hashlib.sha256(data).hexdigest(), field_name,
                (time.perf_counter() - started) * 1000)
    return renewed


def archive_timestamp_expiry(data: bytes) -> datetime.datetime | None:
    """When the TSA certificate of the newest document timestamp expires: until then that
    timestamp, and so everything it covers, can be validated; renew it before. ``None`` if the
    document has no document timestamp. Reads only; validates nothing.

    :raises InvalidDocument: ``data`` is not a readable, unencrypted PDF.
    """
    reader = open_pdf(data)
    try:
        newest = _newest_document_timestamp(reader)
        return newest.signer_cert.not_valid_after if newest is not None else None
    except _DAMAGED as e:
        raise InvalidDocument(f"the PDF is damaged ({e})", "damaged") from e


def _newest_document_timestamp(reader: PdfFileReader):
    return max(reader.embedded_timestamp_signatures, key=lambda ts: ts.signed_revision,
               default=None)
