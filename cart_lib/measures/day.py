"""``day``: the day something happened to the patient(s) a sentence describes."""

from __future__ import annotations

import numpy as np

from ._base import Computed, Measure, register


@register
class Day(Measure):
    """The printed day, which every described patient must have; also their number."""

    name = "day"
    roles = frozenset({"count", "value"})
    required = ("population", "variable")
    optional = frozenset({"each", "unit", "rounding"})

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        values = ctx.values(reading, table, population)
        target = claim.numbers()["value"].value
        # Report the patient farthest from the printed day: it matches only when
        # every patient described has that day, and its distance guides the search.
        value = float(values[np.argmax(np.abs(values - target))]) if len(values) else np.nan
        return Computed({"count": int(population.sum()), "value": value},
                        ctx.each_violations(reading, population, table),
                        f"days: {', '.join(f'{v:g}' for v in values) or 'none'}")

    r_method = ("the described patients' values; the one farthest from the printed day must "
                "print as it")

    def r_lines(self, r, claim, reading):
        target = claim.numbers()["value"].value
        return [f".day({r.values(reading, 'pop')}, pop, {r.number(target)}{r.each(reading)})"]

    def printed_counts(self, claim, reading):
        numbers = claim.numbers()
        return [((reading.population,), numbers["count"].value)] if "count" in numbers else []

    def time_span(self, claim, reading, holds):
        return {"low": holds["value"], "high": holds["value"], "single": True,
                "each": reading.each}
