"""FEEL unary tests, the subset the Camunda and dmn-js editors write in decision tables, and FEEL
literals: compiled by hand into small closures (never Python eval). ``-``, ``< 5``, ``[1..10]``,
``]1..10[``, ``"a","b"``, ``not("x")``, ``null``, ``date("2026-01-01")``; anything else that is not
a literal is one of Sealflow's safe expressions (processes.flows.expressions)."""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from processes.errors import msg
from processes.flows.expression_budget import MAX_CHARS
from processes.flows.expressions import ExpressionError, compile_expression, evaluate


class DmnError(ExpressionError):
    """A decision table gave no usable result: no rule matched, several matched under UNIQUE,
    ANY saw different outputs, or an input had the wrong type. Also a cell that does not compile.
    """

    code = "dmn_error"



_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<op>\.\.|<=|>=|!=|[-<>=(),\[\]])
  | (?P<name>[^\W\d]\w*)
  )""", re.VERBOSE)
_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "'": "'"}
Value = Callable[[Mapping[str, Any]], Any]
Test = Callable[[Any, Mapping[str, Any]], bool]


MAX_DIGITS = 38
"""Digits of a number in a cell (Python refuses to read past 4,300, with a ValueError)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    if len(text) > MAX_CHARS:
        raise DmnError(msg("is %(length)s characters long; at most %(max)s are allowed",
                           length=len(text), max=MAX_CHARS))
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise DmnError(msg("unexpected %(found)s", found=repr(text[pos:].strip()[:10])))
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "number" and len(value.replace(".", "")) > MAX_DIGITS:
            raise DmnError(msg("the number %(number)s… has %(digits)s digits; at most %(max)s "
                               "are allowed", number=value[:12],
                               digits=len(value.replace(".", "")), max=MAX_DIGITS))
        out.append((kind, value))
        pos = match.end()
    return out


def _unquote(literal: str) -> str:
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and body[i + 1] == "u" and re.fullmatch(r"[0-9a-fA-F]{4}",
                                                                 body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif body[i] == "\\":
            if body[i + 1] not in _ESCAPES:
                raise DmnError(msg("unknown escape \\%(char)s in %(literal)s", char=body[i + 1],
                                   literal=literal))
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _temporal(func: str, text: str) -> datetime.date:
    try:
        if func == "date":
            return datetime.date.fromisoformat(text)
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise DmnError(msg('%(func)s("%(text)s") is not a valid %(func)s', func=func,
                           text=text)) from None


class Parser:
    """Recursive descent over the tokens of one cell; builds closures, never source code."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.toks[i][1] if i < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.toks):
            raise DmnError(msg("ends too early: expected %(expected)s", expected=repr(expected))
                           if expected else msg("ends too early"))
        tok = self.toks[self.pos]
        if expected is not None and tok[1] != expected:
            raise DmnError(msg("expected %(expected)s but found %(found)s",
                               expected=repr(expected), found=repr(tok[1])))
        self.pos += 1
        return tok

    def done(self) -> None:
        if self.pos != len(self.toks):
            raise DmnError(msg("unexpected %(found)s", found=repr(self.toks[self.pos][1])))

    def literal(self) -> tuple[bool, Any]:
        """(True, value) for a FEEL literal here; (False, None) without consuming otherwise."""
        kind, tok = self.toks[self.pos] if self.pos < len(self.toks) else ("", "")
        if tok == "-" and self.pos + 1 < len(self.toks) and self.toks[self.pos + 1][0] == "number":
            self.pos += 2
            return True, -_number(self.toks[self.pos - 1][1])
        if kind in ("number", "string"):
            self.pos += 1
            return True, _number(tok) if kind == "number" else _unquote(tok)
        if kind == "name" and tok in ("true", "false", "null"):
            self.pos += 1
            return True, {"true": True, "false": False, "null": None}[tok]
        if tok == "date" and self.peek(1) == "and" and self.peek(2) == "time":
            self.pos += 3
            return True, self._call("date and time")
        if tok == "date" and self.peek(1) == "(":
            self.pos += 1
            return True, self._call("date")
        return False, None

    def _call(self, func: str) -> datetime.date:
        self.take("(")
        kind, arg = self.take()
        if kind != "string":
            raise DmnError(msg("%(func)s(...) takes a string", func=func))
        self.take(")")
        return _temporal(func, _unquote(arg))

    def endpoint(self) -> Value:
        is_literal, value = self.literal()
        if is_literal:
            return lambda variables: value
        kind, tok = self.take()
        if kind != "name" or tok in ("not", "and", "or"):
            raise DmnError(msg("expected a value but found %(found)s", found=repr(tok)))

        def lookup(variables: Mapping[str, Any], name: str = tok) -> Any:
            if name not in variables:
                raise DmnError(msg("variable %(name)s is not set", name=repr(name)))
            return variables[name]
        return lookup

    def unary_tests(self) -> Test:
        if [t for _, t in self.toks] == ["-"]:
            return lambda value, variables: True
        if self.peek() == "not" and self.peek(1) == "(":
            self.pos += 2
            inner = self.positive_tests()
            self.take(")")
            self.done()
            return lambda value, variables: not inner(value, variables)
        tests = self.positive_tests()
        self.done()
        return tests

    def positive_tests(self) -> Test:
        tests = [self.positive_test()]
        while self.peek() == ",":
            self.pos += 1
            tests.append(self.positive_test())
        if len(tests) == 1:
            return tests[0]
        return lambda value, variables: any(t(value, variables) for t in tests)

    def positive_test(self) -> Test:
        tok = self.peek()
        if tok in ("<", "<=", ">", ">=", "=", "!="):
            self.pos += 1
            bound = self.endpoint()
            return lambda value, variables: _compare(tok, value, bound(variables))
        if tok in ("[", "]", "("):
            self.pos += 1
            low = self.endpoint()
            self.take("..")
            high = self.endpoint()
            end = self.take()[1]
            if end not in ("]", "[", ")"):
                raise DmnError(msg("a range ends with ] [ or ), not %(found)s", found=repr(end)))
            low_op, high_op = (">=" if tok == "[" else ">"), ("<=" if end == "]" else "<")
            return lambda value, variables: (_compare(low_op, value, low(variables))
                                             and _compare(high_op, value, high(variables)))
        bound = self.endpoint()
        return lambda value, variables: _compare("=", value, bound(variables))


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, datetime.datetime):
        return "date and time"
    if isinstance(value, datetime.date):
        return "date"
    return "string" if isinstance(value, str) else type(value).__name__


def _compare(op: str, value: Any, bound: Any) -> bool:
    """FEEL comparison: null compares only by (in)equality; other kinds must agree."""
    if value is None or bound is None:
        return {"=": value is bound, "!=": value is not bound}.get(op, False)
    if isinstance(value, str) and kind_of(bound) in ("date", "date and time"):
        value = coerce(value, "dateTime" if kind_of(bound) == "date and time" else "date")
    if kind_of(value) != kind_of(bound):
        if op in ("=", "!="):
            return op == "!="
        raise DmnError(msg("%(value)s (%(kind)s) cannot be compared with %(bound)s "
                           "(%(bound_kind)s)", value=repr(value), kind=kind_of(value),
                           bound=repr(bound), bound_kind=kind_of(bound)))
    if kind_of(value) == "boolean" and op not in ("=", "!="):
        raise DmnError(msg("booleans cannot be compared with %(operator)s", operator=op))
    try:
        return bool(_OPS[op](value, bound))
    except TypeError as exc:  # e.g. a date and time with an offset and one without
        raise DmnError(msg("%(value)s cannot be compared with %(bound)s: %(detail)s",
                           value=repr(value), bound=repr(bound), detail=str(exc))) from None


def compile_unary_tests(text: str | None) -> Test:
    """A FEEL unary-test cell as ``test(value, variables) -> bool``; DmnError if unsupported."""
    if text is None or not text.strip():
        return lambda value, variables: True
    try:
        return Parser(text).unary_tests()
    except DmnError as exc:
        raise DmnError(msg("input entry %(entry)s is not a FEEL unary test Sealflow "
                           "understands: %(detail)s", entry=repr(text.strip()),
                           detail=exc.message)) from None


def compile_output(text: str | None) -> tuple[bool, Any, Value]:
    """An output entry: a FEEL literal (``(True, value, fn)``) or a safe expression."""
    if text is None or not text.strip():
        return True, None, lambda variables: None
    try:
        parser = Parser(text)
        is_literal, value = parser.literal()
        parser.done()
    except DmnError:
        is_literal = False
    if is_literal:
        if isinstance(value, datetime.date):  # task data holds dates as ISO text (forms.py)
            value = value.isoformat()
        return True, value, lambda variables: value
    try:
        compile_expression(text)
    except ExpressionError as exc:
        raise DmnError(msg("output entry: %(detail)s", detail=exc.message)) from None
    return False, None, lambda variables: evaluate(text, dict(variables))


_NUMERIC = ("number", "integer", "long", "double")


def coerce(value: Any, type_ref: str | None) -> Any:
    """An input value converted to its column's ``typeRef``, as Camunda does."""
    if value is None or not type_ref:
        return value
    try:
        if type_ref in _NUMERIC:
            if isinstance(value, bool):
                raise ValueError
            return _number(value.strip()) if isinstance(value, str) else value
        if type_ref == "boolean" and isinstance(value, str):
            return {"true": True, "false": False}[value.strip().lower()]
        if type_ref == "string" and kind_of(value) == "number":
            return str(value)
        if type_ref == "date" and isinstance(value, str):
            return datetime.date.fromisoformat(value.strip()[:10])
        if type_ref == "dateTime" and isinstance(value, str):
            return datetime.datetime.fromisoformat(value.strip())
    except (ValueError, KeyError):
        raise DmnError(msg("%(value)s is not a %(type)s", value=repr(value),
                           type=type_ref)) from None
    return value
