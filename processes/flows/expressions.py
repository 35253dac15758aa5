"""The safe expression language of flows: JUEL-style ``${...}`` or plain, never Python eval.

Conditions, assignees, candidates and timers are translated token by token (``&&`` to ``and``,
``eq`` to ``==``, ``empty x`` to ``empty(x)``...) and then evaluated by simpleeval over an
allow-list of AST nodes: literals, names, comparisons, boolean logic, ``in``, arithmetic,
subscripts and a few functions. No attribute access, no imports, no lambdas, no comprehensions.
What an expression may cost, compiled and evaluated, is bounded in flows.expression_budget.
"""

from __future__ import annotations

import ast
import io
import tokenize
from functools import lru_cache
from typing import Any

import simpleeval

from processes.errors import SealflowError, msg
from processes.flows import expression_budget as budget


class ExpressionError(SealflowError):
    """An expression does not parse, uses something not allowed, or failed to evaluate."""

    code = "expression_error"
    task: Any = None
    """The SpiffWorkflow task it failed in, where known: the engine names the incident's
    element by it."""


def _empty(value: Any) -> bool:
    return value is None or (hasattr(value, "__len__") and len(value) == 0)


FUNCTIONS: dict[str, Any] = {
    "empty": _empty, "len": len, "str": str, "int": int, "float": float, "bool": bool,
    "abs": abs, "min": min, "max": max, "round": budget.safe_round,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
}

_JUEL_WORDS = {"eq": "==", "ne": "!=", "gt": ">", "lt": "<", "ge": ">=", "le": "<=",
               "and": "and", "or": "or", "not": "not", "div": "/", "mod": "%",
               "true": "True", "false": "False", "null": "None"}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (  # every evaluated one is in BudgetedEval
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Constant,
    ast.Name, ast.Load, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Subscript, ast.Slice,
    ast.Call, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.FloorDiv, ast.Mod, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn, ast.Is, ast.IsNot,
)


def _strip_juel(text: str) -> str:
    text = text.strip()
    if (text.startswith("${") or text.startswith("#{")) and text.endswith("}"):
        return text[2:-1].strip()
    return text


def _translate(text: str) -> list[tuple[int, str]]:
    """Rewrite JUEL operators to Python tokens, leaving string literals untouched."""
    out: list[tuple[int, str]] = []
    toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    pending_empty = 0
    for i, tok in enumerate(toks):
        kind, value = tok.type, tok.string
        if kind == tokenize.OP and value == "&&":
            out.append((tokenize.NAME, "and"))
        elif kind == tokenize.OP and value == "||":
            out.append((tokenize.NAME, "or"))
        elif kind in (tokenize.OP, tokenize.ERRORTOKEN) and value == "!":
            out.append((tokenize.NAME, "not"))
        elif kind == tokenize.ERRORTOKEN and value in {"&", "|"}:
            out.append((tokenize.OP, value))
        elif kind == tokenize.NAME and value == "empty":
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is not None and nxt.string != "(":
                out.append((tokenize.NAME, "empty"))
                out.append((tokenize.OP, "("))
                pending_empty += 1
                continue
            out.append((kind, value))
        elif kind == tokenize.NAME and value in _JUEL_WORDS:
            out.append((tokenize.NAME if value.isalpha() and _JUEL_WORDS[value].isalpha()
                        else tokenize.OP, _JUEL_WORDS[value]))
        elif kind in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        else:
            out.append((kind, value))
        if pending_empty and kind == tokenize.NAME and value != "empty":
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is None or nxt.string not in {"[", "."}:
                out.extend([(tokenize.OP, ")")] * pending_empty)
                pending_empty = 0
    out.extend([(tokenize.OP, ")")] * pending_empty)
    # "&&" tokenizes as two "&" in Python: fold them.
    folded: list[tuple[int, str]] = []
    for kind, value in out:
        if folded and value in {"&", "|"} and folded[-1][1] == value:
            folded[-1] = (tokenize.NAME, "and" if value == "&" else "or")
        else:
            folded.append((kind, value))
    return folded


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 200 else repr(text[:200]) + "…"


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> ast.Expression:
    """Parse an expression once; raise ExpressionError naming what is wrong.

    Its size and nesting are checked before Python tokenizes and parses it (both recurse), and
    its parts that read no variable are evaluated within the budget (flows.expression_budget).
    """
    if text is None or not str(text).strip():
        raise ExpressionError(msg("empty expression"))
    text = str(text)
    try:
        budget.check_text(text)
        source = _strip_juel(text)
        try:
            tokens = _translate(source)
            budget.check_tokens(tokens)
            tree = ast.parse(tokenize.untokenize(tokens).strip(), mode="eval")
        except (SyntaxError, tokenize.TokenError, IndentationError,
                RecursionError, MemoryError) as exc:  # the last two: checked against above
            reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
            raise ExpressionError(msg("expression %(expression)s does not parse: %(detail)s",
                                      expression=_shown(text), detail=reason)) from None
        budget.check_tree(tree)
    except budget.OverBudget as exc:
        raise ExpressionError(msg("expression %(expression)s %(reason)s", expression=_shown(text),
                                  reason=exc.reason)) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(msg(
                "expression %(expression)s uses %(node)s, which is not allowed (only literals, "
                "variables, comparisons, and/or/not, in, arithmetic)", expression=_shown(text),
                node=type(node).__name__))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(msg("expression %(expression)s calls a function that is "
                                          "not allowed", expression=_shown(text)))
            if node.keywords:
                raise ExpressionError(msg("expression %(expression)s: keyword arguments are "
                                          "not allowed", expression=_shown(text)))
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(msg("expression %(expression)s: names starting with _ are "
                                      "not allowed", expression=_shown(text)))
    work = budget.Work()  # as in one evaluation, the constant parts share one budget
    try:
        budget.check_constant_parts(
            tree, lambda node: budget.BudgetedEval({}, FUNCTIONS, work).run(node))
    except budget.OverBudget as exc:
        raise _too_costly(text, exc) from None
    return tree


def _too_costly(text: str, exc: budget.OverBudget) -> ExpressionError:
    return ExpressionError(msg("expression %(expression)s is too costly: it %(reason)s",
                               expression=_shown(text), reason=exc.reason))


def variables_of(text: str) -> set[str]:
    """The variable names an expression reads (for deploy-time checks)."""
    tree = compile_expression(text)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - called - {
        "True", "False", "None"}


def evaluate(text: str, variables: dict[str, Any]) -> Any:
    """Evaluate an expression over ``variables``; any failure, and going over the budget of
    processes.flows.expression_budget, is an ExpressionError."""
    tree = compile_expression(text)
    try:
        return budget.BudgetedEval(variables, FUNCTIONS).run(tree.body)
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(msg("expression %(expression)s: variable %(name)s is not set",
                                  expression=_shown(text), name=repr(exc.name))) from None
    except budget.OverBudget as exc:
        raise _too_costly(text, exc) from None
    except ExpressionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any evaluation failure is the designer's
        raise ExpressionError(msg("expression %(expression)s failed: %(detail)s",
                                  expression=_shown(text), detail=str(exc))) from None
