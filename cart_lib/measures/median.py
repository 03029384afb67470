"""``median`` and ``range``: the simple median of a variable with its range, or the range alone."""

from __future__ import annotations

import math

from ..stats import statistics
from ._base import Computed, Measure, register


@register
class Median(Measure):
    """Median, minimum and maximum of a variable's non-empty values in the population."""

    name = "median"
    roles = frozenset({"median", "min", "max"})
    required = ("population", "variable")
    optional = frozenset({"unit", "rounding"})
    cost = 2

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        values = ctx.values(reading, table, population)
        if not len(values):
            return Computed({"median": math.nan, "min": math.nan, "max": math.nan}, 0,
                            "no values")
        return Computed({"median": statistics.median(values), "min": float(values.min()),
                         "max": float(values.max())}, 0, f"n = {len(values)}", sample=values)

    r_method = "median(), min() and max() of the non-empty values"

    def r_lines(self, r, claim, reading):
        return [f".median_range({r.values(reading, 'pop')})"]

    def time_span(self, claim, reading, holds):
        return {"low": holds.get("min"), "high": holds.get("max"),
                "median": holds.get("median")}


@register
class Range(Median):
    """Minimum and maximum of a variable's non-empty values in the population."""

    name = "range"
    roles = frozenset({"min", "max"})
    r_method = "min() and max() of the non-empty values"

    def time_span(self, claim, reading, holds):
        return {"low": holds.get("min"), "high": holds.get("max")}
