"""Checking that an input is a PDF Sealflow can seal, and reading its page sizes.

Only the cross-reference table, the catalog and the page tree are read, so inspecting a large file
costs little more than hashing it.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import cms, core
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.sign import fields
from pyhanko.sign.signers.pdf_byterange import PdfByteRangeDigest

from .errors import InvalidDocument

__all__ = ["PageRef", "PdfInfo", "SealReader", "SealWriter", "SignatureFields", "describe_pdf",
           "inspect_pdf", "open_pdf", "page_origin", "page_sizes", "signature_fields",
           "timestamp_time"]

logger = logging.getLogger(__name__)

_MAX_PAGE_TREE_DEPTH = 64

PageRef = tuple[int, int]
"""A page object's number and generation."""


@dataclass(frozen=True)
class PdfInfo:
    """What Sealflow needs to know about a PDF before sealing it."""

    pages: int
    """Number of pages."""

    page_sizes: Sequence[tuple[float, float]]
    """Width and height of each page's media box, in points (page rotation is not applied)."""

    sha256: str
    """SHA-256 of the file's bytes, lower-case hex."""

    page_refs: tuple[PageRef, ...] = ()
    """The page objects in page order (empty when not read): given back to :func:`open_pdf`
    for the same bytes, they spare pyHanko its page-tree walks."""

    reader: PdfFileReader | None = field(default=None, compare=False, repr=False)
    """The reader that read it, for further reads of the same bytes (:func:`signature_fields`,
    ``layout``): each would parse the file again (objects are parsed once per reader). Not
    to be written through: a writer that changes objects changes what it has read."""


class _KnownPages:
    """Page lookups from a page list read earlier from the same bytes.

    pyHanko finds page *n* by parsing every page dictionary before it (about 0.4 ms each, so
    40 ms for the last page of a 100-page file, more than hashing 10 MB). A page list kept from
    the upload check goes straight to the page; a list that does not fit the file (the page is
    not a page, its parents do not lead to the catalog's page tree) is ignored.
    """

    known_pages: tuple[PageRef, ...] = ()
    root: generic.DictionaryObject  # the reader's, which this is mixed into

    def _walk_page_tree(self, page_ix, retrieve_parent):
        found = self._known_page(page_ix, retrieve_parent) if self.known_pages else None
        if found is None:
            return super()._walk_page_tree(page_ix, retrieve_parent)  # type: ignore[misc]
        return found

    def _known_page(self, page_ix: int, retrieve_parent: bool):
        refs = self.known_pages
        if page_ix < 0:
            page_ix += len(refs)
        if not 0 <= page_ix < len(refs):
            raise misc.PdfError("Page index out of range")
        try:
            page_ref = generic.IndirectObject(*refs[page_ix], self)
            page = page_ref.get_object()
            if page.get("/Type") != "/Page":
                return None
            parent_ref = page.raw_get("/Parent")
            resources = None if retrieve_parent else page.get("/Resources")
            node_ref, depth = parent_ref, 0
            while True:
                node = node_ref.get_object()
                if resources is None and "/Resources" in node:
                    resources = node.raw_get("/Resources")
                if "/Parent" not in node:
                    break
                node_ref, depth = node.raw_get("/Parent"), depth + 1
                if depth > _MAX_PAGE_TREE_DEPTH:
                    return None
            if node_ref.reference != self.root.raw_get("/Pages").reference:
                return None
            if resources is None:
                resources = generic.DictionaryObject()
            if not retrieve_parent:
                return page_ref, resources
            kids = parent_ref.get_object()["/Kids"]
            index = next(i for i, kid in enumerate(kids)
                         if getattr(kid, "reference", None) == page_ref.reference)
            return parent_ref, index, resources
        except (misc.PdfError, AttributeError, KeyError, TypeError, StopIteration):
            return None


class SealReader(_KnownPages, PdfFileReader):
    """pyHanko's reader, finding pages by a known page list."""


class SealWriter(_KnownPages, IncrementalPdfFileWriter):
    """pyHanko's incremental writer, finding pages by its reader's page list; it remembers the
    signature placeholder pyHanko adds, and writes no copy of the original bytes into an
    :class:`~signer.appended.AppendedOutput`, which holds them already."""

    signature_object: PdfByteRangeDigest | None = None

    @classmethod
    def from_reader(cls, reader: PdfFileReader) -> SealWriter:
        writer = cls(reader.stream, prev=reader)
        writer.known_pages = getattr(reader, "known_pages", ())
        return writer

    def add_object(self, obj, *args, **kwargs):
        if isinstance(obj, PdfByteRangeDigest):
            self.signature_object = obj
        return super().add_object(obj, *args, **kwargs)

    def _write_header(self, stream) -> None:
        from .appended import AppendedOutput

        if not isinstance(stream, AppendedOutput):
            super()._write_header(stream)


def inspect_pdf(data: bytes) -> PdfInfo:
    """Check ``data`` is a usable PDF and describe it.

    :raises InvalidDocument: not a PDF, encrypted, damaged, or without pages.
    """
    return describe_pdf(open_pdf(data), hashlib.sha256(data).hexdigest())


ENCRYPTED_FOR_SEALING = "encrypted PDFs cannot be sealed; remove the password first"


def open_pdf(data: bytes, encrypted_message: str = ENCRYPTED_FOR_SEALING,
             page_refs: Sequence[PageRef] = ()) -> SealReader:
    """Open ``data`` with pyHanko (non-strict, so hybrid-xref files load) and refuse encryption.

    :param encrypted_message: what to tell the user if the PDF is encrypted.
    :param page_refs: the page list :func:`inspect_pdf` read from the same bytes, if known.
    :raises InvalidDocument: not a PDF, damaged, or encrypted.
    """
    if not data.startswith(b"%PDF-"):
        raise InvalidDocument("the file is not a PDF (it does not start with %PDF-)", "not_pdf")
    try:
        reader = SealReader(io.BytesIO(data), strict=False)
        encrypted = reader.encrypted
    except (misc.PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise InvalidDocument(f"the PDF is damaged and cannot be read ({e})", "damaged") from e
    if encrypted:
        raise InvalidDocument(encrypted_message, "encrypted")
    reader.known_pages = tuple((int(n), int(g)) for n, g in page_refs)
    return reader


class LazyPages(Sequence):
    """A value of each page, read one page at a time when asked (:meth:`_read`): sealing
    needs one page of a document that was already checked whole when it was uploaded."""

    def __init__(self, reader: PdfFileReader, count: int) -> None:
        self._reader, self._count = reader, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._count)))
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._read(index)

    def _read(self, index: int):
        raise NotImplementedError


class _PageSizes(LazyPages):
    """Page sizes, read one page at a time."""

    def __init__(self, reader: PdfFileReader) -> None:
        super().__init__(reader, int(reader.root["/Pages"]["/Count"]))

    def _read(self, index: int) -> tuple[float, float]:
        page_ref, _ = self._reader.find_page_for_modification(index)
        box = find_inherited_value_in_tree(page_ref.get_object(), "/MediaBox", "/Parent")
        return _box_size(box)


def describe_pdf(reader: PdfFileReader, sha256: str, *, lazy: bool = False) -> PdfInfo:
    """Describe the PDF open in ``reader`` whose bytes hash to ``sha256``.

    ``lazy``: read page sizes only when asked (the whole page tree is walked otherwise).

    :raises InvalidDocument: the page tree is damaged, or there are no pages.
    """
    refs: tuple[PageRef, ...] = ()
    try:
        if lazy:
            sizes: Sequence[tuple[float, float]] = _PageSizes(reader)
        else:
            sizes, refs = _page_list(reader)
    except (misc.PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise InvalidDocument(f"the PDF is damaged: its page list cannot be read ({e})",
                              "damaged") from e
    if not sizes:
        raise InvalidDocument("the PDF has no pages", "no_pages")
    return PdfInfo(pages=len(sizes), page_sizes=sizes, sha256=sha256, page_refs=refs,
                   reader=reader)


def page_sizes(reader: PdfFileReader) -> tuple[tuple[float, float], ...]:
    """Width and height of every page's (possibly inherited) media box, in page order."""
    return _page_list(reader)[0]


def _page_list(reader: PdfFileReader) -> tuple[tuple[tuple[float, float], ...],
                                                 tuple[PageRef, ...]]:
    """Every page's media box size and object reference, in page order (no references at all
    if a page is a direct object, which the page tree forbids but readers tolerate)."""
    sizes: list[tuple[float, float]] = []
    refs: list[PageRef] | None = []
    # Depth-first walk over the page tree, with an explicit stack and a guard against cycles.
    stack: list[tuple[generic.PdfObject, generic.PdfObject | None, int]] = [
        (reader.root.raw_get("/Pages"), None, 0)
    ]
    seen: set[generic.Reference] = set()
    while stack:
        ref, inherited_box, depth = stack.pop()
        indirect = ref if isinstance(ref, generic.IndirectObject) else None
        if indirect is not None:
            if indirect.reference in seen:
                raise ValueError("the page tree refers to itself")
            seen.add(indirect.reference)
        if depth > _MAX_PAGE_TREE_DEPTH:
            raise ValueError("the page tree is too deep")
        node = ref.get_object()
        box = _get(node, "/MediaBox", inherited_box)
        if _get(node, "/Type") == "/Pages" or "/Kids" in node:
            kids = node.raw_get("/Kids").get_object()
            stack.extend((kid, box, depth + 1) for kid in reversed(kids))
        else:
            sizes.append(_box_size(box))
            if refs is not None and indirect is not None:
                refs.append((indirect.reference.idnum, indirect.reference.generation))
            else:
                refs = None
    return tuple(sizes), tuple(refs or ())


def page_origin(reader: PdfFileReader, page: int) -> tuple[float, float]:
    """Lower-left corner of the (possibly inherited) media box of ``page`` (1-based).

    Usually ``(0, 0)``, but not always; placements are relative to this corner.
    """
    page_ref, _ = reader.find_page_for_modification(page - 1)
    box = find_inherited_value_in_tree(page_ref.get_object(), "/MediaBox", "/Parent")
    x1, y1, x2, y2 = (float(v) for v in box)
    return min(x1, x2), min(y1, y2)


def _get(node: generic.DictionaryObject, key: str, default=None):
    # DictionaryObject.get() does not resolve indirect objects; item access does.
    try:
        return node[key]
    except KeyError:
        return default


def _box_size(box) -> tuple[float, float]:
    if box is None:
        raise ValueError("a page has no media box")
    x1, y1, x2, y2 = (float(v) for v in box)
    width, height = abs(x2 - x1), abs(y2 - y1)
    if width <= 0 or height <= 0:
        raise ValueError("a page has an empty media box")
    return width, height


@dataclass(frozen=True)
class SignatureFields:
    """The signature fields a PDF has already."""

    signed: tuple[str, ...]
    """Fields holding a signature (or a document timestamp)."""

    empty: tuple[str, ...]
    """Empty fields, prepared for a later seal."""

    certified: bool
    """Whether a certification (DocMDP) signature restricts further changes: then a further
    seal must fill one of the :attr:`empty` fields."""


def signature_fields(data: bytes, reader: PdfFileReader | None = None) -> SignatureFields:
    """What a document's signature fields are, for the checks made before it is sealed.
    ``reader``: one already open on ``data`` (:attr:`PdfInfo.reader`).

    :raises InvalidDocument: not a readable, unencrypted PDF.
    """
    from pyhanko.sign.validation import read_certification_data

    reader = reader or open_pdf(data)
    try:
        found = [(name, bool(value)) for name, value, _ in fields.enumerate_sig_fields(reader)]
        certified = read_certification_data(reader) is not None
    except (misc.PdfError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise InvalidDocument(f"the PDF's signature fields cannot be read ({e})", "damaged") from e
    return SignatureFields(signed=tuple(n for n, v in found if v),
                           empty=tuple(n for n, v in found if not v), certified=certified)


def free_field_name(reader: PdfFileReader, wanted: str) -> str:
    """``wanted``, unless a signed field has that name (an empty one is filled); then the first
    free of ``wanted-2``, ``wanted-3`` ..."""
    taken = {name for name, value, _ in fields.enumerate_sig_fields(reader) if value}
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}-{n}"
    return name


def timestamp_time(data: bytes, field_name: str | None = None) -> datetime | None:
    """The time of the RFC 3161 timestamp on the signature of ``field_name`` (default: the last
    signature, document timestamps of B-LTA aside) of ``data`` (its token's genTime, in UTC),
    or None when that signature carries none (PAdES B-B) or is not there. Read only: nothing
    is validated here (``validate_pdf`` does that).

    :raises InvalidDocument: not a readable PDF, or a signature that cannot be parsed.
    """
    reader = open_pdf(data)
    try:
        # The field's /Contents alone, and of its CMS only the token's time: this read cost
        # more than the sealing it follows (0.3 s of a worker's CPU per document, twice).
        signed = [(name, value.get_object()) for name, value, _
                  in fields.enumerate_sig_fields(reader) if value is not None]
        found = [value for name, value in signed
                 if (name == field_name if field_name is not None
                     else value.get("/Type") != "/DocTimeStamp")]
        if not found:
            return None
        content = cms.ContentInfo.load(bytes(found[-1]["/Contents"]))
        if content["content_type"].native != "signed_data":
            return None
        unsigned = content["content"]["signer_infos"][0]["unsigned_attrs"]
        if isinstance(unsigned, core.Void):  # none (``.native`` would convert every certificate)
            return None
        for attr in unsigned:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]["content"]
                tst_info = token["encap_content_info"]["content"].parsed
                when = tst_info["gen_time"].native
                return when.astimezone(UTC) if when is not None else None
    except (misc.PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise InvalidDocument(f"the PDF's signature cannot be read ({e})") from e
    return None
