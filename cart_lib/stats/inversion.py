"""Claim inversion: every table, or rank configuration, that prints as a published figure.

A p-value or an exact interval printed without its counts still pins them
down. For a two-group test on a 2x2 table, this module enumerates every
table of the given group sizes (or of the given total, over every split)
whose p-value rounds to the printed one under the reading's test, and, where
the text says which group had more events, in that direction. For a
Mann-Whitney test it enumerates every U of the given group sizes (untied
data); for an exact binomial interval, every count and denominator.

The feasible sets serve twice: the book reports them (how much a printed
p-value reveals, and which readings of a figure can hold at all), and the
search measures a p-value claim's distance from matching as the number of
patients between the current table and the nearest feasible one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import intervals, statistics
from .group_tests import MANN_WHITNEY, TWO_BY_TWO, Test
from ..core.printed import rounds_to

if TYPE_CHECKING:   # the ledger's statistics use this module: its types are for annotations only
    from ..cohort import Table
    from ..ledger import Claim, Ledger, Reading

__all__ = ["MANN_WHITNEY", "TWO_BY_TWO", "ReadingInversion", "check_infeasible_as_printed",
           "feasible_proportions", "feasible_tables", "feasible_tables_any_split", "feasible_u",
           "invert_ledger", "invert_reading", "invert_sizes", "invertible", "prints_p_or_interval",
           "table_distance", "table_p", "why_not_invertible"]


def table_p(test: Test, a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of a 2x2 table [[a, b], [c, d]] under a test."""
    if test is Test.fisher_exact:
        return statistics.fisher_p(a, b, c, d)
    if test is Test.boschloo_exact:
        return statistics.boschloo_p(a, b, c, d)
    return statistics.chi2_p(a, b, c, d, correction=test is Test.chi2_yates)


def _direction_ok(direction: str | None, a: int, n1: int, c: int, n2: int) -> bool:
    if direction is None:
        return True
    higher = a * n2 > c * n1
    return higher if direction == "first_higher" else (c * n1 > a * n2)


@lru_cache(maxsize=None)
def feasible_tables(test: Test, direction: str | None, target: float, step: float,
                    n1: int, n2: int) -> tuple[tuple[int, int, int, int], ...]:
    """Every 2x2 table with row sizes ``n1``, ``n2`` whose p prints as ``target``.

    Returns
    -------
    tuple of (a, b, c, d)
        Event and non-event counts of the first group, then of the second.

    Examples
    --------
    Severe CRS in 8 of 17 autologous and 1 of 11 recipient-derived patients:

    >>> from cart_lib.stats.group_tests import Test
    >>> feasible_tables(Test.fisher_exact, "first_higher", 0.049, 0.001, 17, 11)
    ((8, 9, 1, 10),)
    """
    out = []
    for a in range(n1 + 1):
        for c in range(n2 + 1):
            if not _direction_ok(direction, a, n1, c, n2):
                continue
            if rounds_to(table_p(test, a, n1 - a, c, n2 - c), target, step):
                out.append((a, n1 - a, c, n2 - c))
    return tuple(out)


def feasible_tables_any_split(test: Test, direction: str | None, target: float, step: float,
                              total: int) -> tuple[tuple[int, int, int, int], ...]:
    """Every 2x2 table of ``total`` patients, over every split into two non-empty groups."""
    out: list[tuple[int, int, int, int]] = []
    for n1 in range(1, total):
        out.extend(feasible_tables(test, direction, target, step, n1, total - n1))
    return tuple(out)


def untied_samples(u: int, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """Two untied samples in which the first beats the second in exactly ``u`` pairs."""
    y = np.arange(n2, dtype=float)
    below, left = [], u
    for _ in range(n1):
        below.append(min(n2, left))
        left -= below[-1]
    x = np.array(below, dtype=float) - 0.5 + 1e-6 * np.arange(n1)
    return x, y


@lru_cache(maxsize=None)
def feasible_u(test: Test, direction: str | None, target: float, step: float,
               n1: int, n2: int) -> tuple[int, ...]:
    """Every Mann-Whitney U (of the first group, untied data) whose p prints as ``target``."""
    method = "exact" if test is Test.mannwhitney_exact else "asymptotic"
    out = []
    for u in range(n1 * n2 + 1):
        if direction == "first_higher" and not u > n1 * n2 / 2:
            continue
        if direction == "first_lower" and not u < n1 * n2 / 2:
            continue
        _, p = statistics.mannwhitney(*untied_samples(u, n1, n2), method)
        if rounds_to(p, target, step):
            out.append(u)
    return tuple(out)


@lru_cache(maxsize=None)
def feasible_proportions(reads: tuple[tuple[str, float, float], ...], level: float,
                         max_n: int, method: str = "clopper-pearson",
                         convention: str | None = None) -> tuple[tuple[int, int], ...]:
    """Every (count, denominator) up to ``max_n`` whose interval prints as claimed.

    ``reads`` holds (role, printed value, step) for the roles ``percent``,
    ``ci_low`` and ``ci_high``; ``method`` names the interval
    (:data:`cart_lib.stats.intervals.PROPORTION_INTERVALS`); ``convention`` is the
    reading's rounding (:func:`cart_lib.core.printed.rounds_to`).
    """
    percent = [(v, s) for r, v, s in reads if r == "percent"]
    out = []
    for n in range(1, max_n + 1):
        for k in range(n + 1):
            # The percentage is cheap: only counts that print it need their interval.
            if percent and not rounds_to(100 * k / n, *percent[0], convention):
                continue
            low, high = intervals.proportion_ci(k, n, level, method)
            got = {"percent": 100 * k / n, "ci_low": 100 * low, "ci_high": 100 * high}
            if all(rounds_to(got[r], v, s, convention) for r, v, s in reads if r in got):
                out.append((k, n))
    return tuple(out)


def table_distance(cells: tuple[int, int, int, int], feasible) -> float:
    """Patients to re-classify to turn a 2x2 table into the nearest feasible one (inf if none)."""
    if not feasible:
        return math.inf
    return min(sum(abs(x - y) for x, y in zip(cells, f)) for f in feasible) / 2


# ------------------------------------------------------------------ reports

@dataclass
class ReadingInversion:
    """What a printed figure admits under one reading.

    Attributes
    ----------
    claim, reading : str
        Ids.
    method : str
        The test or interval inverted.
    sizes : str
        The group sizes or total the enumeration used.
    feasible : list
        Feasible tables (a, b, c, d), U values, or (count, denominator) pairs.
    any_split : list or None
        For 2x2 tests: feasible tables of the same total over every split.
    literal, adopted : bool
        As in the ledger.
    """

    claim: str
    reading: str
    method: str
    sizes: str
    feasible: list = field(default_factory=list)
    any_split: list | None = None
    literal: bool = True
    adopted: bool = False

    @property
    def fits(self) -> bool:
        """Whether any configuration fits (over every split, for 2x2 tests)."""
        return bool(self.any_split if self.any_split is not None else self.feasible)


def invertible(reading: Reading) -> bool:
    """Whether inversion applies to a reading: 2x2 and Mann-Whitney p-values, exact intervals."""
    return reading.measure.invertible(reading)


def invert_reading(claim: Claim, reading: Reading, ledger: Ledger, table: Table,
                   any_split: bool = True) -> ReadingInversion:
    """Enumerate what a claim's figure admits under one reading, with group sizes from a cohort.

    Group sizes and totals are taken from ``table``, a cohort consistent
    with the study's counts (the sizes are pinned by its other claims).
    """
    compiler = ledger.compiler()
    population = compiler.mask(reading.population)(table)
    if not reading.measure.takes_groups:
        return invert_sizes(claim, reading, int(population.sum()))
    first = population & compiler.mask(reading.groups[0])(table)
    second = population & compiler.mask(reading.groups[1])(table)
    return invert_sizes(claim, reading, int(first.sum()), int(second.sum()), any_split)


def invert_sizes(claim: Claim, reading: Reading, n1: int, n2: int | None = None,
                 any_split: bool = True) -> ReadingInversion:
    """Enumerate what a claim's figure admits under one reading, at given group sizes.

    For an interval ``n1`` is the largest denominator tried; for a
    two-group test, ``n1`` and ``n2`` are the groups' sizes.
    """
    out = ReadingInversion(claim.id, reading.id, "", "", literal=reading.literal,
                           adopted=reading.adopted)
    return reading.measure.invert(claim, reading, out, n1, n2, any_split)


def prints_p_or_interval(claim: Claim) -> bool:
    """Whether a claim prints a p-value or an interval: the figures ``invert`` lists, each
    inverted or with the reason it cannot be (:func:`why_not_invertible`)."""
    return bool({"p", "ci_low", "ci_high"} & set(claim.reads))


def why_not_invertible(reading: Reading) -> str:
    """Why inversion does not apply to a reading that prints a p-value or an interval ('' if it does)."""
    return reading.measure.why_not_invertible(reading)


def invert_ledger(ledger: Ledger, table: Table,
                  skip: frozenset[Test] = frozenset()) -> list[ReadingInversion]:
    """Invert every invertible reading of every claim of a study."""
    out = []
    for claim in ledger.claims:
        for reading in claim.readings:
            if invertible(reading) and reading.test not in skip:
                out.append(invert_reading(claim, reading, ledger, table))
    return out


def check_infeasible_as_printed(ledger: Ledger, inversions: list[ReadingInversion]) -> list[str]:
    """Problems with the ledger's ``infeasible_as_printed`` marks, as messages (empty if none).

    A claim so marked must have no literal reading that fits, and an adopted
    reading that does; a claim not so marked must not have all its literal,
    invertible readings fail.
    """
    problems = []
    by_claim: dict[str, list[ReadingInversion]] = {}
    for inv in inversions:
        by_claim.setdefault(inv.claim, []).append(inv)
    for claim in ledger.claims:
        invs = by_claim.get(claim.id, [])
        literal = [i for i in invs if i.literal]
        adopted = [i for i in invs if i.adopted]
        if claim.infeasible_as_printed:
            fitting = [i.reading for i in literal if i.fits]
            if fitting:
                problems.append(f"{claim.id}: marked infeasible as printed, but literal "
                                f"reading(s) {fitting} fit")
            if adopted and not adopted[0].fits:
                problems.append(f"{claim.id}: the adopted reading {adopted[0].reading} does not fit")
        elif literal and not any(i.fits for i in literal):
            problems.append(f"{claim.id}: no literal reading fits; mark it infeasible as printed "
                            f"and adopt a reading that does")
    return problems
