"""Damaged copies of a sealed PDF, each read without trouble up to the signature and broken in
one place of it, so that verification reaches the branch for that damage (a file merely cut
short is no longer a PDF, and never gets that far).

Every function takes a PDF with one signature and returns a copy of the same length."""

from __future__ import annotations

import re

from asn1crypto import cms

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _contents(data: bytes) -> tuple[int, int]:
    """Where the signature's ``/Contents <hex>`` lies: the gap its /ByteRange leaves."""
    (match,) = _BYTE_RANGE.finditer(data)
    _, first_length, second_start, _ = (int(v) for v in match.groups())
    return first_length, second_start


def signed_data(data: bytes) -> cms.ContentInfo:
    """The signature's CMS object (the hex string is padded with zeros after it)."""
    start, end = _contents(data)
    blob = bytes.fromhex(data[start + 1:end - 1].decode())
    return cms.ContentInfo.load(cms.ContentInfo.load(blob, strict=False).dump())


def with_contents(data: bytes, der: bytes) -> bytes:
    """``data`` with ``der`` as its signature, padded as a signer pads it: nothing moves, and
    the bytes the signature covers stay as they were."""
    start, end = _contents(data)
    width = end - start - 2
    hexed = der.hex().encode()
    assert len(hexed) <= width
    return data[:start + 1] + hexed + b"0" * (width - len(hexed)) + data[end - 1:]


def flipped_signature_value(data: bytes) -> bytes:
    """The signer's signature value (over the signed attributes) with one byte flipped."""
    info = signed_data(data)
    signer_info = info["content"]["signer_infos"][0]
    value = bytearray(signer_info["signature"].native)
    value[len(value) // 2] ^= 0xFF
    signer_info["signature"] = bytes(value)
    return with_contents(data, info.dump(force=True))


def truncated_signature(data: bytes) -> bytes:
    """The CMS blob cut in half: the certificates are there, the signer information is not."""
    der = signed_data(data).dump()
    return with_contents(data, der[:len(der) // 2])


def without_message_digest(data: bytes) -> bytes:
    """A CMS object that parses, whose signed attributes lack the document's digest."""
    info = signed_data(data)
    signer_info = info["content"]["signer_infos"][0]
    signer_info["signed_attrs"] = cms.CMSAttributes(
        [a for a in signer_info["signed_attrs"] if a["type"].native != "message_digest"])
    return with_contents(data, info.dump(force=True))


def unknown_signer(data: bytes) -> bytes:
    """The signer information names a certificate (by serial) that the CMS does not carry."""
    info = signed_data(data)
    info["content"]["signer_infos"][0]["sid"].chosen["serial_number"] = 12345
    return with_contents(data, info.dump(force=True))


def flipped_signed_byte(data: bytes, text: bytes) -> bytes:
    """One byte of ``text`` (inside the signed range) changed."""
    offset = data.index(text) + len(text) - 1
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1:]


def short_byte_range(data: bytes) -> bytes:
    """A /ByteRange that stops ten bytes before the end of the file (the array is in the signed
    range, so the digest cannot match either)."""
    (match,) = _BYTE_RANGE.finditer(data)
    old = match.group(0)
    last = match.group(4)
    shorter = str(int(last) - 10).encode().rjust(len(last))
    new = old[:match.start(4) - match.start(0)] + shorter + old[match.end(4) - match.start(0):]
    return data[:match.start(0)] + new + data[match.end(0):]
