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


def parse(text: str) -> ast.expr:
    """The syntax tree of an expression (not yet checked against the grammar)."""
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


def constant(node: ast.expr):
    """The value of a constant node (a number, possibly negative, a string or a boolean)."""
    return _constant(node)


class Walker:
    """One walk over the grammar's syntax tree: a subclass says what each kind of node gives.

    :meth:`walk` sorts a node into the grammar's kinds and calls the method
    of that kind; :func:`names`, :class:`Compiler` and the R translation
    (:class:`cart_lib.analysis.rscript.RTranslator`) are walkers. A name that is a
    ledger variable (in :attr:`variables`) goes to :meth:`variable`, any
    other to :meth:`column`.
    """

    variables: Mapping[str, str] = {}

    def walk(self, node: ast.expr):
        """What ``node`` gives, by its kind."""
        if isinstance(node, ast.BoolOp):
            return self.boolean(isinstance(node.op, ast.And), node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.negation(node.operand)
        if isinstance(node, ast.Compare):
            return self.comparison(node)
        if isinstance(node, ast.Name):
            return self.variable(node.id) if node.id in self.variables else self.column(node.id)
        return self.constant(node)

    def boolean(self, conjunction: bool, operands: list[ast.expr]):
        """``a and b and ...`` (``conjunction``) or ``a or b or ...``."""
        raise NotImplementedError

    def negation(self, operand: ast.expr):
        """``not operand``."""
        raise NotImplementedError

    def comparison(self, node: ast.Compare):
        """A comparison, possibly chained, ``in`` and ``not in`` included."""
        raise NotImplementedError

    def variable(self, name: str):
        """A ledger variable, standing for its expression."""
        raise NotImplementedError

    def column(self, name: str):
        """A column of the record or of the study."""
        raise NotImplementedError

    def constant(self, node: ast.expr):
        """Any other node: a constant, where the grammar allows one."""
        raise NotImplementedError


class _Names(Walker):
    """Collects the names of an expression, checking it against the grammar."""

    def __init__(self):
        self.found: set[str] = set()

    def boolean(self, conjunction, operands):
        for value in operands:
            self.walk(value)

    def negation(self, operand):
        self.walk(operand)

    def comparison(self, node):
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
                self.walk(operand)

    def column(self, name):
        self.found.add(name)

    def constant(self, node):
        if isinstance(node, (ast.Constant, ast.UnaryOp)):
            _constant(node)
        else:
            raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in an expression")


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
    walker = _Names()
    walker.walk(parse(text))
    return walker.found


def names_problem(text: str, known: set[str],
                  unknown: str = "unknown column(s) {names}") -> str | None:
    """What is wrong with the names an expression uses, as an error message says it (or None).

    The message of the :class:`ExpressionError` when the expression is not in
    the grammar, else ``unknown`` with ``{names}`` the sorted names not in
    ``known``, else None.

    Examples
    --------
    >>> names_problem("cr_d31 and group == 'a'", {"cr_d30", "group"})
    "unknown column(s) ['cr_d31']"
    >>> names_problem("cr_d30", {"cr_d30"}) is None
    True
    """
    try:
        missing = sorted(names(text) - known)
    except ExpressionError as exc:
        return str(exc)
    return unknown.format(names=missing) if missing else None


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


class Compiler(Walker):
    """Compiles expressions into functions of a column table (a :class:`Walker`).

    Parameters
    ----------
    variables : mapping of str to str, optional
        Ledger variables: names that stand for other expressions.
    """

    def __init__(self, variables: Mapping[str, str] | None = None):
        self.variables = dict(variables or {})
        self._cache: dict[str, Mask] = {}
        self._stack: list[str] = []         # the variables being expanded, outermost first

    def mask(self, text: str) -> Mask:
        """Compile a boolean expression into ``f(table) -> bool array``."""
        if text not in self._cache:
            self._stack = []
            self._cache[text] = self.walk(parse(text))
        return self._cache[text]

    def boolean(self, conjunction: bool, operands: list[ast.expr]) -> Mask:
        parts = [self.walk(v) for v in operands]
        combine = np.logical_and if conjunction else np.logical_or
        if len(parts) == 2:              # the common case, one call less per part
            first, second = parts
            return lambda t: combine(first(t), second(t))

        def boolop(t, parts=parts, combine=combine):
            out = parts[0](t)
            for part in parts[1:]:
                out = combine(out, part(t))
            return out
        return boolop

    def negation(self, operand: ast.expr) -> Mask:
        inner = self.walk(operand)
        return lambda t: ~inner(t)

    def column(self, name: str) -> Mask:
        return lambda t: truthy(t[name])

    def constant(self, node: ast.expr) -> Mask:
        value = self._value(node)

        def bare(t):
            v = value(t)
            if not isinstance(v, np.ndarray):
                v = np.full(_length(t), v, dtype=object if isinstance(v, str) else float)
            return truthy(v)
        return bare

    def variable(self, name: str) -> Mask:
        if name in self._stack:
            raise ExpressionError(f"variable {name!r} refers to itself: "
                                  f"{' -> '.join(self._stack)}")
        self._stack.append(name)
        try:
            return self.walk(parse(self.variables[name]))
        finally:
            self._stack.pop()

    def _value(self, node: ast.expr):
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                inner = self.variable(node.id)
                return lambda t: inner(t).astype(float)
            name = node.id
            return lambda t: t[name]
        value = _constant(node)
        return lambda t: value

    def comparison(self, node: ast.Compare) -> Mask:
        operands = [node.left, *node.comparators]
        steps = []
        for op, left, right in zip(node.ops, operands, operands[1:]):
            lhs = self._value(left)
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
                rhs, fn = self._value(right), _CMP[type(op)]
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
