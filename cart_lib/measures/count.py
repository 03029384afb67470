"""``count``: patients of a population with an event, as a count, a denominator and a percentage."""

from __future__ import annotations

import math

import numpy as np

from ._base import Computed, Measure, register


@register
class Count(Measure):
    """Patients in the population for whom the event holds (everyone when no event is given)."""

    name = "count"
    roles = frozenset({"count", "denominator", "percent"})
    required = ("population",)
    optional = frozenset({"event", "each", "rounding"})
    proportion = True

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        hit = population & ctx.mask(reading.event, table)
        k, n = int(np.count_nonzero(hit)), int(np.count_nonzero(population))
        values = {"count": k, "denominator": n, "percent": 100 * k / n if n else math.nan}
        return Computed(values, ctx.each_violations(reading, hit, table), f"{k}/{n}")

    r_method = "sum() of the population and event masks; 100 * k / n"

    def r_lines(self, r, claim, reading):
        return [f"hit <- pop & {r.mask(reading.event)}", f".count(pop, hit{r.each(reading)})"]

    def printed_counts(self, claim, reading):
        numbers = {role: tok.value for role, tok in claim.numbers().items()}
        out = []
        if "count" in numbers:
            out.append(((reading.population, reading.event), numbers["count"]))
            if reading.each:
                out.append(((reading.population, reading.event, reading.each),
                            numbers["count"]))
        if "denominator" in numbers:
            out.append(((reading.population,), numbers["denominator"]))
        return out
