"""What every request must satisfy before a view reads it (DESIGN: bad input is a 4xx).

An id in a path that cannot exist does not match the route, so it answers 404 (as unknown ids
do) instead of reaching the database as a number it cannot store. Text in the query string, the
form fields and the headers must be text the database can hold: PostgreSQL refuses a NUL
character with an error, so a NUL anywhere there is a 400 before any query runs.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.routing import IntegerConverter, UnicodeConverter

from processes.errors import BadInput, msg
from processes.limits import INT_MAX, text_problem


class IdConverter(IntegerConverter):
    """``<int:...>``: ASCII digits only (``\\d`` would take any script's digits), 0 to 2**63-1,
    the database's signed 64-bit integers."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0,
                 max: int | None = INT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class SegmentConverter(UnicodeConverter):
    """``<name>``: one path segment without control characters, at most 255 characters (ids
    and keys are far shorter)."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = 255,
                 length: int | None = None) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")


FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _check_text() -> None:
    """Query string, form fields (not uploaded files' contents) and headers: storable text."""
    parts = [("query string", request.args.items(multi=True)),
             ("headers", request.headers.items())]
    # Only a form body is parsed here: another body's stream must stay unread, for the views
    # that first set a lower size limit on it (the TSA, OCSP).
    if request.mimetype in FORMS:
        parts += [("form", request.form.items(multi=True)),
                  ("file names", ((k, f.filename or "") for k, f in
                                  request.files.items(multi=True)))]
    for where, items in parts:
        for key, value in items:
            problem = text_problem(key) or text_problem(value)
            if problem:
                raise BadInput(msg("'%(key)s' in the %(where)s %(problem)s", key=key[:40],
                                   where=where, problem=problem))


def init_app(app: Flask) -> None:
    """Before any blueprint is registered (rules pick their converters when they are added)
    and before the hooks that query the database (the identity)."""
    app.url_map.converters.update(int=IdConverter, default=SegmentConverter,
                                  string=SegmentConverter)
    app.before_request(_check_text)
