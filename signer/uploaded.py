"""A seal appearance from an uploaded image (a scan of the physical seal): a PNG whose
background is transparent, wrapped in a one-page PDF so it stamps like a drawn seal."""

from __future__ import annotations

import io
from typing import cast

from PIL import Image, UnidentifiedImageError
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from .appearance import SealAppearance
from .errors import SignerError

__all__ = ["InvalidImage", "appearance_from_png"]

MAX_PIXELS = 4000 * 4000


class InvalidImage(SignerError):
    """The uploaded seal image cannot be used (not a PNG, no transparency, too large)."""


def appearance_from_png(data: bytes, *, size_mm: float = 42) -> SealAppearance:
    """Check an uploaded PNG (alpha channel, transparent corners, a visible seal) and wrap it
    in a square one-page PDF of ``size_mm``."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidImage("the seal image is not a readable PNG") from None
    if image.format != "PNG":
        raise InvalidImage(f"the seal image must be a PNG, not {image.format}")
    if image.width * image.height > MAX_PIXELS:
        raise InvalidImage("the seal image is too large (at most 4000 x 4000 pixels)")
    if "A" not in image.getbands() and "transparency" not in image.info:
        raise InvalidImage("the seal image has no transparency: its background would hide "
                           "the document under the seal")
    rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    w, h = rgba.size
    # One band: each pixel and each extreme is a number.
    corners = [cast(int, alpha.getpixel(p))
               for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    if max(corners) > 16:
        raise InvalidImage("the seal image's corners are not transparent: cut the seal out "
                           "of its background first")
    if cast(int, alpha.getextrema()[1]) < 128:
        raise InvalidImage("the seal image is (almost) entirely transparent")
    png = io.BytesIO()
    rgba.save(png, "PNG")
    side = size_mm * mm
    pdf = io.BytesIO()
    c = canvas.Canvas(pdf, pagesize=(side, side), invariant=1)
    scale = min(side / w, side / h)
    c.drawImage(ImageReader(rgba), (side - w * scale) / 2, (side - h * scale) / 2,
                width=w * scale, height=h * scale, mask="auto")
    c.showPage()
    c.save()
    return SealAppearance(pdf=pdf.getvalue(), png=png.getvalue())
