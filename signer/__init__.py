"""Sealflow's signer: keys, certificates, seal images, PAdES sealing and validation.

Timestamps: :class:`TimestampAuthority` (the built-in RFC 3161 TSA); its clients are
:func:`local_timestamper` (the built-in TSA, asked in-process) and :func:`http_timestamper` (an
external TSA, or any TSA over HTTP).

A library with no Flask and no database; everything the rest of Sealflow uses is re-exported here.
"""

from .annotations import Layout, PageArea, Widget, layout, overlap, pages_layout
from .appearance import SealAppearance, cjk_font_name, draw_seal, find_cjk_font
from .archival import (
    EmbeddedToken,
    embedded_tokens,
    revisions,
    signed_revision,
    token_certificates,
    validate_as_of,
)
from .asn1_tables import build_all as _build_asn1_tables
from .crl import Revocation, make_crl
from .csr import (
    InvalidCertificate,
    check_issued_certificate,
    make_csr,
    software_signer,
    token_signer,
)
from .errors import (
    FontMissing,
    HashMismatch,
    InvalidDocument,
    InvalidPlacement,
    KeyUnavailable,
    SignerError,
    SigningFailed,
    TimestampRefused,
    TimestampUnavailable,
)
from .keys import (
    KEY_TYPES,
    PrivateKey,
    encrypt_private_key,
    generate_private_key,
    private_key_from_bytes,
    private_key_from_file,
)
from .ltv import (
    PADES_LEVELS,
    LongTermSettings,
    PreparedField,
    archive_timestamp_expiry,
    renew_archive_timestamp,
)
from .ocsp import CertificateState, OcspAnswer, answer_ocsp
from .pades import (
    DEFAULT_MARGIN,
    DEFAULT_SEAL_SIZE,
    SealPlacement,
    SealSettings,
    SealSigner,
    seal_pdf,
)
from .pdf import (
    PdfInfo,
    SignatureFields,
    inspect_pdf,
    open_pdf,
    signature_fields,
    timestamp_time,
)
from .pkcs11 import (
    KeyProtection,
    Pkcs11Config,
    export_private_key,
    generate_key_in_token,
    key_protection,
    store_certificate,
)
from .pkcs11_signer import pkcs11_seal_signer
from .pki import (
    KeyMaterial,
    certificate_from_file,
    certificate_from_pem,
    certify_public_key,
    create_ca_hierarchy,
    issue_seal_certificate,
    issue_tsa_certificate,
)
from .record import approval_records
from .reports import DocumentReport, DocumentTimestampReport, SignatureReport, VisibleChange
from .tsa import (
    DEFAULT_TSA_POLICY,
    TimestampAuthority,
    TimestampRequest,
    TimestampResponse,
    timestamp_rejection,
)
from .tsa_client import http_timestamper, local_timestamper, recorded_timestamps, timestamp_request
from .tsa_token import TokenCheck, check_digest_token, timestamp_digest
from .uploaded import InvalidImage, appearance_from_png
from .validate import validate_document, validate_pdf

__all__ = [
    "KEY_TYPES",
    "DEFAULT_MARGIN",
    "DEFAULT_SEAL_SIZE",
    "CertificateState",
    "InvalidCertificate",
    "InvalidImage",
    "OcspAnswer",
    "PrivateKey",
    "Revocation",
    "answer_ocsp",
    "appearance_from_png",
    "approval_records",
    "check_issued_certificate",
    "make_crl",
    "make_csr",
    "open_pdf",
    "software_signer",
    "token_signer",
    "DEFAULT_TSA_POLICY",
    "PADES_LEVELS",
    "DocumentReport",
    "DocumentTimestampReport",
    "FontMissing",
    "HashMismatch",
    "InvalidDocument",
    "InvalidPlacement",
    "KeyMaterial",
    "KeyProtection",
    "KeyUnavailable",
    "Layout",
    "LongTermSettings",
    "PageArea",
    "PdfInfo",
    "Pkcs11Config",
    "PreparedField",
    "SealAppearance",
    "SealPlacement",
    "SealSettings",
    "SealSigner",
    "SignatureReport",
    "SignerError",
    "SigningFailed",
    "TimestampAuthority",
    "TimestampRefused",
    "TimestampUnavailable",
    "TimestampRequest",
    "TimestampResponse",
    "VisibleChange",
    "Widget",
    "archive_timestamp_expiry",
    "certificate_from_file",
    "certificate_from_pem",
    "certify_public_key",
    "create_ca_hierarchy",
    "draw_seal",
    "cjk_font_name",
    "EmbeddedToken",
    "embedded_tokens",
    "revisions",
    "signed_revision",
    "token_certificates",
    "validate_as_of",
    "encrypt_private_key",
    "export_private_key",
    "find_cjk_font",
    "http_timestamper",
    "local_timestamper",
    "recorded_timestamps",
    "generate_key_in_token",
    "generate_private_key",
    "inspect_pdf",
    "signature_fields",
    "timestamp_time",
    "SignatureFields",
    "issue_seal_certificate",
    "issue_tsa_certificate",
    "key_protection",
    "layout",
    "pages_layout",
    "overlap",
    "pkcs11_seal_signer",
    "private_key_from_bytes",
    "private_key_from_file",
    "renew_archive_timestamp",
    "seal_pdf",
    "store_certificate",
    "timestamp_rejection",
    "timestamp_digest",
    "timestamp_request",
    "TokenCheck",
    "check_digest_token",
    "validate_document",
    "validate_pdf",
]

# Every asn1crypto class this package and pyHanko imported, its tables built before any thread
# uses it (signer/asn1_tables.py).
_build_asn1_tables()
