"""What one expression may cost: its size and nesting when it is compiled, the work it does and
the size of the values it builds when it is evaluated.

The language has no loops (no comprehensions, no lambdas), so an evaluation visits each node of
the syntax tree once. What costs is elsewhere: Python's own tokenizer, parser and compiler,
which recurse on nesting (``not not not …`` raised MemoryError, ``1+1+…`` RecursionError); the
size of the values an operation builds; and the numbers it makes. simpleeval 1.0.8 limits a
repetition or concatenation by its top-level length only (``[[0]*20000]*20000`` has 20,000
elements, of 20,000 each), ``**`` by its operands (``3 ** 4000000`` is allowed), and not at all
``round(5, -10**9)``, ``'%0999999999d' % 1`` or what ``str`` makes of a big value; and its check
of every result walks nested values in full, which is where 16 s went. Here:

- at compile time: the text's length, a nesting estimate from its tokens before Python parses
  it, then the tree's depth and node count; integer literals' magnitude; and the parts without
  variables evaluated once under the budget, so a costly constant is refused at deploy;
- at run time: each value an operation builds is measured (elements plus characters, nested
  values counted each time they occur) before it is built where the size is known beforehand
  (repetition, concatenation) and after otherwise; integers stay within ``MAX_INT_BITS``; and
  every node visited, element measured or compared counts against one work budget.
"""

from __future__ import annotations

import ast
import operator as op
import tokenize
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import simpleeval

from processes.errors import Message, msg

MAX_CHARS = 4096
"""Characters of an expression's text."""
MAX_TOKEN_DEPTH = 200
"""The nesting estimate from the tokens, checked before Python parses the text."""
MAX_DEPTH = 64
"""Depth of an expression's syntax tree."""
MAX_NODES = 1000
"""Nodes of an expression's syntax tree."""
MAX_SIZE = 100_000
"""Elements plus characters of any value an evaluation builds."""
MAX_WORK = 1_000_000
"""Nodes visited, elements measured and elements compared in one evaluation (or one decision
table): about 0.1 s at worst."""
MAX_INT_BITS = 128
"""Integers an expression makes stay within ±2**128 (about 3.4e38)."""
MAX_ROUND_DIGITS = 40
"""``round(x, n)``: |n| at most this (``round(5, -10**9)`` takes minutes)."""

CHEAP_FUNCTIONS = frozenset({"len", "empty", "bool", "abs"})
"""Functions whose cost does not grow with their arguments' size; the others (``str``,
``min``...) are charged the size of their arguments."""


class OverBudget(Exception):
    """An expression is too big, too deep or too costly; ``reason`` says how, as what follows
    "expression '...'" (or "... is too costly: it") in flows.expressions' messages."""

    def __init__(self, reason: Message) -> None:
        super().__init__(reason)
        self.reason = reason


# -- compile time ------------------------------------------------------------------------------

# Tokens that may open one more level of the syntax tree; the rest (names, literals, commas,
# comparisons, and/or) do not nest, or only within a fixed number of precedence levels.
_DEEPENING = frozenset({"(", "[", "{", ".", "+", "-", "*", "/", "//", "%", "**", "~", "@",
                        "<<", ">>", "&", "|", "^", "not", "if", "lambda", "await", "yield",
                        ":="})
_PRECEDENCE_LEVELS = 16


def check_text(text: str) -> None:
    if len(text) > MAX_CHARS:
        raise OverBudget(msg("is %(length)s characters long; at most %(max)s are allowed",
                             length=len(text), max=MAX_CHARS))


def check_tokens(tokens: list[tuple[int, str]]) -> None:
    """Before Python parses the text: an upper bound of its nesting from the tokens."""
    for kind, value in tokens:
        if kind == tokenize.STRING and any(c in "fF" for c in value.split(value[-1])[0]):
            raise OverBudget(msg("uses an f-string, which is not allowed"))
    deepening = sum(1 for _, value in tokens if value in _DEEPENING)
    if deepening + _PRECEDENCE_LEVELS > MAX_TOKEN_DEPTH:
        raise OverBudget(msg("has %(count)s operators and brackets; at most %(max)s are allowed",
                             count=deepening, max=MAX_TOKEN_DEPTH - _PRECEDENCE_LEVELS))


def check_tree(tree: ast.Expression) -> None:
    """Depth, node count and integer literals of a parsed expression (without recursion)."""
    nodes = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr_context):
            continue
        nodes += 1
        if depth > MAX_DEPTH:
            raise OverBudget(msg("is nested %(depth)s levels deep; at most %(max)s are allowed",
                                 depth=depth, max=MAX_DEPTH))
        if nodes > MAX_NODES:
            raise OverBudget(msg("has more than %(max)s parts", max=MAX_NODES))
        if isinstance(node, ast.Constant) and type(node.value) is int:
            check_int(node.value)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def check_constant_parts(tree: ast.Expression, evaluate: Callable[[ast.AST], Any]) -> None:
    """Evaluate the parts of an expression that read no variable, within the budget: what
    exceeds it there would exceed it whenever it runs. Other errors wait for run time (a
    branch may never be taken)."""
    parents: dict[ast.AST, ast.AST] = {}
    order = []
    for node in ast.walk(tree.body):
        order.append(node)
        children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
        for child in children:
            parents[child] = node
    # A called function's name has no parent here: it reads nothing.
    reads: set[ast.AST] = set()
    for node in reversed(order):  # children before their parents
        if isinstance(node, ast.Name):
            reads.add(node)
        if node in reads and node in parents:
            reads.add(parents[node])
    for node in order:
        if (node not in reads and not isinstance(node, (ast.Constant, ast.expr_context))
                and (node not in parents or parents[node] in reads)):
            try:
                evaluate(node)
            except OverBudget:
                raise
            except Exception:  # noqa: BLE001, S110 - left for run time, where it is an incident
                pass


def check_int(value: int) -> int:
    if value.bit_length() > MAX_INT_BITS:
        raise OverBudget(msg("makes a number of %(bits)s bits; numbers stay within ±2**%(max)s "
                             "(about 3.4e38)", bits=value.bit_length(), max=MAX_INT_BITS))
    return value


# -- run time ----------------------------------------------------------------------------------

class Work:
    """Work done by the evaluations that share it (one, or those of one decision table)."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0

    def charge(self, amount: int) -> None:
        self.used += amount
        if self.used > MAX_WORK:
            raise OverBudget(msg("does more than %(max)s steps of work", max=MAX_WORK))


_shared: ContextVar[Work | None] = ContextVar("expression_work", default=None)


@contextmanager
def shared_work() -> Iterator[Work]:
    """Evaluations within share one work budget (a decision table evaluates many cells)."""
    current = _shared.get()
    if current is not None:
        yield current
        return
    work = Work()
    token = _shared.set(work)
    try:
        yield work
    finally:
        _shared.reset(token)


_SCALARS = frozenset({int, float, bool, type(None)})
_CONTAINERS = frozenset({list, tuple, set, frozenset, dict})
_SEQUENCES = (str, list, tuple)
_BUILDING = (ast.BinOp, ast.Call, ast.List, ast.Tuple, ast.Set, ast.Dict)
_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Sub: op.sub, ast.Div: op.truediv, ast.FloorDiv: op.floordiv,
    ast.USub: op.neg, ast.UAdd: op.pos, ast.Not: op.not_,
    ast.Eq: op.eq, ast.NotEq: op.ne, ast.Lt: op.lt, ast.LtE: op.le, ast.Gt: op.gt,
    ast.GtE: op.ge, ast.In: lambda x, y: x in y, ast.NotIn: lambda x, y: x not in y,
    ast.Is: op.is_, ast.IsNot: op.is_not,
}


def safe_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is not None and (type(ndigits) is not int or abs(ndigits) > MAX_ROUND_DIGITS):
        raise OverBudget(msg("rounds to %(digits)s digits; at most %(max)s either way",
                             digits=repr(ndigits), max=MAX_ROUND_DIGITS))
    return round(number, ndigits)


class BudgetedEval(simpleeval.EvalWithCompoundTypes):
    """simpleeval's handlers for the allowed nodes, with sizes measured and work counted
    (module doc). Built once per evaluation, cheaply: no per-instance tables."""

    _HANDLERS: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
        ast.BoolOp: simpleeval.SimpleEval._eval_boolop,
        ast.IfExp: simpleeval.SimpleEval._eval_ifexp,
        ast.Subscript: simpleeval.SimpleEval._eval_subscript,
        ast.Slice: simpleeval.SimpleEval._eval_slice,
        ast.List: simpleeval.EvalWithCompoundTypes._eval_list,
        ast.Tuple: simpleeval.EvalWithCompoundTypes._eval_tuple,
        ast.Set: simpleeval.EvalWithCompoundTypes._eval_set,
        ast.Dict: simpleeval.EvalWithCompoundTypes._eval_dict,
    }

    def __init__(self, names: dict[str, Any], functions: dict[str, Any],
                 work: Work | None = None) -> None:
        # simpleeval's constructor builds its tables (and adds list, dict... to the functions
        # it is given); this evaluator dispatches on its own class-level ones.
        self.names = names
        self.functions = functions
        self.expr = ""
        self.work = work or _shared.get() or Work()
        self._sizes: dict[int, int] = {}
        self._keep: list[Any] = []  # what _sizes measured stays alive, so ids stay unique

    def run(self, node: ast.AST) -> Any:
        return self._eval(node)

    # the walk

    def _eval(self, node: Any) -> Any:
        # Any, not ast.AST: the dispatch below is on type(node) held in a variable (fast),
        # which mypy does not follow.
        work = self.work
        work.used += 1
        if work.used > MAX_WORK:
            work.charge(0)
        kind = type(node)
        if kind is ast.Name:
            return self._eval_name(node)
        if kind is ast.Constant:
            return node.value  # its size was checked at compile time
        if kind is ast.BinOp:
            value = self._eval_binop(node)
        elif kind is ast.Compare:
            return self._eval_compare(node)
        elif kind is ast.UnaryOp:
            return _OPERATORS[type(node.op)](self._eval(node.operand))
        elif kind is ast.Call:
            value = self._eval_call(node)
        else:
            try:
                value = self._HANDLERS[kind](self, node)
            except KeyError:
                raise simpleeval.FeatureNotAvailable(f"{kind.__name__} is not available") \
                    from None
        if type(value) is int:
            check_int(value)
        elif type(value) not in _SCALARS:
            if isinstance(node, _BUILDING):
                self.size(value)
        return value

    def _eval_name(self, node: ast.Name) -> Any:
        # Only variables: a function is called, never a value.
        try:
            return self.names[node.id]
        except KeyError:
            raise simpleeval.NameNotDefined(node.id, self.expr) from None

    def _eval_call(self, node: ast.Call) -> Any:
        name = cast(ast.Name, node.func).id  # compile_expression allows calls of names only
        func = self.functions[name]
        args = [self._eval(a) for a in node.args]
        if name not in CHEAP_FUNCTIONS:
            for arg in args:
                self.work.charge(self.size(arg))
        return func(*args)

    def _eval_compare(self, node: ast.Compare) -> bool:
        right = self._eval(node.left)
        for operation, comparator in zip(node.ops, node.comparators, strict=True):
            left, right = right, self._eval(comparator)
            self.work.charge(_length(left) + _length(right))
            if not _OPERATORS[type(operation)](left, right):
                return False
        return True

    def _eval_binop(self, node: ast.BinOp) -> Any:
        a, b = self._eval(node.left), self._eval(node.right)
        kind = type(node.op)
        if kind is ast.Add:
            return self._add(a, b)
        if kind is ast.Mult:
            return self._mult(a, b)
        if kind is ast.Mod:
            return _mod(a, b)
        return _OPERATORS[kind](a, b)

    # sizes

    def size(self, value: Any, depth: int = 0) -> int:
        """Elements plus characters, nested values counted where they occur; OverBudget past
        MAX_SIZE. Each container is walked once per evaluation."""
        kind = type(value)
        if kind is str:
            size = 1 + len(value)
        elif kind in _SCALARS:
            return 1
        elif kind in _CONTAINERS:
            size = self._sizes.get(id(value), 0)
            if size:
                return size
            if depth > MAX_DEPTH:
                raise OverBudget(msg("works on values nested more than %(max)s deep",
                                     max=MAX_DEPTH))
            size = 1
            self.work.charge(len(value))
            for item in ([*value.keys(), *value.values()] if kind is dict else value):
                size += self.size(item, depth + 1)
                if size > MAX_SIZE:
                    break
            self._sizes[id(value)] = size
            self._keep.append(value)
        elif callable(value) or isinstance(value, types.ModuleType):
            raise OverBudget(msg("makes a function a value"))
        else:
            return 1
        if size > MAX_SIZE:
            raise OverBudget(_too_big())
        return size

    def _built(self, value: Any, size: int) -> Any:
        """A value whose size is known without walking it."""
        if size > MAX_SIZE:
            raise OverBudget(_too_big())
        self.work.charge(size)
        if type(value) is not str:
            self._sizes[id(value)] = size
            self._keep.append(value)
        return value

    # operators that build or make big numbers

    def _add(self, a: Any, b: Any) -> Any:
        joins = isinstance(a, _SEQUENCES) and type(a) is type(b)  # (a and b stay Any)
        if joins:
            return self._built(a + b, self.size(a) + self.size(b) - 1)
        return a + b

    def _mult(self, a: Any, b: Any) -> Any:
        for seq, times in ((a, b), (b, a)):
            if isinstance(seq, _SEQUENCES) and type(times) in (int, bool):
                inner = self.size(seq) - 1
                total = inner * max(int(times), 0) + 1
                if total > MAX_SIZE:
                    raise OverBudget(msg("repeats a value of %(size)s elements and characters "
                                         "%(times)s times; at most %(max)s in all",
                                         size=inner, times=times, max=MAX_SIZE))
                return self._built(a * b, total)
        return a * b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        raise OverBudget(msg("formats text with %(operator)s, which is not allowed", operator="%"))
    return a % b


def _too_big() -> Message:
    return msg("builds a value of more than %(max)s elements and characters", max=MAX_SIZE)


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, set, frozenset, dict)) else 1
