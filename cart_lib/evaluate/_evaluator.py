"""Evaluating claims on a cohort: the figure each reading computes, and whether it matches.

One code path serves the book and the search. :class:`Evaluator` computes a
reading's numbers from a cohort table (see :mod:`cart_lib.cohort`), in the
units they were printed in; :func:`matches` judges them at the printed
precision; :func:`loss` says how far a non-matching figure is from matching,
for the search to descend on. With ``fast=True`` the Kaplan-Meier median and
log-rank test use the numpy equivalents in :mod:`cart_lib.stats.statistics`
(tested equal to lifelines), so the search can call them ~10^5 times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import cohort as cohort_mod
from ..core import expressions, printed
from ..ledger import Claim, Ledger, Reading, expand_names
from ..measures import ALPHA, Computed

__all__ = ["ALPHA", "ClaimResult", "Computed", "Evaluator", "ReadingResult", "loss", "matches",
           "reproduced_text"]


@dataclass
class ReadingResult:
    """A reading evaluated on a cohort."""

    reading: Reading
    computed: Computed
    matched: bool
    reproduced: str


@dataclass
class ClaimResult:
    """A claim evaluated on a cohort: its adopted reading and every alternative."""

    claim: Claim
    adopted: ReadingResult
    alternatives: list[ReadingResult]

    @property
    def status(self) -> str:
        """``match``, ``infeasible-as-printed`` (adopted reading matched) or ``mismatch``."""
        if not self.adopted.matched:
            return "mismatch"
        return "infeasible-as-printed" if self.claim.infeasible_as_printed else "match"


class Evaluator:
    """Computes the readings of one study's claims on cohort tables.

    Parameters
    ----------
    ledger : Ledger
        The study's ledger (for its variables and endpoint rules).
    fast : bool
        Use the numpy Kaplan-Meier median and log-rank test (for the search).
    """

    def __init__(self, ledger: Ledger, fast: bool = False):
        self.ledger = ledger
        self.compiler = ledger.compiler()
        self.fast = fast
        self.window = ledger.response_window_days
        self._cache_table: cohort_mod.Table | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._reads: dict[str, frozenset[str]] = {}

    # -------------------------------------------------------------- helpers
    def mask(self, expr: str | None, table: cohort_mod.Table) -> np.ndarray:
        """Boolean mask of an expression; all true when the expression is omitted."""
        if expr is None:
            return np.ones(len(table["patient_id"]), dtype=bool)
        # Claims share populations: evaluate each expression once per table.
        if self._cache_table is not table:
            self._cache_table, self._cache = table, {}
        if expr not in self._cache:
            self._cache[expr] = self.compiler.mask(expr)(table)
            self.reads(expr)
        return self._cache[expr]

    def reads(self, expr: str) -> frozenset[str]:
        """The record columns an expression reads, ledger variables expanded."""
        if expr not in self._reads:
            self._reads[expr] = frozenset(expand_names(expressions.names(expr), self.ledger))
        return self._reads[expr]

    def carry(self, table: cohort_mod.Table, changed: set[str]) -> tuple:
        """Make ``table`` current, keeping the masks that read none of the ``changed`` columns.

        The search builds a new table for each move that differs from the
        current one in a few columns; masks over the others are still right,
        and recomputing them is most of the cost of a move. Returns what
        :meth:`restore` needs to go back to the previous table.
        """
        saved = (self._cache_table, self._cache)
        reads = self._reads                     # filled by mask() for every cached expression
        self._cache = {expr: mask for expr, mask in self._cache.items()
                       if changed.isdisjoint(reads[expr])}
        self._cache_table = table
        return saved

    def restore(self, saved: tuple) -> None:
        """Go back to the table (and its masks) current before :meth:`carry`."""
        self._cache_table, self._cache = saved

    def endpoint(self, name: str, table: cohort_mod.Table) -> tuple[np.ndarray, np.ndarray]:
        """Time and event of a survival endpoint for every patient of a cohort table.

        A competing event of a declared endpoint counts as censoring here (a
        cause-specific time); :meth:`endpoint_status` tells the two apart.
        """
        if name in self.ledger.endpoints:
            time, status = self.endpoint_status(name, table)
            return time, status == 1
        return cohort_mod.endpoint(name, table, self.ledger.rules.lfs_non_responder, self.window)

    def endpoint_status(self, name: str, table: cohort_mod.Table) -> tuple[np.ndarray, np.ndarray]:
        """Time and status (0 censored, 1 event, 2 competing event) of an endpoint."""
        declared = self.ledger.endpoints.get(name)
        if declared is None:
            time, event = self.endpoint(name, table)
            return time, np.asarray(event, dtype=int)
        return cohort_mod.declared_endpoint(
            [(k.when, k.day) for k in declared.events],
            [(k.when, k.day) for k in declared.competing], declared.start, table,
            lambda expr: self.mask(expr, table))

    def values(self, reading: Reading, table: cohort_mod.Table,
               population: np.ndarray) -> np.ndarray:
        """A reading's variable over a population, empty values dropped, in printed units."""
        values = table[reading.variable][population] if reading.variable in table else \
            self.mask(reading.variable, table)[population].astype(float)
        return values[~np.isnan(values)] / reading.scale

    def each_violations(self, reading: Reading, hit: np.ndarray, table) -> int:
        """Counted patients for whom the reading's ``each`` fails (0 without one)."""
        if reading.each is None:
            return 0
        return int((hit & ~self.mask(reading.each, table)).sum())

    # -------------------------------------------------------------- compute
    def compute(self, claim: Claim, reading: Reading, table: cohort_mod.Table) -> Computed:
        """Compute a reading's figure on a cohort table (by its statistic, :mod:`cart_lib.measures`)."""
        return reading.measure.compute(self, claim, reading, table)

    # ------------------------------------------------------------- evaluate
    def reading_result(self, claim: Claim, reading: Reading,
                       table: cohort_mod.Table) -> ReadingResult:
        """Evaluate one reading of a claim."""
        computed = self.compute(claim, reading, table)
        return ReadingResult(reading, computed, matches(claim, computed, reading),
                             reproduced_text(claim, reading, computed))

    def claim_result(self, claim: Claim, table: cohort_mod.Table) -> ClaimResult:
        """Evaluate a claim's adopted reading and its alternatives."""
        results = [self.reading_result(claim, r, table) for r in claim.readings]
        adopted = next(r for r in results if r.reading.adopted)
        return ClaimResult(claim, adopted, [r for r in results if not r.reading.adopted])

    def evaluate(self, table: cohort_mod.Table) -> list[ClaimResult]:
        """Evaluate every claim of the ledger on a cohort table."""
        return [self.claim_result(c, table) for c in self.ledger.claims]


# ---------------------------------------------------------------- judging

def matches(claim: Claim, computed: Computed, reading: Reading | None = None) -> bool:
    """Whether a computed figure prints as the claim's figure, with nothing violated.

    The figure must print so under every rounding convention (it may not lie
    on a rounding tie) unless the reading (the adopted one by default) names
    the convention the counts force on it.
    """
    if computed.violations:
        return False
    convention = (reading or claim.adopted).rounding
    numbers = claim.numbers()
    for role in claim.reads:
        if role == "bound":
            continue
        value = computed.values.get(role, math.nan)
        if not math.isfinite(value) or not printed.rounds_to(value, numbers[role].value,
                                                              claim.precision[role], convention):
            return False
    return True


def loss(claim: Claim, computed: Computed) -> float:
    """How far a computed figure is from the printed one: 0 exactly when it matches.

    The adopted reading's statistic says how (:meth:`cart_lib.measures.Measure.loss`).
    """
    return claim.adopted.measure.loss(claim, computed)


def reproduced_text(claim: Claim, reading: Reading, computed: Computed) -> str:
    """The computed figure, written the way the claim's figure was printed."""
    return reading.measure.reproduced(claim, reading, computed)
