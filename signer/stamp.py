"""The seal's appearance as pyHanko's stamp: page 1 of the appearance PDF, drawn into the seal's
square on the page, from bytes and parsed once per thread."""

from __future__ import annotations

import hashlib
import io
import threading

from pyhanko import stamp
from pyhanko.pdf_utils import content, layout, misc
from pyhanko.pdf_utils.reader import PdfFileReader

from .errors import SigningFailed

__all__ = ["AppearancePdfPage", "stamp_style"]


def stamp_style(appearance_pdf: bytes) -> stamp.StaticStampStyle:
    # A fresh style per document: pyHanko's stamp code sets the writer on the background and
    # merges its resources into each stamp, so one background object must not be shared between
    # documents (or threads). Building the style costs microseconds; rendering is per document
    # anyway, since the appearance is copied into each output file.
    return stamp.StaticStampStyle(
        background=AppearancePdfPage(appearance_pdf),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
    )


class AppearancePdfPage(content.PdfContent):
    """Page 1 of an in-memory PDF, as pyHanko content.

    pyHanko's :class:`~pyhanko.pdf_utils.content.ImportedPdfPage` (behind
    ``StaticStampStyle.from_pdf_file``) only reads from a file name; this does the same from
    bytes, without a temporary file.
    """

    _NAME = "/SealAppearance"

    def __init__(self, pdf: bytes):
        super().__init__()
        self._pdf = pdf

    def render(self) -> bytes:
        try:
            source = _appearance_reader(self._pdf)
            xobject = self._ensure_writer.import_page_as_xobject(source, page_ix=0)
            x1, y1, x2, y2 = (float(v) for v in xobject.get_object()["/BBox"])
        except (misc.PdfError, ValueError, KeyError) as e:
            raise SigningFailed(f"the seal appearance is not a usable PDF ({e})") from e
        self._resources = content.PdfResources()
        self._resources.xobject[self._NAME] = xobject
        self.box = layout.BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return self._NAME.encode("ascii") + b" Do"


_APPEARANCES = threading.local()
_APPEARANCES_KEPT = 16


def _appearance_reader(pdf: bytes) -> PdfFileReader:
    """A reader of the appearance PDF, kept per thread: parsing it (its embedded font above
    all) is a third of a small seal's cost, and the same few appearances seal everything.
    Importing a page copies its objects, so the kept reader is never changed; readers are
    not thread-safe, hence one per thread."""
    kept: dict[bytes, PdfFileReader] = _APPEARANCES.__dict__.setdefault("readers", {})
    key = hashlib.sha256(pdf).digest()
    reader = kept.get(key)
    if reader is None:
        if len(kept) >= _APPEARANCES_KEPT:
            kept.pop(next(iter(kept)))
        reader = kept[key] = PdfFileReader(io.BytesIO(pdf), strict=False)
    return reader
