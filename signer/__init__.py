"""Sealflow's signer: keys, certificates, seal images, PAdES sealing and validation.

A library with no Flask and no database; everything the rest of Sealflow uses is re-exported here.
"""

from .appearance import SealAppearance, draw_seal, find_cjk_font
from .errors import (
    FontMissing,
    HashMismatch,
    InvalidDocument,
    InvalidPlacement,
    KeyUnavailable,
    SignerError,
    SigningFailed,
)
from .keys import (
    encrypt_private_key,
    generate_private_key,
    private_key_from_bytes,
    private_key_from_file,
)
from .pades import SealPlacement, SealSettings, SealSigner, seal_pdf
from .pdf import PdfInfo, inspect_pdf
from .pki import (
    KeyMaterial,
    certificate_from_file,
    certificate_from_pem,
    create_ca_hierarchy,
    issue_seal_certificate,
)
from .validate import SignatureReport, validate_pdf

__all__ = [
    "FontMissing",
    "HashMismatch",
    "InvalidDocument",
    "InvalidPlacement",
    "KeyMaterial",
    "KeyUnavailable",
    "PdfInfo",
    "SealAppearance",
    "SealPlacement",
    "SealSettings",
    "SealSigner",
    "SignatureReport",
    "SignerError",
    "SigningFailed",
    "certificate_from_file",
    "certificate_from_pem",
    "create_ca_hierarchy",
    "draw_seal",
    "encrypt_private_key",
    "find_cjk_font",
    "generate_private_key",
    "inspect_pdf",
    "issue_seal_certificate",
    "private_key_from_bytes",
    "private_key_from_file",
    "seal_pdf",
    "validate_pdf",
]
