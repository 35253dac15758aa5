"""Where a request's seal goes, and how it signs: a square on a page (bottom right of the last
page by default), or a signature field an earlier certification prepared; the first seal of a
document may certify it (DocMDP: only form filling and further signatures allowed afterwards),
preparing the fields of the seals that follow (the legal representative's seal after the
contract seal), since a field added after a certification would break it.

Stored as the request's ``placement``: ``{page, x, y, size}``, plus ``certify`` and ``prepare``
(``[{field, page, x, y, size}]``); or ``{field}`` to fill a prepared field.

Every seal must be seen: its square, or the widget of the field it fills, lies inside the part
of its page a viewer shows (the crop box), is at least :data:`MIN_SEAL_SIZE` on each side, is
not hidden, and covers no other signature's box (nor a field prepared for one); a field's box
lies under no other annotation (drawn on top of it). A field whose
widget is of zero size, off the page, hidden or listed on no page would take a seal nobody
sees. These are checked when the request is made, when its document is revised
(:func:`recheck`) and again before sealing (:func:`confirm`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import signer
from processes import documents
from processes.errors import InvalidContent, msg
from signer import DEFAULT_MARGIN, DEFAULT_SEAL_SIZE

FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
MAX_PREPARED = 8
KEYS = {"page", "x", "y", "size", "certify", "prepare", "field"}

MIN_SEAL_SIZE = 20.0
"""The smallest seal, each side, in points (about 7 mm): a smaller stamp is hardly seen."""

DEFAULT_GAP = 12.0
"""Space between the default seal and a seal already on the page, in points."""

Taken = list[tuple[str, int, tuple[float, float, float, float]]]
"""Boxes a seal must not cover: ``(what, page, (x1, y1, x2, y2))`` in the page's coordinates."""


def _refuse(message: str) -> InvalidContent:
    return InvalidContent(message, [{"field": "placement", "message": message}])


def _square(raw: dict[str, Any], info: signer.PdfInfo, what: str, layout: signer.Layout,
            taken: Taken) -> signer.SealPlacement:
    try:
        square = signer.SealPlacement(page=int(raw.get("page") or info.pages),
                                      x=float(raw["x"]), y=float(raw["y"]),
                                      size=float(raw.get("size") or DEFAULT_SEAL_SIZE))
    except (KeyError, TypeError, ValueError):
        raise _refuse(msg("%(what)s needs numbers page, x, y (and optional size)",
                          what=what)) from None
    try:
        square.check(info)
    except signer.InvalidPlacement as exc:
        raise _refuse(_misfit(square, info, what, exc.reason)) from None
    _seen(square, layout, what, taken)
    return square


def _misfit(square: signer.SealPlacement, info: signer.PdfInfo, what: str,
            reason: str | None) -> str:
    """Why ``square.check`` refused the square (the signer's reason), in words the app
    translates."""
    if reason == "no_page":
        return msg("%(what)s: the document has %(pages)s page(s); there is no page %(page)s",
                   what=what, pages=info.pages, page=square.page)
    if reason == "not_numbers":
        return msg("%(what)s: the seal position and size must be numbers, the size positive",
                   what=what)
    width, height = info.page_sizes[square.page - 1]
    return msg("%(what)s: a seal of %(size)s pt at (%(x)s, %(y)s) does not fit on page "
               "%(page)s, which is %(width)s × %(height)s pt", what=what, size=f"{square.size:g}",
               x=f"{square.x:g}", y=f"{square.y:g}", page=square.page, width=f"{width:g}",
               height=f"{height:g}")


def _seen(square: signer.SealPlacement, layout: signer.Layout, what: str,
          taken: Taken) -> None:
    """Refuse a square a viewer would not show, or that would cover another seal's box."""
    if square.size < MIN_SEAL_SIZE:
        raise _refuse(msg("%(what)s: a seal of %(size)s pt would hardly be seen; it must be at "
                          "least %(min_seal_size)s pt", what=what, size=f'{square.size:g}',
                          min_seal_size=f'{MIN_SEAL_SIZE:g}'))
    if not 1 <= square.page <= len(layout.pages):
        raise _refuse(msg("%(what)s: the document has no page %(page)s", what=what,
                          page=square.page))
    area = layout.pages[square.page - 1]
    box = square.box(area.origin)
    if signer.overlap(box, area.visible) != box:
        raise _refuse(msg("%(what)s: a seal at (%(x)s, %(y)s) is not inside the part of page "
                          "%(page)s a viewer shows (its crop box)", what=what, x=f'{square.x:g}',
                          y=f'{square.y:g}', page=square.page))
    _not_covering(box, square.page, what, taken + _boxes(layout))


def _boxes(layout: signer.Layout, but: str | None = None) -> Taken:
    """The boxes of the document's signature fields (signed or prepared) a viewer shows."""
    return [(msg("signature field '%(name)s'", name=w.field), w.page, w.rect)
            for w in layout.widgets
            if w.page is not None and w.rect is not None and w.shown and w.field != but]


def _not_covering(box, page: int, what: str, taken: Taken) -> None:
    for name, on_page, other in taken:
        if on_page == page and signer.overlap(box, other) is not None:
            raise _refuse(msg("%(what)s would cover %(name)s on page %(page)s: a seal may not "
                              "hide another", what=what, name=name, page=page))


def _default(info: signer.PdfInfo, layout: signer.Layout) -> signer.SealPlacement:
    """Bottom right of the last page's visible part; left of (then above) the seals already
    there, so that a second seal does not hide the first."""
    page = info.pages
    area = layout.pages[page - 1]
    if area.visible is None:
        raise _refuse(msg("page %(page)s shows nothing (its crop box is outside its media box)",
                          page=page))
    x1, y1, x2, y2 = area.visible
    size = DEFAULT_SEAL_SIZE
    margin_x = min(DEFAULT_MARGIN, max(x2 - x1 - size, 0.0))
    margin_y = min(DEFAULT_MARGIN, max(y2 - y1 - size, 0.0))
    taken = _boxes(layout)
    y = y1 + margin_y
    while y + size <= y2:
        x = x2 - margin_x - size
        while x >= x1:
            box = (x, y, x + size, y + size)
            if not any(p == page and signer.overlap(box, other) is not None
                       for _, p, other in taken):
                square = signer.SealPlacement(page=page, x=x - area.origin[0],
                                              y=y - area.origin[1], size=size)
                return square
            x -= size + DEFAULT_GAP
        y += size + DEFAULT_GAP
    raise _refuse(msg("there is no free place for a %(size)s pt seal on page %(page)s; give "
                      "placement {page, x, y, size}", size=f'{size:g}', page=page))


def _as_dict(square: signer.SealPlacement) -> dict[str, Any]:
    return {"page": square.page, "x": square.x, "y": square.y, "size": square.size}


def plan(raw: Any, info: signer.PdfInfo, data: bytes) -> dict[str, Any]:
    """Check a request's placement against its document and return what is stored.

    :raises InvalidContent: with the reason, for the field ``placement``.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _refuse(msg("placement must be a JSON object {page, x, y, size}"))
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise _refuse(msg("placement takes %(keys)s; not %(unknown)s",
                          keys=', '.join(sorted(KEYS)), unknown=', '.join(unknown)))
    existing = signer.signature_fields(data, info.reader)  # the file parsed once
    layout = signer.layout(data, info.reader)
    if raw.get("field") is not None:
        return _fill(raw, existing, layout)
    if existing.certified:
        raise _refuse(msg("the document is certified: the seal must fill one of its prepared "
                          'fields (%(value)s); give placement {"field": NAME}',
                          value=', '.join(existing.empty) or 'it has none left'))
    if {"page", "x", "y", "size"} & raw.keys():
        square = _square(raw, info, msg("placement"), layout, [])
    else:
        square = _default(info, layout)
    planned = _as_dict(square)
    if raw.get("certify"):
        if existing.signed:
            raise _refuse(msg("only the document's first signature may certify it, and it is "
                              "signed already (%(signed)s)", signed=', '.join(existing.signed)))
        planned["certify"] = True
    prepare = raw.get("prepare") or []
    if prepare:
        planned["prepare"] = _prepared(prepare, info, existing, layout, square)
    return planned


def _fill(raw: dict[str, Any], existing: signer.SignatureFields,
          layout: signer.Layout) -> dict[str, Any]:
    name = str(raw["field"])
    if set(raw) - {"field"}:
        raise _refuse(msg("a seal that fills a prepared field takes its place from the field: "
                          'give only {"field": NAME}'))
    empty = existing.empty
    if name not in empty:
        raise _refuse(msg("the document has no empty signature field '%(name)s' (%(value)s)",
                          name=name,
                          value='empty fields: ' + ', '.join(empty) if empty else 'it has none'))
    _visible_field(name, layout)
    return {"field": name}


def _visible_field(name: str, layout: signer.Layout) -> None:
    """Refuse a field whose seal nobody would see: its one widget must be listed on a page,
    not hidden, inside the visible part of the page, at least MIN_SEAL_SIZE each side, under
    no other annotation, and clear of other signatures' boxes."""
    widgets = layout.widgets_of(name)
    if len(widgets) != 1:
        raise _refuse(msg("signature field '%(name)s' has %(size)s boxes on the pages; a seal "
                          "fills a field with exactly one", name=name, size=len(widgets)))
    (widget,) = widgets
    what = msg("signature field '%(name)s'", name=name)
    if widget.page is None:
        raise _refuse(msg("%(what)s is on no page: a seal in it would not be seen", what=what))
    if not widget.shown:
        raise _refuse(msg("%(what)s is hidden: a seal in it would not be seen", what=what))
    rect = widget.rect
    if rect is None:
        raise _refuse(msg("%(what)s has no box: a seal in it would not be seen", what=what))
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    if min(width, height) < MIN_SEAL_SIZE:
        raise _refuse(msg("%(what)s is %(width)s × %(height)s pt: a seal in it would hardly be "
                          "seen; it must be at least %(min_seal_size)s pt each side", what=what,
                          width=f'{width:g}', height=f'{height:g}',
                          min_seal_size=f'{MIN_SEAL_SIZE:g}'))
    if signer.overlap(rect, layout.pages[widget.page - 1].visible) != rect:
        raise _refuse(msg("%(what)s is not inside the part of page %(page)s a viewer shows: a "
                          "seal in it would not be seen", what=what, page=widget.page))
    if widget.covered:
        raise _refuse(msg("%(what)s lies under another annotation of page %(page)s, drawn on top "
                          "of it: a seal in it would be hidden", what=what, page=widget.page))
    _not_covering(rect, widget.page, what, _boxes(layout, but=name))


def _prepared(prepare: Any, info: signer.PdfInfo, existing: signer.SignatureFields,
              layout: signer.Layout, seal: signer.SealPlacement) -> list[dict[str, Any]]:
    if not isinstance(prepare, list) or len(prepare) > MAX_PREPARED:
        raise _refuse(msg("prepare must be a list of at most %(max_prepared)s fields {field, "
                          "page, x, y, size}", max_prepared=MAX_PREPARED))
    taken = set(existing.signed + existing.empty)
    boxes: Taken = [("the seal itself", seal.page,
                     seal.box(layout.pages[seal.page - 1].origin))]
    out = []
    for item in prepare:
        name = str(item.get("field") or "") if isinstance(item, dict) else ""
        if not FIELD_NAME.fullmatch(name):
            raise _refuse(msg("a prepared field needs a name of letters, digits, _ . - starting "
                              "with a letter, not '%(name)s'", name=name))
        if name in taken:
            raise _refuse(msg("the document already has a field '%(name)s'", name=name))
        taken.add(name)
        square = _square(item, info, msg("prepared field '%(name)s'", name=name), layout, boxes)
        boxes.append((f"prepared field {name!r}", square.page,
                      square.box(layout.pages[square.page - 1].origin)))
        out.append({"field": name, **_as_dict(square)})
    return out


def recheck(placement: dict[str, Any] | None, info: signer.PdfInfo, data: bytes) -> None:
    """A revised document must still take the planned seal (its square fits and shows, its
    field is there and shows).

    :raises InvalidContent: it does not.
    """
    if placement:
        try:
            plan(placement, info, data)
        except signer.InvalidDocument as exc:
            raise documents.refusal(exc) from None


def confirm(placement: dict[str, Any] | None, data: bytes,
            page_refs: Sequence[tuple[int, int]] = ()) -> None:
    """Just before sealing ``data`` (the approved bytes): the seal will be seen, its square or
    its field as :func:`plan` demands (for a request planned before these checks, or under
    other rules, too). ``page_refs``: the document's page list, read from the same bytes
    when it was stored.

    :raises InvalidContent: it would not (the sealing job refuses to seal).
    """
    placement = placement or {}
    try:
        if placement.get("field"):
            _visible_field(str(placement["field"]), signer.layout(data))
            return
        squares: list[tuple[str, dict]] = [(msg("placement"), placement)] + [
            (msg("prepared field '%(name)s'", name=p["field"]), p)
            for p in placement.get("prepare") or ()]
        squares = [(what, stored) for what, stored in squares
                   if {"page", "x", "y", "size"} <= stored.keys()]  # else the signer's default
        # Whether a square shows and what it covers is decided by its own page alone (its
        # boxes, the signature widgets it lists): with the page list, read only those pages.
        # The same bytes, every check of plan() on the square: a revision, which could
        # defeat it, is other bytes, checked whole by recheck() and again here.
        layout = (signer.pages_layout(data, page_refs, {s["page"] for _, s in squares})
                  if page_refs else signer.layout(data))
        boxes: Taken = []
        for what, stored in squares:
            square = _stored_square(stored)
            _seen(square, layout, what, boxes)
            boxes.append((what, square.page,
                          square.box(layout.pages[square.page - 1].origin)))
    except signer.InvalidDocument as exc:
        raise documents.refusal(exc) from None


def square_of(placement: dict[str, Any] | None) -> signer.SealPlacement | None:
    """The seal's square; None when it fills a prepared field (the field has its place)."""
    if not placement or "field" in placement:
        return None
    return _stored_square(placement)


def _stored_square(stored: dict[str, Any]) -> signer.SealPlacement:
    return signer.SealPlacement(**{k: stored[k] for k in ("page", "x", "y", "size")})


def settings_of(placement: dict[str, Any] | None, default_field: str,
                **settings: Any) -> signer.SealSettings:
    """The seal's signer settings: its field, and whether it certifies and prepares fields."""
    placement = placement or {}
    prepared = tuple(signer.PreparedField(p["field"], _stored_square(p))
                     for p in placement.get("prepare") or ())
    return signer.SealSettings(field_name=placement.get("field") or default_field,
                               certify=bool(placement.get("certify")),
                               prepare_fields=prepared, **settings)
