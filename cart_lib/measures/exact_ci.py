"""``exact_ci``: a proportion with its Clopper-Pearson (exact binomial) confidence interval."""

from __future__ import annotations

import math
from functools import lru_cache

from .. import inversion, statistics
from ._base import Computed, register
from .count import Count


@lru_cache(maxsize=None)
def _interval(k: int, n: int, level: float) -> tuple[float, float]:
    # The interval depends on (k, n, level) alone; the search asks for the same ones often.
    return statistics.exact_ci(k, n, level)


def level_of(claim) -> float:
    """The interval's printed level in percent (95 when not printed)."""
    return claim.numbers()["level"].value if "level" in claim.reads else 95.0


@register
class ExactCI(Count):
    """The share of the population with the event, with its exact interval, in percent."""

    name = "exact_ci"
    roles = frozenset({"count", "denominator", "percent", "level", "ci_low", "ci_high"})
    required = ("population", "event")
    optional = frozenset({"each", "rounding"})
    cost = 3

    def compute(self, ctx, claim, reading, table) -> Computed:
        out = super().compute(ctx, claim, reading, table)
        k, n = out.values["count"], out.values["denominator"]
        level = level_of(claim)
        low, high = _interval(k, n, level / 100) if n else (math.nan, math.nan)
        out.values.update(level=level, ci_low=100 * low, ci_high=100 * high)
        return out

    def pinned_counts(self, claim, reading, size_of):
        if "count" in claim.numbers():
            return []
        n = size_of(reading.population)
        if not n:
            return []
        fits = [k for k, m in self._proportions(claim, n) if m == n]
        return [((reading.population, reading.event), fits[0])] if len(fits) == 1 else []

    @staticmethod
    def _proportions(claim, max_n: int):
        reads = tuple((r, claim.numbers()[r].value, claim.precision[r]) for r in claim.reads
                      if r in ("percent", "ci_low", "ci_high"))
        return inversion.feasible_proportions(reads, level_of(claim) / 100, max_n)

    def invertible(self, reading) -> bool:
        return True

    def why_not_invertible(self, reading) -> str:
        return ""

    def invert(self, claim, reading, out, n1, n2=None, any_split=True):
        out.method, out.sizes = "Clopper-Pearson exact interval", f"denominators 1 to {n1}"
        out.feasible = list(self._proportions(claim, n1))
        return out
