"""What verification finds: one report per signature and per document timestamp, and the
visible changes made after a signature (see :mod:`signer.overlays`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

__all__ = ["DocumentReport", "DocumentTimestampReport", "SignatureReport", "VisibleChange"]


@dataclass(frozen=True)
class VisibleChange:
    """Something drawn over a page in a revision after a signature: an annotation, or the
    widget of a form field or signature, that is new or whose appearance, place, flags or
    value changed since the revision the signature signed."""

    page: int
    """1-based page number."""

    rect: tuple[float, float, float, float]
    """Where it shows: ``(x1, y1, x2, y2)`` in points in the page's coordinates (as in the
    file; rotation not applied), the part of its rectangle inside the crop box."""

    revision: int
    """The revision of the file that drew it (1 is the file as first written, each incremental
    update adds one; see :attr:`SignatureReport.revision`)."""

    kind: str
    """``signature`` (a signature's stamp), ``form_field`` (a filled-in form field) or
    ``annotation`` (a comment, a drawing, a text box ...)."""

    field: str | None
    """The field's name, for a signature or a form field."""

    subtype: str
    """The annotation's subtype: ``Widget``, ``FreeText``, ``Square`` ..."""

    prepared: bool = False
    """A signature that filled a field which was already there, empty and in the same place,
    in the revision the earlier signature signed."""

    covers_signature: bool = False
    """It overlaps the earlier signature's own stamp."""

    allowed: bool = False
    """It is the stamp of a later seal that the earlier one tolerates (see
    :func:`signer.overlays.judge`); every other visible change makes the earlier signature
    fail."""


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
    change after signing, visible or not."""

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
    level ``OTHER``, or more than the signature's certification level permits), or something
    was drawn over its pages that it does not tolerate (:attr:`visibly_modified`); ``False`` for
    none, validation data and document timestamps, and form filling or further signatures that
    change nothing a viewer shows (or only add the stamp of a later seal of ours). ``None``
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

    revision: int = 0
    """The revision of the file this signature added (1 is the file as first written, each
    incremental update adds one); 0 if unreadable."""

    visible_changes: tuple[VisibleChange, ...] | None = ()
    """What later revisions drew over the pages (see :mod:`signer.overlays`), allowed or not;
    ``None`` when that could not be analysed."""

    visibly_modified: bool | None = False
    """A later revision drew something over the pages that this signature does not tolerate
    (a :class:`VisibleChange` not ``allowed``): then :attr:`modified_after` is true and the
    bottom line false. ``None`` when that could not be analysed (the bottom line is false)."""


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
