"""Sealing a PDF: a PAdES signature (ETSI.CAdES.detached, SHA-256) with the seal as its stamp.

:func:`seal_pdf` checks that the bytes are the approved bytes (before anything is signed; for a
large file while it is read), that they are a PDF it can seal, then signs with a
:class:`SealSigner` in an incremental update, so the original bytes stay intact at the start of
the output.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import content, layout, misc
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import record
from .appended import sign_in_steps
from .approval_check import ApprovalCheck
from .cached_signer import CachedKeySigner, max_signature_size
from .der import asn1_certificate, spki_der
from .errors import (
    InvalidDocument,
    InvalidPlacement,
    KeyUnavailable,
    SigningFailed,
)
from .keys import PrivateKey, PublicKey
from .ltv import (
    LongTermSettings,
    PreparedField,
    prepare_fields,
    signature_options,
)
from .pdf import (
    PageRef,
    PdfInfo,
    SealWriter,
    describe_pdf,
    free_field_name,
    open_pdf,
    page_origin,
)
from .pki import KeyMaterial, certificate_from_pem
from .stamp import stamp_style

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

__all__ = ["SealPlacement", "SealSettings", "SealSigner", "seal_pdf"]

logger = logging.getLogger(__name__)

DEFAULT_SEAL_SIZE = 119.0
"""Default seal size in points: 42 mm, the usual diameter of an organisation's seal."""

DEFAULT_MARGIN = 36.0
"""Distance of the default seal position from the page's right and bottom edges (half an inch)."""

_CMS_OVERHEAD = 2048
"""Bytes allowed, beyond certificates and the raw signature, for the rest of the CMS structure
(signed attributes, signer identifier, algorithm identifiers). It takes about 600 bytes with long
Chinese names."""


@dataclass(frozen=True)
class SealPlacement:
    """Where the seal goes: a square on one page."""

    page: int
    """Page number, 1-based."""

    x: float
    """Distance of the seal's left edge from the page's left edge, in points."""

    y: float
    """Distance of the seal's bottom edge from the page's bottom edge, in points."""

    size: float = DEFAULT_SEAL_SIZE
    """Width and height of the seal, in points."""

    @classmethod
    def default_for(cls, info: PdfInfo, size: float = DEFAULT_SEAL_SIZE) -> SealPlacement:
        """Bottom right of the last page, :data:`DEFAULT_MARGIN` from the edges (closer on a
        page too small for that margin)."""
        width, height = info.page_sizes[-1]
        margin_x = min(DEFAULT_MARGIN, max(width - size, 0.0))
        margin_y = min(DEFAULT_MARGIN, max(height - size, 0.0))
        return cls(page=info.pages, x=width - size - margin_x, y=margin_y, size=size)

    def check(self, info: PdfInfo) -> None:
        """Check the seal fits on its page.

        :raises InvalidPlacement: the page does not exist, or the square leaves the page.
        """
        if not 1 <= self.page <= info.pages:
            raise InvalidPlacement(
                f"the document has {info.pages} page(s); there is no page {self.page}", "no_page"
            )
        if not all(math.isfinite(v) for v in (self.x, self.y, self.size)) or self.size <= 0:
            raise InvalidPlacement(
                "the seal position and size must be numbers, the size positive", "not_numbers"
            )
        width, height = info.page_sizes[self.page - 1]
        if self.x < 0 or self.y < 0 or self.x + self.size > width or self.y + self.size > height:
            raise InvalidPlacement(
                f"a seal of {self.size:g} pt at ({self.x:g}, {self.y:g}) does not fit on page "
                f"{self.page}, which is {width:g} × {height:g} pt",
                "off_page",
            )

    def box(self, origin: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float, float, float]:
        """The square as ``(x1, y1, x2, y2)`` in the coordinates of a page whose lower-left corner
        is at ``origin``."""
        x, y = self.x + origin[0], self.y + origin[1]
        return (x, y, x + self.size, y + self.size)


@dataclass(frozen=True)
class SealSettings:
    """What the signature says about itself, besides who signed."""

    field_name: str = "Seal"
    """Name of the signature field. An empty field of that name (prepared by an earlier seal) is
    filled, where it is and at its size; if a *signed* field has the name, ``-2``, ``-3`` ... is
    appended. In a certified document only a prepared field can be signed."""

    reason: str | None = None
    """Why the document was sealed, e.g. the request number (the signature's /Reason)."""

    location: str | None = None
    """Where it was sealed (/Location)."""

    contact: str | None = None
    """How to reach the sealing organisation (/ContactInfo)."""

    name: str | None = None
    """The signer's display name (/Name); viewers otherwise show the certificate's subject."""

    certify: bool = False
    """Make this the document's certification (author) signature, allowing only form filling and
    further signatures afterwards (DocMDP P=2). It must be the document's first signature; the
    fields of the seals that follow must be made now (:attr:`prepare_fields`), since a field
    added after a certification signature invalidates it."""

    prepare_fields: tuple[PreparedField, ...] = ()
    """Empty signature fields made in the same revision as this seal, for later seals to fill
    (the legal representative's seal after the contract seal, say)."""


def chain_and_room(cert: x509.Certificate, chain: Sequence[bytes],
                   key: PrivateKey | PublicKey) -> tuple[SimpleCertificateStore, int]:
    """For a signer with ``cert`` and ``key``: pyHanko's store of the chain's certificates (PEM
    blobs, embedded in every signature), and the room to reserve for the CMS (hex, hence twice
    its DER length: the certificates, the signature, the rest)."""
    chain_certs = [c for pem in chain for c in x509.load_pem_x509_certificates(pem)]
    registry = SimpleCertificateStore()
    registry.register_multiple(asn1_certificate(c) for c in chain_certs)
    cert_bytes = sum(len(c.public_bytes(Encoding.DER)) for c in [cert, *chain_certs])
    return registry, 2 * (cert_bytes + max_signature_size(key) + _CMS_OVERHEAD)


class SealSigner:
    """A seal's certificate and private key, ready to sign with pyHanko.

    The key is parsed once, when the signer is built; keep the signer and reuse it.
    """

    def __init__(self, signer: CachedKeySigner, bytes_reserved: int):
        if signer.signing_cert is None:
            raise KeyUnavailable("a seal signer needs the seal's certificate")
        self._signer = signer
        self._cert = signer.signing_cert
        self._bytes_reserved = bytes_reserved

    @classmethod
    def from_key_material(
        cls, km: KeyMaterial, passphrase: bytes, chain: Sequence[bytes] = ()
    ) -> SealSigner:
        """Build from stored key material; ``chain`` holds the PEM certificates of the issuing CA
        and the root, embedded in every signature.

        :raises KeyUnavailable: the key cannot be decrypted with ``passphrase``.
        """
        return cls.from_key(km.private_key(passphrase), km.cert_pem, chain)

    @classmethod
    def from_key(cls, key: PrivateKey, cert_pem: bytes, chain: Sequence[bytes] = ()) -> SealSigner:
        """Build from a decrypted key and its PEM certificate (plus the chain, PEM).

        :raises KeyUnavailable: the key does not belong to the certificate, or is neither RSA
            nor elliptic curve.
        """
        cert = certificate_from_pem(cert_pem)
        if spki_der(key.public_key()) != spki_der(cert.public_key()):
            raise KeyUnavailable(
                f"the private key does not belong to certificate {cert.serial_number:x}"
            )
        registry, reserved = chain_and_room(cert, chain, key)
        try:
            signer = CachedKeySigner(key, signing_cert=asn1_certificate(cert),
                                     cert_registry=registry)
        except TypeError as e:
            raise KeyUnavailable(str(e)) from None
        return cls(signer, bytes_reserved=reserved)

    def __repr__(self) -> str:
        return f"<SealSigner {self.subject!r} serial {self.serial_hex}>"

    @property
    def pyhanko_signer(self) -> signers.Signer:
        """The underlying pyHanko signer."""
        return self._signer

    @property
    def certificate(self) -> x509.Certificate:
        """The seal certificate."""
        return x509.load_der_x509_certificate(self._cert.dump())

    @property
    def subject(self) -> str:
        """The certificate subject, human-readable."""
        return self._cert.subject.human_friendly

    @property
    def serial_hex(self) -> str:
        """The certificate's serial number, lower-case hex."""
        return format(self._cert.serial_number, "x")

    @property
    def bytes_reserved(self) -> int:
        """Space reserved in the PDF for a signature without a timestamp (hex characters); a
        timestamp's room is added when sealing at B-T."""
        return self._bytes_reserved


def seal_pdf(
    data: bytes,
    *,
    expected_sha256: str,
    signer: SealSigner,
    appearance_pdf: bytes,
    placement: SealPlacement | None = None,
    settings: SealSettings = SealSettings(),
    timestamper: TimeStamper | None = None,
    approval_record: bytes | None = None,
    long_term: LongTermSettings | None = None,
    page_refs: Sequence[PageRef] = (),
) -> bytes:
    """Seal ``data`` and return the sealed PDF.

    :param data: the PDF as approved.
    :param expected_sha256: the approved SHA-256; ``data`` is sealed only if it matches.
    :param signer: the seal's signer.
    :param appearance_pdf: the seal image, a one-page PDF (see :func:`signer.draw_seal`); it is
        scaled into the placement square.
    :param placement: where the seal goes; bottom right of the last page by default.
    :param settings: field name, reason, location and the like.
    :param timestamper: a pyHanko :class:`~pyhanko.sign.timestamps.TimeStamper` for PAdES B-T, or
        ``None`` for B-B.
    :param approval_record: who authorized this seal (JSON), carried in the signature
        dictionary, which the signature covers (see :mod:`signer.record`).
    :param long_term: validation data for PAdES B-LT and B-LTA (then ``timestamper`` is
        required); ``None`` for B-B and B-T.
    :param page_refs: the page list :func:`signer.inspect_pdf` read from these bytes (its
        ``page_refs``), so the seal's page is found without walking the page tree.
    :raises HashMismatch: ``data`` is not the approved document.
    :raises InvalidDocument: ``data`` is not a PDF that can be sealed.
    :raises InvalidPlacement: the seal does not fit where asked.
    :raises SigningFailed: pyHanko could not sign (a bad appearance, a timestamp refused ...);
        :class:`~signer.TimestampUnavailable` when the TSA gave no usable answer (try later).
    """
    started = time.perf_counter()
    approved = ApprovalCheck(data, expected_sha256)
    try:
        sealed, field_name, page = _seal(
            data, approved, signer, appearance_pdf, placement, settings, timestamper,
            approval_record, long_term, page_refs)
    except Exception:
        approved.wait()  # bytes that are not the approved ones: that is the answer to give
        raise
    logger.info(
        "sealed document %s as field %r with certificate %s on page %d (%.0f ms)",
        approved.sha256,
        field_name,
        signer.serial_hex,
        page,
        (time.perf_counter() - started) * 1000,
    )
    return sealed


def _seal(
    data: bytes,
    approved: ApprovalCheck,
    signer: SealSigner,
    appearance_pdf: bytes,
    placement: SealPlacement | None,
    settings: SealSettings,
    timestamper: TimeStamper | None,
    approval_record: bytes | None,
    long_term: LongTermSettings | None,
    page_refs: Sequence[PageRef],
) -> tuple[bytes, str, int]:
    """:func:`seal_pdf` once the approval check is under way: the sealed bytes, the field
    name and the page."""
    reader = open_pdf(data, page_refs=page_refs)
    info = describe_pdf(reader, approved.expected, lazy=True)  # the upload was checked whole
    try:
        placement = placement or SealPlacement.default_for(info)
        placement.check(info)
    except (misc.PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise InvalidDocument(f"the PDF is damaged and cannot be sealed ({e})", "damaged") from e
    try:
        origin = page_origin(reader, placement.page)
        field_name = free_field_name(reader, settings.field_name)
        options = signature_options(reader, field_name, settings, long_term, timestamper)
    except (misc.PdfError, ValueError, KeyError, TypeError) as e:
        raise InvalidDocument(f"the PDF is damaged and cannot be sealed ({e})", "damaged") from e

    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=settings.reason,
        location=settings.location,
        contact_info=settings.contact,
        name=settings.name,
        app_build_props=record.RecordBuildProps.carrying(approval_record),
        **options,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer.pyhanko_signer,
        timestamper=timestamper,
        stamp_style=stamp_style(appearance_pdf),
        new_field_spec=fields.SigFieldSpec(
            # pyHanko annotates the box as ints; PDF coordinates are reals, written as given.
            sig_field_name=field_name, on_page=placement.page - 1,
            box=placement.box(origin),  # type: ignore[arg-type]
        ),
    )
    writer = SealWriter.from_reader(reader)
    prepare_fields(writer, reader, info, settings.prepare_fields)
    try:
        reserved = signer.bytes_reserved
        if timestamper is not None:
            reserved += _timestamp_room(timestamper)
        sealed = asyncio.run(sign_in_steps(pdf_signer, writer, reserved, approved, data)).getvalue()
    except misc.PdfReadError as e:
        raise InvalidDocument(f"the PDF is damaged and cannot be sealed ({e})", "damaged") from e
    except (
        SigningError,
        TimestampRequestError,
        misc.PdfError,
        content.ResourceManagementError,
        layout.LayoutError,
    ) as e:
        raise SigningFailed(f"the document could not be sealed: {e}") from e
    return sealed, field_name, placement.page


def _timestamp_room(timestamper: TimeStamper) -> int:
    """Space for the timestamp token (hex characters): the size of the sample token the
    timestamper fetched (once per timestamper, for pyHanko's own estimates) plus a quarter, since
    tokens differ a little (serial number, time, signature). Sizing this way spares pyHanko its
    dry run, a complete second CMS signature."""
    sample = asyncio.run(timestamper.async_dummy_response("sha256"))
    size = len(sample.dump())
    return 2 * (size + size // 4 + 64)
