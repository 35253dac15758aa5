"""What was drawn over the pages after a signature: the "sneaky signature" check.

pyHanko's difference analysis lets a signature be followed by form filling and further
signatures, since that is how several people sign one document. But a later signature's stamp,
or a filled-in form field, is drawn on top of the page, and may be an opaque box with a forged
amount in it: the earlier signature stays intact and its bytes unchanged while the page shows
something else. So every annotation and widget a viewer draws on the last revision is compared
with what the page showed in the revision a signature signed; each one that is new, or whose
appearance, place, flags or value changed since, is a :class:`VisibleChange` after that
signature. Which of them an earlier seal tolerates is decided by :func:`judge`.

An annotation counts when its rectangle has an area inside the page's crop box and its flags do
not hide it; a widget (a form field's box) counts when it has an appearance, or (a text or
choice field) a value a viewer would draw. Document timestamps and invisible signatures have
no area and never count.
"""

from __future__ import annotations

import dataclasses
import decimal
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from .annotations import Box, Page, TooComplex, field_of, is_shown, overlap, rect_of, walk_pages
from .reports import SignatureReport, VisibleChange

__all__ = ["Analysis", "Overlays", "TooComplex", "analyse", "judge"]

MAX_NODES = 200_000
"""Objects read, in all, to fingerprint what the pages show (a legitimate document needs a
small fraction of this); past it the analysis gives up, and no signature passes."""

# Keys of an annotation that change nothing a viewer draws (or lead away from it: the page, the
# parent field, the signature value with its whole signed document behind it).
_NOT_DRAWN = frozenset({"/P", "/Parent", "/Popup", "/IRT", "/Kids", "/M", "/NM", "/StructParent",
                        "/Lock", "/SV", "/V", "/T", "/TU", "/TM", "/Ff", "/AA", "/A"})


@dataclass(frozen=True)
class _Drawn:
    """An annotation or widget a viewer draws on the last revision."""

    page: int
    ref: generic.Reference | None
    rect: Box
    """The part of its rectangle inside the crop box."""
    full_rect: Box | None
    kind: str
    field: str | None
    subtype: str
    digest: str
    changed: int
    """The last revision (0-based) that changed it or anything it draws."""
    listed: int
    """The last revision (0-based) that changed its page's list of annotations."""


@dataclass(frozen=True)
class Analysis:
    """What was drawn after each signature."""

    after: dict[str, list[VisibleChange]]
    """By signature field: the changes after the revision it signed."""

    stamps: dict[str, list[tuple[int, Box]]]
    """Where each signature field's widget shows on the last revision: ``[(page, rect)]``."""


def analyse(reader: PdfFileReader, revisions: dict[str, int]) -> Analysis:
    """The visible changes after each signature.

    :param revisions: each signature's ``signed_revision`` (0-based) by field name.
    :raises TooComplex: the file holds too much to inspect.
    :raises ValueError, KeyError, misc.PdfError ...: the pages or annotations are damaged.
    """
    last = reader.xrefs.total_revisions - 1
    if not revisions or min(revisions.values()) >= last:
        return Analysis({field: [] for field in revisions}, {})  # nothing after any signature
    found = Overlays(reader)
    return Analysis({field: found.after(revision) for field, revision in revisions.items()},
                    found.stamps)


class Overlays:
    """The annotations and widgets of a document's last revision, with their history."""

    def __init__(self, reader: PdfFileReader):
        self._reader = reader
        self._nodes = 0
        self._last_changes: dict[generic.Reference, int] = {}
        self._then: dict[int, dict[int, tuple[set[str], dict]]] = {}
        self.last_revision = reader.xrefs.total_revisions - 1
        self._drawn: list[_Drawn] = []
        self.stamps: dict[str, list[tuple[int, Box]]] = {}
        """Where each signature field's widget shows, on the last revision: ``[(page, rect)]``
        (1-based pages)."""
        for page in walk_pages(reader.root):
            listed = max(self._last_change(page.ref), self._last_change(_ref_of(
                page.page.raw_get("/Annots") if "/Annots" in page.page else None)))
            for ref, annot in page.annotations():
                drawn = self._drawn_annotation(page, ref, annot, listed)
                if drawn is None:
                    continue
                self._drawn.append(drawn)
                if drawn.kind == "signature" and drawn.field:
                    self.stamps.setdefault(drawn.field, []).append((page.index + 1, drawn.rect))

    def after(self, revision: int) -> list[VisibleChange]:
        """What was drawn, or drawn differently, after ``revision`` (0-based, as pyHanko's
        ``signed_revision``) and still shows on the last revision."""
        if revision >= self.last_revision:
            return []
        changes = []
        for drawn in self._drawn:
            if max(drawn.changed, drawn.listed) <= revision:
                continue  # nothing it depends on was written since: it was there, the same
            digests, widgets = self._page_then(revision, drawn.page)
            if drawn.digest in digests:
                continue
            earlier = widgets.get(drawn.ref) if drawn.ref is not None else None
            changes.append(VisibleChange(
                page=drawn.page + 1, rect=drawn.rect,
                revision=(drawn.changed if drawn.changed > revision else drawn.listed) + 1,
                kind=drawn.kind, field=drawn.field, subtype=drawn.subtype,
                prepared=(drawn.kind == "signature" and earlier == (drawn.full_rect, False))))
        return changes

    def _page_then(self, revision: int, page: int) -> tuple[set[str], dict]:
        """For one page as it stood in ``revision``: the digests of what it drew, and its
        signature widgets by reference (rectangle, signed)."""
        pages = self._then.get(revision)
        if pages is None:
            resolver = self._reader.get_historical_resolver(revision)
            pages = self._then[revision] = {}
            for then in walk_pages(resolver.root):
                digests: set[str] = set()
                widgets: dict = {}
                for ref, annot in then.annotations():
                    drawn = self._drawn_annotation(then, ref, annot, 0)
                    if drawn is not None:
                        digests.add(drawn.digest)
                    if ref is not None and annot.get("/Subtype") == "/Widget":
                        _, field_type, value = field_of(annot)
                        if field_type == "/Sig":
                            widgets[ref] = (rect_of(annot), value is not None)
                pages[then.index] = (digests, widgets)
        return pages.get(page, (set(), {}))

    def _drawn_annotation(self, page: Page, ref: generic.Reference | None,
                          annot: generic.DictionaryObject, listed: int) -> _Drawn | None:
        full_rect = rect_of(annot)
        rect = overlap(full_rect, page.area.visible)
        if rect is None or not is_shown(annot):
            return None
        subtype = str(annot.get("/Subtype") or "/Unknown")
        kind, field, field_type, value, parents = "annotation", None, None, None, []
        if subtype == "/Widget":
            field, field_type, value = field_of(annot)
            kind = "signature" if field_type == "/Sig" else "form_field"
            parents = _parent_refs(annot)
            has_appearance = "/AP" in annot
            if not has_appearance and (kind == "signature" or value is None):
                return None  # an empty box: a viewer draws nothing
        refs: set[generic.Reference] = set(parents)
        if ref is not None:
            refs.add(ref)
        digest = hashlib.sha256()
        self._feed(digest, annot, refs, skip=_NOT_DRAWN)
        # The field's value: what a viewer regenerating the appearance would draw (for a
        # signature, only whether it is signed: its value is the signature itself).
        _token(digest, b"F", f"{field}|{field_type}".encode())
        if value is not None and field_type != "/Sig":
            self._feed(digest, value, refs)
        else:
            _token(digest, b"V", b"1" if value is not None else b"0")
        changed = max((self._last_change(r) for r in refs), default=self.last_revision)
        return _Drawn(page.index, ref, rect, full_rect, kind, field or None, subtype.lstrip("/"),
                      digest.hexdigest(), changed, listed)

    def _feed(self, digest, obj: generic.PdfObject, refs: set[generic.Reference],
              skip: frozenset[str] = frozenset()) -> None:
        """Hash the object graph under ``obj`` (its top-level keys in ``skip`` left out) into
        ``digest``, adding every reference followed to ``refs``. Object numbers do not count,
        only what they hold; a reference seen before is hashed by the order it was first
        met in."""
        order: dict[generic.Reference, int] = {}
        # (object, keys left out) to hash, or (None, token) for a marker or a dictionary key
        stack: list[tuple[generic.PdfObject | None, Any]] = [(obj, skip)]
        while stack:
            item, extra = stack.pop()
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise TooComplex(f"more than {MAX_NODES} objects drawn over the pages")
            if item is None:
                _token(digest, b"K", extra)
            elif isinstance(item, generic.IndirectObject):
                ref = item.reference
                if ref in order:
                    _token(digest, b"R", str(order[ref]).encode())
                    continue
                order[ref] = len(order)
                refs.add(ref)
                stack.append((item.get_object(), frozenset()))
            elif isinstance(item, generic.DictionaryObject):
                _token(digest, b"<", b"")
                if isinstance(item, generic.StreamObject):
                    _token(digest, b"S", item.encoded_data)
                stack.append((None, b">"))
                for key in sorted((k for k in item if k not in extra), reverse=True):
                    stack.append((item.raw_get(key), frozenset()))
                    stack.append((None, str(key).encode()))
            elif isinstance(item, generic.ArrayObject):
                _token(digest, b"[", str(len(item)).encode())
                stack.extend((value, frozenset()) for value in reversed(list(list.__iter__(item))))
            else:
                _token(digest, type(item).__name__.encode(), _primitive(item))

    def _last_change(self, ref: generic.Reference | None) -> int:
        """The last revision (0-based) that wrote ``ref``; the last revision if unknown."""
        if ref is None:
            return self.last_revision
        found = self._last_changes.get(ref)
        if found is None:
            try:
                found = self._reader.xrefs.get_last_change(ref)
            except KeyError:
                found = self.last_revision
            self._last_changes[ref] = found
        return found


def judge(reports: list[SignatureReport], analysis: Analysis | None,
          revisions: dict[str, int],
          later_seal: Callable[[SignatureReport], bool]) -> list[SignatureReport]:
    """Each report with what was drawn over the pages after its signature, and its verdict.

    A change is allowed only if it is the stamp of a later signature that itself passes (its
    bottom line true, judged the same way) and that ``later_seal`` accepts as one of the
    organisation's seals, and if that stamp does not overlap this signature's own stamp. Any
    other change (an annotation, a filled-in form field, anyone else's signature, a seal over
    this one) makes the signature visibly modified: ``modified_after`` true and its bottom line
    false. Without an ``analysis`` (it failed) no signature passes.

    :param revisions: each report's ``signed_revision`` (0-based) by field name.
    """
    by_field = {report.field: report for report in reports}
    order = sorted((r for r in reports if r.field in revisions),
                   key=lambda r: revisions[r.field], reverse=True)
    for report in order:
        if analysis is None:
            judged = dataclasses.replace(report, visible_changes=None, visibly_modified=None,
                                         bottom_line=False)
        else:
            changes = [_allowed(change, report, by_field, analysis, later_seal)
                       for change in analysis.after[report.field]]
            modified = any(not change.allowed for change in changes)
            judged = dataclasses.replace(
                report, visible_changes=tuple(changes), visibly_modified=modified,
                modified_after=True if modified else report.modified_after,
                bottom_line=report.bottom_line and not modified)
        by_field[report.field] = judged
    return [by_field.get(r.field, r) if r.field in revisions else r for r in reports]


def _allowed(change: VisibleChange, report: SignatureReport, by_field: dict,
             analysis: Analysis, later_seal: Callable[[SignatureReport], bool]) -> VisibleChange:
    covers = any(page == change.page and overlap(rect, change.rect) is not None
                 for page, rect in analysis.stamps.get(report.field, []))
    filler = by_field.get(change.field) if change.kind == "signature" else None
    allowed = (filler is not None and change.field != report.field and not covers
               and filler.bottom_line and later_seal(filler))
    return dataclasses.replace(change, covers_signature=covers, allowed=allowed)


def _parent_refs(widget: generic.DictionaryObject) -> list[generic.Reference]:
    refs = []
    node = widget
    for _ in range(32):
        parent = node.raw_get("/Parent") if "/Parent" in node else None
        if not isinstance(parent, generic.IndirectObject):
            break
        refs.append(parent.reference)
        node = parent.get_object()
        if not isinstance(node, generic.DictionaryObject):
            break
    return refs


def _ref_of(value) -> generic.Reference | None:
    return value.reference if isinstance(value, generic.IndirectObject) else None


def _primitive(value) -> bytes:
    if isinstance(value, generic.TextStringObject):
        return str(value).encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return repr(float(value)).encode()
    return repr(value).encode("utf-8", "backslashreplace")


def _token(digest, tag: bytes, data: bytes) -> None:
    digest.update(len(tag).to_bytes(2, "big") + tag + len(data).to_bytes(8, "big") + data)

