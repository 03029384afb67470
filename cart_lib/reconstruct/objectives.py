"""What the search and the sampler keep: the claims, the timeline rules and the stated facts.

Each is an :class:`Objective` with the same face: the visible columns it
``reads``, the searchable ``columns`` its value depends on, the
``population`` it is computed over (None: every patient), a rough ``cost``
(cheap ones are computed first), its ``loss`` on a cohort (zero exactly
when it holds) and the patients a move aimed at it should ``focus`` on.

- :class:`ClaimObjective`: a printed figure under its adopted reading; its
  loss is :func:`cart_lib.evaluate.loss`.
- :class:`RuleObjective`: a timeline rule of the record or a fact the text
  states (:class:`cart_lib.core.record.Rule`); its loss is the number of
  patients who break it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from .. import cohort as cohort_mod
from ..core import expressions
from ..cohort import Table
from ..evaluate import Evaluator, loss
from ..ledger import Claim, Ledger, expand_names
from ..core.record import Rule

__all__ = ["ClaimObjective", "Objective", "RuleObjective", "atoms", "build"]

@dataclass
class Objective:
    """One thing every cohort must satisfy (see the module docstring)."""

    name: str
    reads: set[str]
    columns: set[str]
    population: str | None
    cost: int

    def loss(self, evaluator: Evaluator, table: Table) -> float:   # pragma: no cover - abstract
        raise NotImplementedError

    def focus(self, evaluator: Evaluator, table: Table) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass
class ClaimObjective(Objective):
    """A claim under its adopted reading.

    Attributes
    ----------
    claim : Claim
    atoms : tuple
        For the directed moves: the searchable atoms of the population and of
        the event, the column measured, and the printed values to aim at.
    outcomes : list of str
        The searchable columns the claim counts or measures, less those
        choosing its patients: what an exchange swaps.
    """

    claim: Claim = None
    atoms: tuple = ()
    outcomes: list[str] = field(default_factory=list)

    def loss(self, evaluator: Evaluator, table: Table) -> float:
        return loss(self.claim, evaluator.compute(self.claim, self.claim.adopted, table))

    def focus(self, evaluator: Evaluator, table: Table) -> np.ndarray:
        """The patients the claim is about."""
        return evaluator.mask(self.claim.adopted.population, table)


@dataclass
class RuleObjective(Objective):
    """A timeline rule or a stated fact: every patient of its population satisfies it."""

    rule: Rule = None

    def breaking(self, evaluator: Evaluator, table: Table) -> np.ndarray:
        """Mask of the patients who break the rule."""
        return evaluator.mask(self.rule.population, table) & ~evaluator.mask(self.rule.holds, table)

    def loss(self, evaluator: Evaluator, table: Table) -> float:
        return float(np.count_nonzero(self.breaking(evaluator, table)))

    focus = breaking


def build(ledger: Ledger, space, claims: list[Claim] | None = None) -> list[Objective]:
    """The objectives of a study: its claims (but definitions), then its rules and facts.

    Parameters
    ----------
    ledger : Ledger
    space : cart_lib.reconstruct.search.Space
        The searchable space, for the columns each objective depends on.
    claims : list of Claim, optional
        The claims to keep (default: every claim of the ledger), for example
        with another reading adopted.
    """
    out: list[Objective] = []
    for claim in (claims if claims is not None else ledger.claims):
        if not claim.adopted.measure.searched:
            continue
        out.append(ClaimObjective(claim.id, space.claim_reads(claim), space.claim_columns(claim),
                                  claim.adopted.population,
                                  claim.adopted.measure.cost, claim=claim,
                                  atoms=_claim_atoms(claim, ledger, space),
                                  outcomes=_outcome_columns(claim, ledger, space)))
    for rule in ledger.cohort_rules():
        reads = expand_names(expressions.names(rule.population) | expressions.names(rule.holds),
                             ledger)
        columns = set().union(*(space.depends.get(n, set()) for n in reads))
        out.append(RuleObjective(f"{rule.id} ({rule.source})", reads, columns, None, 0,
                                 rule=rule))
    return out


def _claim_atoms(claim: Claim, ledger: Ledger, space):
    """For the directed moves: the searchable atoms of a claim's event, and its target values."""
    reading = claim.adopted
    searchable = set(space.columns)
    population = [a for a in atoms(reading.population, ledger) if a[0] in searchable]
    event = [a for a in atoms(reading.event, ledger) + atoms(reading.each, ledger)
             if a[0] in searchable]
    column = reading.variable if reading.variable in searchable else (
        "last_contact_day" if reading.endpoint is not None else None)
    targets = []
    if column is not None and space.grids[column].numeric:
        for role, token in claim.numbers().items():
            if role in ("median", "min", "max", "value"):
                targets.append(token.value * reading.scale)
    return population, event, column, targets


def _outcome_columns(claim: Claim, ledger: Ledger, space) -> list[str]:
    """The searchable columns a claim counts or measures, less those choosing its patients."""
    reading = claim.adopted
    names: set[str] = set()
    for text in (reading.event, reading.each, reading.variable):
        if text:
            names |= expand_names(expressions.names(text), ledger)
    if reading.endpoint is not None:
        names |= ledger.endpoint_columns(reading.endpoint)
    chosen: set[str] = set()
    if reading.population:
        for name in expand_names(expressions.names(reading.population), ledger):
            chosen |= space.depends.get(name, set())
    out: set[str] = set()
    for name in names:
        out |= space.depends.get(name, set())
    return sorted(out - chosen - {"group"})


def atoms(text: str | None, ledger: Ledger) -> list[tuple[str, str, object]]:
    """The conjuncts of an expression that name one column each, variables expanded.

    Returns (column, operator, value) triples: ``("cr_d30", "==", 1.0)`` for
    ``cr_d30``, ``("relapse", "==", 0.0)`` for ``not relapse``,
    ``("donor", "in", [...])``, ``("crs_grade", ">=", 3)``. Parts that are not
    such atoms (an ``or``, a comparison of two columns) are left out: the
    moves built on atoms only need to be often right, not always.
    """
    if not text:
        return []
    walker = _Atoms(ledger)
    walker.walk(ast.parse(text, mode="eval").body)
    return walker.out


class _Atoms(expressions.Walker):
    """The walk behind :func:`atoms`: conjuncts naming one column, under any ``not``."""

    _SYMBOLS = {ast.Eq: "==", ast.In: "in", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
                ast.GtE: ">="}

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.variables = {k: v.expr for k, v in ledger.variables.items() if v.expr}
        self.out: list[tuple[str, str, object]] = []
        self.negate = False

    def boolean(self, conjunction, operands):
        if conjunction and not self.negate:       # an 'or', or a negated 'and', gives none
            for value in operands:
                self.walk(value)

    def negation(self, operand):
        self.negate = not self.negate
        self.walk(operand)
        self.negate = not self.negate

    def variable(self, name):
        self.walk(ast.parse(self.variables[name], mode="eval").body)

    def column(self, name):
        var = self.ledger.variables.get(name)      # a variable that notes a column
        self.out.append((var.column if var is not None else name, "==",
                         0.0 if self.negate else 1.0))

    def comparison(self, node):
        if len(node.ops) != 1 or self.negate or not isinstance(node.left, ast.Name):
            return
        symbol = self._SYMBOLS.get(type(node.ops[0]))
        if symbol is None:
            return
        right = node.comparators[0]
        try:
            value = [expressions.constant(e) for e in right.elts] if symbol == "in" \
                else expressions.constant(right)
        except (expressions.ExpressionError, AttributeError):
            return
        self.out.append((node.left.id, symbol, value))

    def constant(self, node):
        return None
