"""A small, safe expression language for populations and events.

Ledgers describe *which patients* a claim is about (``population``) and *what
is counted* (``event``) as Python-style boolean expressions over record
columns, for example ``group == 'post-HSCT' and crs_grade >= 3``. The grammar
is deliberately small:

- names of record columns, of study columns and of ledger variables;
- constants (numbers, strings, ``True``/``False``) and lists of constants;
- comparisons ``== != < <= > >= in not in``, chained (``3 <= crs_grade <= 4``);
- ``and``, ``or``, ``not``, parentheses.

Empty values follow one rule, written once here: a comparison involving an
empty value is false (``!=`` included), and a bare name is true only when
its value is non-empty and non-zero. So ``not relapse`` is true for a
patient whose ``relapse`` is empty.

Expressions compile to functions of a column table (a mapping from name to
numpy array), so that the search can evaluate them many thousands of times.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

import numpy as np

from .errors import ExpressionError

Table = Mapping[str, np.ndarray]
Mask = Callable[[Table], np.ndarray]

_CMP = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def _parse(text: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {text!r} ({exc.msg})") from None
    return tree.body


def _constant(node: ast.expr):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    raise ExpressionError(f"expected a constant, found {ast.unparse(node)!r}")


def names(text: str) -> set[str]:
    """Names an expression refers to, after checking it is in the grammar.

    Parameters
    ----------
    text : str
        The expression.

    Returns
    -------
    set of str
        Column or variable names used.

    Raises
    ------
    ExpressionError
        If the expression uses anything outside the grammar.

    Examples
    --------
    >>> sorted(names("group == 'post-HSCT' and crs_grade >= 3"))
    ['crs_grade', 'group']
    """
    found: set[str] = set()

    def walk(node: ast.expr) -> None:
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                walk(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            walk(node.operand)
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(right, (ast.List, ast.Tuple)):
                        raise ExpressionError("'in' takes a list of constants")
                    for elt in right.elts:
                        _constant(elt)
                elif type(op) not in _CMP:
                    raise ExpressionError(f"operator {type(op).__name__} is not allowed")
            for operand in [node.left, *node.comparators]:
                if not isinstance(operand, (ast.List, ast.Tuple)):
                    walk(operand)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, (ast.Constant, ast.UnaryOp)):
            _constant(node)
        else:
            raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in an expression")

    walk(_parse(text))
    return found


def truthy(values: np.ndarray) -> np.ndarray:
    """Boolean mask of values that are non-empty and non-zero."""
    if values.dtype == object:
        # Text columns hold None where empty (cart_lib.cohort); compare in C, not in a loop.
        return (values != None) & (values != "")  # noqa: E711
    return np.abs(values) > 0                   # false for nan and for zero


def _empty(values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        if values.dtype == object:
            return (values == None) | (values == "")  # noqa: E711
        return np.isnan(values)
    return np.zeros((), dtype=bool)


class Compiler:
    """Compiles expressions into functions of a column table.

    Parameters
    ----------
    variables : mapping of str to str, optional
        Ledger variables: names that stand for other expressions.
    """

    def __init__(self, variables: Mapping[str, str] | None = None):
        self.variables = dict(variables or {})
        self._cache: dict[str, Mask] = {}

    def mask(self, text: str) -> Mask:
        """Compile a boolean expression into ``f(table) -> bool array``."""
        if text not in self._cache:
            self._cache[text] = self._bool(_parse(text), ())
        return self._cache[text]

    def _bool(self, node: ast.expr, stack: tuple[str, ...]) -> Mask:
        if isinstance(node, ast.BoolOp):
            parts = [self._bool(v, stack) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            if len(parts) == 2:              # the common case, one call less per part
                first, second = parts
                return lambda t: combine(first(t), second(t))

            def boolop(t, parts=parts, combine=combine):
                out = parts[0](t)
                for part in parts[1:]:
                    out = combine(out, part(t))
                return out
            return boolop
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._bool(node.operand, stack)
            return lambda t: ~inner(t)
        if isinstance(node, ast.Compare):
            return self._compare(node, stack)
        if isinstance(node, ast.Name) and node.id in self.variables:
            return self._variable(node.id, stack)
        if isinstance(node, ast.Name):
            name = node.id
            return lambda t: truthy(t[name])
        value = self._value(node, stack)

        def bare(t):
            v = value(t)
            if not isinstance(v, np.ndarray):
                v = np.full(_length(t), v, dtype=object if isinstance(v, str) else float)
            return truthy(v)
        return bare

    def _variable(self, name: str, stack: tuple[str, ...]) -> Mask:
        if name in stack:
            raise ExpressionError(f"variable {name!r} refers to itself: {' -> '.join(stack)}")
        return self._bool(_parse(self.variables[name]), stack + (name,))

    def _value(self, node: ast.expr, stack: tuple[str, ...]):
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                inner = self._variable(node.id, stack)
                return lambda t: inner(t).astype(float)
            name = node.id
            return lambda t: t[name]
        value = _constant(node)
        return lambda t: value

    def _compare(self, node: ast.Compare, stack: tuple[str, ...]) -> Mask:
        operands = [node.left, *node.comparators]
        steps = []
        for op, left, right in zip(node.ops, operands, operands[1:]):
            lhs = self._value(left, stack)
            if isinstance(op, (ast.In, ast.NotIn)):
                options = [_constant(e) for e in right.elts]
                negate = isinstance(op, ast.NotIn)

                def member(t, lhs=lhs, options=options, negate=negate):
                    values = np.asarray(lhs(t))
                    hit = np.isin(values, np.asarray(options, dtype=values.dtype))
                    return ~_empty(values) & (~hit if negate else hit)
                steps.append(member)
            elif (isinstance(left, ast.Name) and left.id not in self.variables
                  and not isinstance(op, ast.NotEq) and not isinstance(right, ast.Name)):
                # A column against a constant, the common case: one call, no wrapping.
                name, value, fn = left.id, _constant(right), _CMP[type(op)]
                steps.append(lambda t, name=name, value=value, fn=fn: fn(t[name], value))
            else:
                rhs, fn = self._value(right, stack), _CMP[type(op)]
                if isinstance(op, ast.NotEq):
                    def compare(t, lhs=lhs, rhs=rhs, fn=fn):
                        a, b = lhs(t), rhs(t)
                        return np.asarray(fn(a, b), dtype=bool) & ~_empty(a) & ~_empty(b)
                else:
                    # nan and None compare false with ==, <, <=, >, >= already.
                    def compare(t, lhs=lhs, rhs=rhs, fn=fn):
                        return np.asarray(fn(lhs(t), rhs(t)), dtype=bool)
                steps.append(compare)

        if len(steps) == 1 and any(isinstance(o, ast.Name) for o in operands):
            return steps[0]                      # a column's shape already: nothing to chain

        def chained(t):
            out = steps[0](t)
            if out.shape != _length(t):          # a comparison of two constants
                out = np.broadcast_to(out, _length(t))
            for step in steps[1:]:
                out = out & step(t)
            return out
        return chained


def _length(table: Table) -> tuple[int]:
    return (len(next(iter(table.values()))),)
