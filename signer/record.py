"""Sealflow's approval record, carried inside what a seal's signature covers: in the build
properties of the signature dictionary (``/Prop_Build /App``), which the signature's byte range
includes. Unlike an embedded file, it changes nothing in the document, so a second seal on the
same PDF leaves the first one valid; and a record added later cannot pass for a seal's own."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_byterange import BuildProps

__all__ = ["RecordBuildProps", "approval_records", "RECORD_KEY"]

RECORD_KEY = "/Sealflow_ApprovalRecord"
"""The build-properties entry holding the record (a second-class name, prefixed)."""


@dataclass(frozen=True)
class RecordBuildProps(BuildProps):
    """Build properties naming Sealflow and holding the approval record."""

    record: bytes | None = None
    """The approval record (UTF-8 JSON)."""

    @classmethod
    def carrying(cls, record: bytes | None) -> RecordBuildProps | None:
        return None if record is None else cls(name="Sealflow", record=record)

    def as_pdf_object(self) -> generic.DictionaryObject:
        props = super().as_pdf_object()
        if self.record is not None:
            # UTF-8 bytes, written in hex: pyHanko writes a text string byte by byte in Python
            # (a few milliseconds for a record with Chinese names), a byte string in one call.
            props[generic.NameObject(RECORD_KEY)] = generic.ByteStringObject(self.record)
        return props


def approval_records(reader: PdfFileReader) -> dict[str, dict | None]:
    """Per signature field: the approval record its signature carries, if any."""
    records: dict[str, dict | None] = {}
    for sig in reader.embedded_signatures:
        if sig.sig_object_type != "/Sig":
            continue
        records[sig.field_name] = None
        try:
            raw = sig.sig_object["/Prop_Build"]["/App"][RECORD_KEY]
            record = json.loads(_text(raw))
        except (KeyError, TypeError, ValueError, misc.PdfError):
            continue
        if isinstance(record, dict):
            records[sig.field_name] = record
    return records


def _text(raw: generic.PdfObject) -> str:
    """The record's JSON: UTF-8 bytes (a reader may have taken them for PDFDocEncoded text),
    or, as written before, a UTF-16 text string."""
    if isinstance(raw, generic.ByteStringObject):
        return bytes(raw).decode("utf-8")
    if isinstance(raw, generic.TextStringObject) and \
            raw.autodetected_encoding is generic.TextStringEncoding.PDF_DOC:
        return raw.original_bytes.decode("utf-8")
    return str(raw)
