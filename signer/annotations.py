"""What a page shows on top of its content: its annotations and widgets, where they are and
whether a viewer draws them. Shared by the placement checks (:func:`layout`: will a seal be
seen?) and by verification (:mod:`signer.overlays`: what was drawn over a page after a seal?).

Coordinates are the page's default user space, in points, as the file has them (the media box's
lower-left corner is not always the origin); rotation is not applied.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from .errors import InvalidDocument
from .pdf import LazyPages, PageRef, open_pdf

__all__ = ["Box", "Layout", "PageArea", "Widget", "layout", "overlap", "pages_layout"]

Box = tuple[float, float, float, float]
"""A rectangle ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, in points."""

HIDDEN = 1 << 1
"""Annotation flag: not displayed or printed."""

NO_VIEW = 1 << 5
"""Annotation flag: not displayed on screen (printed only)."""

MAX_PAGE_TREE_DEPTH = 64
MAX_ANNOTATIONS_PER_PAGE = 5000
MAX_FIELD_DEPTH = 32

# What pyHanko raises on a damaged object graph.
DAMAGED = (misc.PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
           RecursionError)


class TooComplex(ValueError):
    """The file holds more than is reasonable to inspect (a public upload may be built to
    exhaust whoever reads it)."""


@dataclass(frozen=True)
class PageArea:
    """One page's boxes."""

    media: Box
    """The media box (inherited if need be)."""

    visible: Box | None
    """What a viewer shows: the crop box within the media box; ``None`` if they do not
    meet."""

    rotate: int = 0
    """Degrees a viewer turns the page clockwise to show it (``/Rotate``, inherited): 0, 90,
    180 or 270."""

    @property
    def origin(self) -> tuple[float, float]:
        """The media box's lower-left corner, which a seal placement is measured from."""
        return self.media[0], self.media[1]


@dataclass(frozen=True)
class Widget:
    """The widget (the box on a page) of one signature field."""

    field: str
    """The field's fully qualified name."""

    page: int | None
    """The 1-based page whose annotations list it; ``None`` if no page does (never shown)."""

    rect: Box | None
    """Its rectangle, normalised; ``None`` if it has none or it is unreadable."""

    shown: bool
    """Its flags let viewers display it (neither hidden nor no-view)."""

    signed: bool
    """The field holds a signature."""

    covered: bool = False
    """Another annotation the viewer shows, later in the page's list (so drawn on top of it),
    overlaps its box."""


@dataclass(frozen=True)
class Layout:
    """The pages and the signature widgets of a PDF, as far as placing a seal goes."""

    pages: Sequence[PageArea]
    widgets: tuple[Widget, ...]

    def widgets_of(self, field: str) -> list[Widget]:
        """The widgets of one signature field."""
        return [w for w in self.widgets if w.field == field]


def layout(data: bytes, reader: PdfFileReader | None = None) -> Layout:
    """Read every page's boxes and every signature field's widgets. ``reader``: one already
    open on ``data`` (``PdfInfo.reader``).

    :raises InvalidDocument: not a readable, unencrypted PDF, or its pages or fields are
        damaged.
    """
    reader = reader or open_pdf(data)
    try:
        pages = walk_pages(reader.root)
        areas = tuple(page.area for page in pages)
        widgets = [w for page in pages for w in _widgets_on(page)]
        # A field whose widget no page lists is never seen: keep it, on no page.
        on_pages = {w.field for w in widgets}
        for name, value, field_ref in fields.enumerate_sig_fields(reader):
            if name not in on_pages:
                widgets.extend(Widget(name, None, rect_of(annot), is_shown(annot),
                                      value is not None)
                               for annot in _widgets_of_field(field_ref.get_object()))
    except TooComplex as e:
        raise InvalidDocument(f"the PDF is too complex to place a seal on ({e})",
                              "too_complex") from e
    except DAMAGED as e:
        raise InvalidDocument(f"the PDF's pages or signature fields cannot be read ({e})",
                              "damaged") from e
    return Layout(areas, tuple(widgets))


def _widgets_on(page: Page) -> Iterator[Widget]:
    """The signature widgets one page lists, each with whether a later annotation covers it."""
    listed = list(page.annotations())
    # Boxes a viewer draws, in drawing order: a later one is drawn on top.
    drawn = [rect_of(annot) if is_shown(annot) else None for _, annot in listed]
    for at, (annot_ref, annot) in enumerate(listed):
        if annot.get("/Subtype") != "/Widget":
            continue
        name, field_type, value = field_of(annot)
        if field_type != "/Sig" or annot_ref is None:
            continue
        rect = rect_of(annot)
        yield Widget(name, page.index + 1, rect, is_shown(annot), value is not None,
                     covered=any(overlap(rect, above) for above in drawn[at + 1:]))


def pages_layout(data: bytes, page_refs: Sequence[PageRef], pages: Collection[int]) -> Layout:
    """The layout as far as a few ``pages`` (1-based) go, for a document whose page list
    (``page_refs``, :attr:`signer.PdfInfo.page_refs`) was read from the same bytes before:
    every page's area (read when asked for) and the signature widgets of those pages only,
    none of the others' and no field on no page. Whether a square shows and what it covers
    depends on its own page alone; reading only that page spares parsing every other page
    dictionary and annotation (about 0.5 ms a page).

    :raises InvalidDocument: as :func:`layout`.
    """
    reader = open_pdf(data, page_refs=page_refs)
    try:
        areas = _Areas(reader, len(page_refs))
        widgets = [w for number in sorted(set(pages)) if 1 <= number <= len(areas)
                   for w in _widgets_on(areas.page(number - 1))]
    except TooComplex as e:
        raise InvalidDocument(f"the PDF is too complex to place a seal on ({e})",
                              "too_complex") from e
    except DAMAGED as e:
        raise InvalidDocument(f"the PDF's pages or signature fields cannot be read ({e})",
                              "damaged") from e
    return Layout(areas, tuple(widgets))


class _Areas(LazyPages):
    """Page areas read one page at a time, through the reader's known page list."""

    def page(self, index: int) -> Page:
        page_ref, _ = self._reader.find_page_for_modification(index)
        node = page_ref.get_object()
        media = _inherited(node, "/MediaBox")
        if media is None:
            raise ValueError(f"page {index + 1} has no media box")
        media_box = _box(media)
        crop = _inherited(node, "/CropBox")
        crop_box = _box(crop) if crop is not None else media_box
        return Page(index, page_ref.reference, node,
                    PageArea(media_box, overlap(media_box, crop_box),
                             _rotation(_inherited(node, "/Rotate"))))

    def _read(self, index: int) -> PageArea:
        try:
            return self.page(index).area
        except DAMAGED as e:
            raise InvalidDocument(f"the PDF's pages cannot be read ({e})", "damaged") from e


def _inherited(node: generic.DictionaryObject, key: str):
    """A page attribute, from the page or the nearest page-tree node above it that has it."""
    for _ in range(MAX_PAGE_TREE_DEPTH + 1):
        if key in node:
            return node.raw_get(key)
        parent = node.get("/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    raise ValueError("the page tree is too deep")


@dataclass(frozen=True)
class Page:
    """A page of one revision, as :func:`walk_pages` finds it."""

    index: int
    """0-based page number."""

    ref: generic.Reference | None
    """The page object (``None`` for a direct object, which readers tolerate)."""

    page: generic.DictionaryObject
    area: PageArea

    def annotations(self) -> Iterator[tuple[generic.Reference | None,
                                            generic.DictionaryObject]]:
        """Its annotations in drawing order (later ones on top): reference (``None`` for a
        direct object) and dictionary."""
        annots = self.page.get("/Annots")
        if annots is None:
            return
        annots = annots.get_object()
        if not isinstance(annots, generic.ArrayObject):
            return
        if len(annots) > MAX_ANNOTATIONS_PER_PAGE:
            raise TooComplex(f"page {self.index + 1} has {len(annots)} annotations")
        for raw in annots:
            ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
            annot = raw.get_object()
            if isinstance(annot, generic.DictionaryObject):
                yield ref, annot


def walk_pages(root: generic.DictionaryObject) -> list[Page]:
    """Every page of the document whose catalog is ``root`` (in any revision), in order."""
    pages: list[Page] = []
    stack: list[tuple[generic.PdfObject, object, object, object, int]] = [
        (root.raw_get("/Pages"), None, None, None, 0)]
    seen: set[generic.Reference] = set()
    while stack:
        raw, media, crop, rotate, depth = stack.pop()
        ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
        if ref is not None:
            if ref in seen:
                raise ValueError("the page tree refers to itself")
            seen.add(ref)
        if depth > MAX_PAGE_TREE_DEPTH:
            raise ValueError("the page tree is too deep")
        node = raw.get_object()
        media = node.get("/MediaBox", media)
        crop = node.get("/CropBox", crop)
        rotate = node.get("/Rotate", rotate)
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            kids = list(list.__iter__(node["/Kids"]))  # raw entries: references kept
            stack.extend((kid, media, crop, rotate, depth + 1) for kid in reversed(kids))
            continue
        if media is None:
            raise ValueError(f"page {len(pages) + 1} has no media box")
        media_box = _box(media)
        crop_box = _box(crop) if crop is not None else media_box
        pages.append(Page(len(pages), ref, node, PageArea(
            media_box, overlap(media_box, crop_box), _rotation(rotate))))
    return pages


def _rotation(value: object) -> int:
    """A page's ``/Rotate`` as 0, 90, 180 or 270 (a multiple of 90, as viewers read it; anything
    else: 0)."""
    if isinstance(value, generic.IndirectObject):
        value = value.get_object()
    try:
        degrees = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
    return degrees % 360 if degrees % 90 == 0 else 0


def rect_of(annot: generic.DictionaryObject) -> Box | None:
    """An annotation's /Rect, normalised; ``None`` if missing or unreadable."""
    try:
        return _box(annot["/Rect"])
    except DAMAGED:
        return None


def is_shown(annot: generic.DictionaryObject) -> bool:
    """Whether an annotation's flags let a viewer display it."""
    try:
        flags = int(annot.get("/F", 0))
    except DAMAGED:
        return True
    return not flags & (HIDDEN | NO_VIEW)


def field_of(widget: generic.DictionaryObject) -> tuple[str, str | None, generic.PdfObject | None]:
    """A widget's field: fully qualified name, type (``/Sig``, ``/Tx`` ...; inherited) and
    value (``/V``, inherited; ``None`` if empty)."""
    names: list[str] = []
    field_type = value = None
    node: generic.DictionaryObject | None = widget
    for _ in range(MAX_FIELD_DEPTH):
        if node is None:
            break
        if "/T" in node:
            names.append(str(node["/T"]))
        if field_type is None and "/FT" in node:
            field_type = str(node["/FT"])
        if value is None and "/V" in node:
            value = node.raw_get("/V")
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        if node is not None and not isinstance(node, generic.DictionaryObject):
            node = None
    return ".".join(reversed(names)), field_type, value


def overlap(a: Box | None, b: Box | None) -> Box | None:
    """The part two rectangles share, if it has an area."""
    if a is None or b is None:
        return None
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def _widgets_of_field(field: generic.DictionaryObject) -> list[generic.DictionaryObject]:
    """The field itself when it is its own widget, else its kids that are not fields."""
    kids = field.get("/Kids")
    if kids is None:
        return [field]
    kids = kids.get_object()
    return [kid for kid in (kids[i] for i in range(len(kids)))
            if isinstance(kid, generic.DictionaryObject) and "/T" not in kid]


def _box(value) -> Box:
    value = value.get_object()
    if not isinstance(value, generic.ArrayObject) or len(value) != 4:
        raise ValueError("a rectangle needs four numbers")
    x1, y1, x2, y2 = (float(value[i]) for i in range(4))
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
