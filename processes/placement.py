"""Where a request's seal goes, and how it signs: a square on a page (bottom right of the last
page by default), or a signature field an earlier certification prepared; the first seal of a
document may certify it (DocMDP: only form filling and further signatures allowed afterwards),
preparing the fields of the seals that follow (the legal representative's seal after the
contract seal), since a field added after a certification would break it.

Stored as the request's ``placement``: ``{page, x, y, size}``, plus ``certify`` and ``prepare``
(``[{field, page, x, y, size}]``); or ``{field}`` to fill a prepared field.
"""

from __future__ import annotations

import re
from typing import Any

import signer
from processes.errors import InvalidContent
from signer.pades import DEFAULT_SEAL_SIZE

FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
MAX_PREPARED = 8
KEYS = {"page", "x", "y", "size", "certify", "prepare", "field"}


def _refuse(message: str) -> InvalidContent:
    return InvalidContent(message, [{"field": "placement", "message": message}])


def _square(raw: dict[str, Any], info: signer.PdfInfo, what: str) -> signer.SealPlacement:
    try:
        square = signer.SealPlacement(page=int(raw.get("page") or info.pages),
                                      x=float(raw["x"]), y=float(raw["y"]),
                                      size=float(raw.get("size") or DEFAULT_SEAL_SIZE))
    except (KeyError, TypeError, ValueError):
        raise _refuse(f"{what} needs numbers page, x, y (and optional size)") from None
    try:
        square.check(info)
    except signer.SignerError as exc:
        raise _refuse(f"{what}: {exc}") from None
    return square


def _as_dict(square: signer.SealPlacement) -> dict[str, Any]:
    return {"page": square.page, "x": square.x, "y": square.y, "size": square.size}


def plan(raw: Any, info: signer.PdfInfo, data: bytes) -> dict[str, Any]:
    """Check a request's placement against its document and return what is stored.

    :raises InvalidContent: with the reason, for the field ``placement``.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _refuse("placement must be a JSON object {page, x, y, size}")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise _refuse(f"placement takes {', '.join(sorted(KEYS))}; not {', '.join(unknown)}")
    existing = signer.signature_fields(data)
    if raw.get("field") is not None:
        return _fill(raw, existing)
    if existing.certified:
        raise _refuse("the document is certified: the seal must fill one of its prepared "
                      f"fields ({', '.join(existing.empty) or 'it has none left'}); give "
                      'placement {"field": NAME}')
    square = _square(raw, info, "placement") if {"page", "x", "y", "size"} & raw.keys() \
        else signer.SealPlacement.default_for(info)
    planned = _as_dict(square)
    if raw.get("certify"):
        if existing.signed:
            raise _refuse("only the document's first signature may certify it, and it is "
                          f"signed already ({', '.join(existing.signed)})")
        planned["certify"] = True
    prepare = raw.get("prepare") or []
    if prepare:
        planned["prepare"] = _prepared(prepare, info, existing)
    return planned


def _fill(raw: dict[str, Any], existing: signer.SignatureFields) -> dict[str, Any]:
    name = str(raw["field"])
    if set(raw) - {"field"}:
        raise _refuse("a seal that fills a prepared field takes its place from the field: "
                      "give only {\"field\": NAME}")
    empty = existing.empty
    if name not in empty:
        raise _refuse(f"the document has no empty signature field {name!r} "
                      f"({'empty fields: ' + ', '.join(empty) if empty else 'it has none'})")
    return {"field": name}


def _prepared(prepare: Any, info: signer.PdfInfo,
              existing: signer.SignatureFields) -> list[dict[str, Any]]:
    if not isinstance(prepare, list) or len(prepare) > MAX_PREPARED:
        raise _refuse(f"prepare must be a list of at most {MAX_PREPARED} fields "
                      "{field, page, x, y, size}")
    taken = set(existing.signed + existing.empty)
    out = []
    for item in prepare:
        name = str(item.get("field") or "") if isinstance(item, dict) else ""
        if not FIELD_NAME.fullmatch(name):
            raise _refuse(f"a prepared field needs a name of letters, digits, _ . - starting "
                          f"with a letter, not {name!r}")
        if name in taken:
            raise _refuse(f"the document already has a field {name!r}")
        taken.add(name)
        out.append({"field": name, **_as_dict(_square(item, info, f"prepared field {name!r}"))})
    return out


def recheck(placement: dict[str, Any] | None, info: signer.PdfInfo, data: bytes) -> None:
    """A revised document must still take the planned seal (its square fits, its field is
    there).

    :raises InvalidContent: it does not.
    """
    if placement:
        plan(placement, info, data)


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
