"""The visible seal: a Chinese round red seal (公章) drawn as a one-page vector PDF.

The PDF is what goes into a sealed document (it becomes the signature widget's appearance); the PNG
is a preview for web pages. The font is embedded as a subset, so the seal looks the same in every
viewer.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Final

from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from .errors import FontMissing, SignerError

__all__ = ["CJK_FONT_CANDIDATES", "SEAL_RED", "SealAppearance", "draw_seal", "find_cjk_font"]

logger = logging.getLogger(__name__)

CJK_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),
)
"""TrueType-outline CJK fonts looked for, in order, as ``(path, subfont index)``. Fonts with CFF
outlines (Noto CJK, Source Han) cannot be embedded by reportlab and are not listed."""

SEAL_RED = Color(0xD4 / 255, 0, 0)
"""The seal's colour, #d40000."""

PREVIEW_DPI = 300
"""Resolution of the PNG preview (a 42 mm seal becomes 496 × 496 pixels)."""

MM = 72 / 25.4
_CONDENSE_NAME = 0.74  # horizontal scale of the organisation name
_CONDENSE_TYPE = 0.85  # horizontal scale of the seal type
_NAME_SIZE = 0.18  # organisation name font size, as a fraction of the diameter
_EMBOLDEN = 0.035  # outline stroked around glyphs, as a fraction of the font size
_FILL_AND_STROKE: Final = 2  # PDF text rendering mode: a thin outline makes the glyphs bolder
_STAR_INNER_RATIO = 0.382  # inner/outer radius of a regular five-pointed star


@dataclass(frozen=True)
class SealAppearance:
    """A drawn seal, as a vector PDF and as a PNG preview."""

    pdf: bytes = field(repr=False)
    """One-page PDF whose page is exactly the seal: square, transparent background."""

    png: bytes = field(repr=False)
    """Preview image, RGBA with a transparent background."""


def find_cjk_font() -> tuple[str, int]:
    """Find a TrueType-outline CJK font: ``(path, subfont index)``.

    :raises FontMissing: none of :data:`CJK_FONT_CANDIDATES` is installed.
    """
    for path, index in CJK_FONT_CANDIDATES:
        if os.path.isfile(path):
            return path, index
    raise FontMissing(
        "no Chinese font found to draw the seal (looked for "
        + ", ".join(p for p, _ in CJK_FONT_CANDIDATES)
        + "); install one with: apt-get install fonts-wqy-zenhei"
    )


def draw_seal(
    org_name: str,
    seal_type: str = "合同专用章",
    *,
    serial: str | None = None,
    font_path: str | None = None,
    font_index: int = 0,
    size_mm: float = 42,
) -> SealAppearance:
    """Draw a round red seal: ``org_name`` along the upper arc, a star, ``seal_type`` below it.

    :param org_name: the organisation name, set along the upper arc.
    :param seal_type: the seal's purpose (合同专用章, 财务专用章, 公章 ...), set on a
        straight line below the star.
    :param serial: an optional seal code, set small at the bottom.
    :param font_path: a TrueType (``.ttf``/``.ttc``) CJK font; found with :func:`find_cjk_font`
        when not given.
    :param font_index: the subfont of a ``.ttc`` collection.
    :param size_mm: the seal's diameter.
    :raises FontMissing: no usable font, or the font lacks a character of the text.
    """
    org_name = org_name.strip()
    if not org_name:
        raise ValueError("org_name must not be empty")
    if size_mm <= 0:
        raise ValueError("size_mm must be positive")
    if font_path is None:
        font_path, font_index = find_cjk_font()
    font_name = _register_font(font_path, font_index)
    _check_glyphs(font_name, font_path, org_name + seal_type + (serial or ""))

    with _fonts_lock:  # reportlab keeps per-document subset state on the shared font object
        pdf = _draw_pdf(org_name, seal_type, serial, font_name, size_mm * MM)
    png = _render_png(pdf, PREVIEW_DPI)
    logger.info(
        "drew seal %r / %r (%s mm, pdf sha256 %s)",
        org_name,
        seal_type,
        size_mm,
        hashlib.sha256(pdf).hexdigest(),
    )
    return SealAppearance(pdf=pdf, png=png)


_fonts: dict[tuple[str, int], str] = {}
_fonts_lock = threading.Lock()


def _register_font(path: str, index: int) -> str:
    """Register the font with reportlab once per process and return its registered name."""
    key = (os.path.realpath(path), index)
    with _fonts_lock:
        name = _fonts.get(key)
        if name is None:
            name = "SealflowCJK-" + hashlib.sha256(repr(key).encode()).hexdigest()[:12]
            try:
                pdfmetrics.registerFont(TTFont(name, key[0], subfontIndex=index))
            except (OSError, TTFError) as e:
                raise FontMissing(
                    f"the font {path} (index {index}) cannot be used: {e}; install a TrueType "
                    "Chinese font with: apt-get install fonts-wqy-zenhei"
                ) from e
            _fonts[key] = name
    return name


def cjk_font_name(font_path: str | None = None, font_index: int = 0) -> str:
    """The name under which reportlab draws with the CJK font the seals use (``font_path``,
    or the one :func:`find_cjk_font` finds), registered once per process."""
    if font_path is None:
        font_path, font_index = find_cjk_font()
    return _register_font(font_path, font_index)


def _check_glyphs(font_name: str, font_path: str, text: str) -> None:
    font = pdfmetrics.getFont(font_name)
    if not isinstance(font, TTFont):  # _register_font registers TrueType fonts only
        raise FontMissing(f"{font_name} is not a TrueType font")
    char_map = font.face.charToGlyph
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in char_map})
    if missing:
        raise FontMissing(
            f"the font {font_path} has no glyph for {''.join(missing)!r}; install a fuller "
            "Chinese font with: apt-get install fonts-wqy-zenhei"
        )


def _draw_pdf(org_name: str, seal_type: str, serial: str | None, font: str, size: float) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(
        buf,
        pagesize=(size, size),
        invariant=1,
        pageCompression=1,
        # Otherwise an unused, unembedded Helvetica is referenced. (types-reportlab has a
        # float here; reportlab takes the font's name.)
        initialFontName=font,  # type: ignore[arg-type]
    )
    c.setTitle(f"{org_name} {seal_type}")
    c.setFillColor(SEAL_RED)
    c.setStrokeColor(SEAL_RED)
    centre = size / 2

    border = size * 1.2 / 42  # 1.2 mm on a 42 mm seal
    ring = centre - border / 2 - size * 0.004  # stroke centre, a hair inside the page
    c.setLineWidth(border)
    c.circle(centre, centre, ring, stroke=1, fill=0)

    inner = ring - border / 2  # inner edge of the border
    keep_out = _draw_arc_text(c, org_name, font, centre, inner - size * 0.035, size)
    _draw_star(c, centre, centre, size * 0.165)

    gap = size * 0.02
    _draw_line(
        c, seal_type, font, size * 0.13, _CONDENSE_TYPE, centre, -size * 0.29, inner - gap, keep_out
    )
    if serial:
        _draw_line(c, serial, font, size * 0.055, 1.0, centre, -size * 0.39, inner - gap, keep_out)

    c.showPage()
    c.save()
    return buf.getvalue()


@dataclass(frozen=True)
class _KeepOut:
    """Where the arc text ends, relative to the centre: lines of text above ``bottom`` must stay
    narrower than ``2 * half_width``."""

    bottom: float
    half_width: float


def _arc_span(n: int) -> float:
    """Degrees of arc the name spreads over: 30° a character up to 210° for eight, then a little
    more for each further character, to at most 250°."""
    if n <= 8:
        return 30.0 * (n - 1)
    return min(250.0, 210.0 + 5.0 * (n - 8))


def _draw_arc_text(
    c: canvas.Canvas, text: str, font: str, centre: float, top_radius: float, size: float
) -> _KeepOut:
    """Set ``text`` clockwise along the upper arc, each character upright towards the rim.

    ``top_radius`` is where the tops of the characters sit. Returns the area the text occupies
    at its two ends, for the straight lines below to stay clear of.
    """
    chars = [ch for ch in text if not ch.isspace()]
    n = len(chars)
    span = _arc_span(n)
    step = math.radians(span / (n - 1)) if n > 1 else 0.0

    font_size = size * _NAME_SIZE
    for _ in range(2):  # the baseline radius depends on the size, and the size on the radius
        baseline = top_radius - 0.8 * font_size
        if step:
            font_size = min(size * _NAME_SIZE, 0.95 * baseline * step / _CONDENSE_NAME)
    baseline = top_radius - 0.8 * font_size

    start = math.radians(90 + span / 2)
    for i, ch in enumerate(chars):
        angle = start - i * step
        c.saveState()
        c.translate(centre + baseline * math.cos(angle), centre + baseline * math.sin(angle))
        c.rotate(math.degrees(angle) - 90)
        c.scale(_CONDENSE_NAME, 1)
        _set_font(c, font, font_size)
        c.drawCentredString(0, 0, ch, mode=_FILL_AND_STROKE)
        c.restoreState()

    # The corners of the last character's box (the first mirrors it), relative to the centre.
    angle = start - (n - 1) * step
    half = pdfmetrics.stringWidth(chars[-1], font, font_size) * _CONDENSE_NAME / 2
    turn = angle - math.pi / 2
    corners = [
        (
            baseline * math.cos(angle) + dx * math.cos(turn) - dy * math.sin(turn),
            baseline * math.sin(angle) + dx * math.sin(turn) + dy * math.cos(turn),
        )
        for dx in (-half, half)
        for dy in (-0.12 * font_size, 0.88 * font_size)
    ]
    return _KeepOut(bottom=min(y for _, y in corners), half_width=min(abs(x) for x, _ in corners))


def _set_font(c: canvas.Canvas, font: str, font_size: float) -> None:
    c.setFont(font, font_size)
    c.setLineWidth(font_size * _EMBOLDEN)


def _draw_star(c: canvas.Canvas, cx: float, cy: float, radius: float) -> None:
    path = c.beginPath()
    for k in range(10):
        r = radius if k % 2 == 0 else radius * _STAR_INNER_RATIO
        a = math.radians(90 + 36 * k)
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        if k == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


def _draw_line(
    c: canvas.Canvas,
    text: str,
    font: str,
    font_size: float,
    condense: float,
    centre: float,
    baseline: float,
    inner_radius: float,
    keep_out: _KeepOut,
) -> None:
    """Centre ``text`` on a straight line ``baseline`` below the centre, shrunk if needed to stay
    inside the ring and clear of the ends of the arc text."""
    top = baseline + 0.88 * font_size
    half_width = math.sqrt(max(inner_radius**2 - baseline**2, 0.0))
    if top > keep_out.bottom:
        half_width = min(half_width, keep_out.half_width - 0.05 * font_size)
    width = pdfmetrics.stringWidth(text, font, font_size) * condense
    if width > 2 * half_width:
        font_size *= 2 * half_width / width
    c.saveState()
    c.translate(centre, centre + baseline)
    c.scale(condense, 1)
    _set_font(c, font, font_size)
    c.drawCentredString(0, 0, text, mode=_FILL_AND_STROKE)
    c.restoreState()


_pdfium_lock = threading.Lock()


def _render_png(pdf: bytes, dpi: int) -> bytes:
    """Render page 1 of ``pdf`` to an RGBA PNG: pypdfium2 if installed, else poppler."""
    try:
        import pypdfium2
    except ImportError:
        return _render_png_poppler(pdf, dpi)
    with _pdfium_lock:  # PDFium is not thread-safe
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            # A transparent fill colour makes pypdfium2 render to BGRA.
            image = page.render(scale=dpi / 72, fill_color=(255, 255, 255, 0)).to_pil()
            page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.convert("RGBA").save(out, format="PNG")
    return out.getvalue()


def _render_png_poppler(pdf: bytes, dpi: int) -> bytes:
    exe = shutil.which("pdftocairo")
    if exe is None:
        raise SignerError(
            "cannot render the seal preview: install pypdfium2, or poppler "
            "(apt-get install poppler-utils)"
        )
    with tempfile.TemporaryDirectory(prefix="sealflow-seal-") as tmp:
        src = os.path.join(tmp, "seal.pdf")
        with open(src, "wb") as f:
            f.write(pdf)
        subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
            [exe, "-png", "-transp", "-r", str(dpi), "-singlefile", src, os.path.join(tmp, "seal")],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with open(os.path.join(tmp, "seal.png"), "rb") as f:
            return f.read()
