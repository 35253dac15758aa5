"""The approval record's encoding: UTF-8 bytes in hex now; records written before (UTF-16 text
strings) still read the same."""

from __future__ import annotations

import io
import json

from pyhanko.pdf_utils import generic

from signer.record import _text

RECORD = {"request": 7, "approvals": [{"by": "张三", "decision": "approve", "comment": "同意"}]}


def _read_back(obj: generic.PdfObject) -> generic.PdfObject:
    """Write a PDF object and parse it again, as a reader of the sealed file would."""
    out = io.BytesIO()
    obj.write_to_stream(out)
    return generic.read_object(io.BytesIO(out.getvalue()), None)


def test_the_record_reads_back_whatever_the_reader_took_it_for():
    data = json.dumps(RECORD, ensure_ascii=False).encode("utf-8")
    now = _read_back(generic.ByteStringObject(data))
    assert json.loads(_text(now)) == RECORD
    before = _read_back(generic.TextStringObject(data.decode("utf-8")))
    assert isinstance(before, generic.TextStringObject)
    assert json.loads(_text(before)) == RECORD
    ascii_only = json.dumps({"request": 8}).encode()
    taken_for_text = _read_back(generic.ByteStringObject(ascii_only))
    assert json.loads(_text(taken_for_text)) == {"request": 8}
