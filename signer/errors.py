"""Errors, the signing library's own (processes/errors.py is the domain's, app/errors.py turns
both into HTTP).

Every error is a :class:`SignerError`, so a caller can catch the family with one clause. Messages
are written for the person who submitted the document: they say what is wrong in plain words and
never contain key material.
"""

from __future__ import annotations

__all__ = [
    "FontMissing",
    "HashMismatch",
    "InvalidDocument",
    "InvalidPlacement",
    "KeyUnavailable",
    "SignerError",
    "SigningFailed",
    "TimestampRefused",
    "TimestampUnavailable",
]


class SignerError(Exception):
    """Base class of every error raised by :mod:`signer`."""


class InvalidDocument(SignerError):
    """The input is not a usable PDF: not a PDF at all, encrypted, damaged or without pages.

    :attr:`reason` says which, as a stable code a caller can put into its own words (the
    message, in English, adds the library's detail): ``not_pdf``, ``encrypted``, ``damaged``,
    ``no_pages`` or ``too_complex`` (more than the signer will walk to place a seal); None
    when none of these fits.
    """

    REASONS = ("not_pdf", "encrypted", "damaged", "no_pages", "too_complex")

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


class HashMismatch(SignerError):
    """The bytes handed over for sealing are not the bytes that were approved.

    The message carries both SHA-256 digests, the expected one first.
    """

    def __init__(self, expected: str, actual: str):
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the document is not the approved document: expected SHA-256 {expected}, got {actual}"
        )


class InvalidPlacement(SignerError):
    """The requested seal position does not fit the document (no such page, or off the page).

    :attr:`reason`: ``no_page`` (no such page), ``not_numbers`` (a position or size that is
    not a finite number, or a size not positive) or ``off_page`` (the square leaves the page).
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


class SigningFailed(SignerError):
    """The signature could not be produced, for a reason other than the document itself."""


class KeyUnavailable(SignerError):
    """A private key could not be used: wrong passphrase, undecryptable, or of an unusable kind.

    The message never contains key material.
    """


class FontMissing(SignerError):
    """No TrueType-outline CJK font was found to draw the seal with."""


class TimestampRefused(SignerError):
    """A timestamp authority refuses a request: not a ``TimeStampReq``, or one asking for what it
    does not offer (an algorithm, a policy, an extension).

    :attr:`fail_info` is the RFC 3161 ``PKIFailureInfo`` bit as asn1crypto names it
    (``bad_alg``, ``bad_request``, ``bad_data_format``, ``unaccepted_policy``,
    ``unaccepted_extensions``); :attr:`reason` says what is wrong, for the statusString.
    """

    def __init__(self, fail_info: str, reason: str):
        self.fail_info = fail_info
        self.reason = reason
        super().__init__(f"timestamp request refused ({fail_info}): {reason}")


class TimestampUnavailable(SigningFailed):
    """A timestamp authority gave no usable answer, for a reason that may pass: it could not be
    reached, did not answer in time, was busy (HTTP 5xx, 408, 429), or sent something that is
    not a timestamp reply; or, in this process, it could not record the token. Asking again
    later may succeed (the sealing job does). A refusal of the request (a rejection, refused
    credentials) is a plain :class:`SigningFailed`: asking again would get the same answer.

    :attr:`reason` says which, as a stable code (the message adds the detail, in English):
    ``unreachable``, ``timeout``, ``busy`` (an HTTP status that says "not now": :attr:`status`),
    ``not_a_reply`` (something that is not a timestamp reply) or ``not_recorded`` (a TSA in
    this process could not record the token); None when none of these fits.
    """

    def __init__(self, message: str, reason: str | None = None, status: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.status = status
