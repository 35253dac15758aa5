"""URL converters for ids: an id that cannot exist does not match the route, so it answers 404
(DESIGN: unknown ids are 404) instead of reaching the database as a number it cannot store."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, UnicodeConverter

ID_MAX = 2**63 - 1
"""Ids are the database's signed 64-bit integers."""


class IdConverter(IntegerConverter):
    """``<int:...>``: ASCII digits only (``\\d`` would take any script's digits), 0 to 2**63-1."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0,
                 max: int | None = ID_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class SegmentConverter(UnicodeConverter):
    """``<name>``: one path segment without control characters (a NUL reaches PostgreSQL as
    an error, not as a lookup), at most 255 characters (ids and keys are far shorter)."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = 255,
                 length: int | None = None) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")


def init_app(app) -> None:
    """Must run before any blueprint is registered: rules pick their converters when added."""
    app.url_map.converters.update(int=IdConverter, default=SegmentConverter,
                                  string=SegmentConverter)
