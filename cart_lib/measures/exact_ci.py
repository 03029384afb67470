"""``exact_ci`` and ``proportion_ci``: a proportion with its confidence interval.

``exact_ci`` is the Clopper-Pearson (exact binomial) interval; ``proportion_ci``
names its method in the reading's ``ci`` field: ``clopper-pearson``,
``wilson``, ``wald``, ``jeffreys`` or ``agresti-coull``
(:data:`cart_lib.stats.intervals.PROPORTION_INTERVALS`).
"""

from __future__ import annotations

import math
from functools import lru_cache

from ..stats import intervals, inversion
from ._base import Computed, register
from .count import Count


@lru_cache(maxsize=None)
def _interval(k: int, n: int, level: float, method: str) -> tuple[float, float]:
    # The interval depends on (k, n, level, method) alone; the search asks for the same ones often.
    return intervals.proportion_ci(k, n, level, method)


def level_of(claim) -> float:
    """The interval's printed level in percent (95 when not printed)."""
    return claim.numbers()["level"].value if "level" in claim.reads else 95.0


_METHOD_NAMES = {"clopper-pearson": "Clopper-Pearson exact interval",
                 "wilson": "Wilson score interval", "wald": "Wald interval",
                 "jeffreys": "Jeffreys interval", "agresti-coull": "Agresti-Coull interval"}


@register
class ExactCI(Count):
    """The share of the population with the event, with its exact interval, in percent."""

    name = "exact_ci"
    roles = frozenset({"count", "denominator", "percent", "level", "ci_low", "ci_high"})
    required = ("population", "event")
    optional = frozenset({"each", "rounding"})
    cost = 3

    r_method = "binom.test(k, n, conf.level = level)$conf.int (Clopper-Pearson)"

    def method(self, reading) -> str:
        """The interval's method (a key of :data:`cart_lib.stats.intervals.PROPORTION_INTERVALS`)."""
        return "clopper-pearson"

    def r_lines(self, r, claim, reading):
        return [f"hit <- pop & {r.mask(reading.event)}",
                f".exact_ci(pop, hit, {r.number(level_of(claim))}{r.each(reading)})"]

    def compute(self, ctx, claim, reading, table) -> Computed:
        out = super().compute(ctx, claim, reading, table)
        k, n = out.values["count"], out.values["denominator"]
        level = level_of(claim)
        low, high = _interval(k, n, level / 100, self.method(reading)) if n else \
            (math.nan, math.nan)
        out.values.update(level=level, ci_low=100 * low, ci_high=100 * high)
        return out

    def pinned_counts(self, claim, reading, size_of):
        if "count" in claim.numbers():
            return []
        n = size_of(reading.population)
        if not n:
            return []
        fits = [k for k, m in self._proportions(claim, reading, n) if m == n]
        return [((reading.population, reading.event), fits[0])] if len(fits) == 1 else []

    def _proportions(self, claim, reading, max_n: int):
        reads = tuple((r, claim.numbers()[r].value, claim.precision[r]) for r in claim.reads
                      if r in ("percent", "ci_low", "ci_high"))
        return inversion.feasible_proportions(reads, level_of(claim) / 100, max_n,
                                              self.method(reading), reading.rounding)

    def invertible(self, reading) -> bool:
        return True

    def invert(self, claim, reading, out, n1, n2=None, any_split=True):
        out.method = _METHOD_NAMES[self.method(reading)]
        out.sizes = f"denominators 1 to {n1}"
        out.feasible = list(self._proportions(claim, reading, n1))
        return out


@register
class ProportionCI(ExactCI):
    """The share of the population with the event, with the interval its ``ci`` names."""

    name = "proportion_ci"
    required = ("population", "event", "ci")

    r_method = ("binom.test (Clopper-Pearson), prop.test(correct = FALSE) (Wilson), qbeta "
                "(Jeffreys), and the Wald and Agresti-Coull formulas clipped to [0, 1]")

    def method(self, reading) -> str:
        return reading.ci

    def r_lines(self, r, claim, reading):
        return [f"hit <- pop & {r.mask(reading.event)}",
                f".proportion_ci(pop, hit, {r.number(level_of(claim))}, {r.string(reading.ci)}"
                f"{r.each(reading)})"]

    def problems(self, claim, reading, ledger):
        if reading.ci not in intervals.PROPORTION_INTERVALS:
            return [("ci", f"{reading.ci!r} is not a proportion interval; use one of "
                           f"{sorted(intervals.PROPORTION_INTERVALS)}")]
        return []
