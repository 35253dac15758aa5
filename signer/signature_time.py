"""The time in a signature's RFC 3161 timestamp token, read from the signed PDF: the seal-usage
log shows it beside the sealing time (the server's clock); only the TSA vouches for it."""

from __future__ import annotations

import datetime
import io

from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["signature_timestamp_time"]


def signature_timestamp_time(data: bytes, field_name: str) -> datetime.datetime | None:
    """``gen_time`` of the timestamp token in the signature of ``field_name``; None when that
    signature has none (a B-B seal) or is not found."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        for sig in reader.embedded_signatures:
            if sig.field_name != field_name:
                continue
            for attr in sig.signer_info["unsigned_attrs"] or ():
                if attr["type"].native == "signature_time_stamp_token":
                    token = attr["values"][0]
                    info = token["content"]["encap_content_info"]["content"].parsed
                    when = info["gen_time"].native
                    return when.astimezone(datetime.UTC) if when is not None else None
    except (misc.PdfError, KeyError, ValueError, TypeError):
        return None
    return None
