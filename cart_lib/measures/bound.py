"""``bound``: every patient's value lies beyond a printed bound ("all within 30 days")."""

from __future__ import annotations

import math

import numpy as np

from ..core import printed
from ._base import Computed, Measure, register

_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


@register
class Bound(Measure):
    """Each value compared with the bound; the extreme value is reported."""

    name = "bound"
    roles = frozenset({"bound"})
    required = ("population", "variable", "comparator")
    optional = frozenset({"unit"})

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        values = ctx.values(reading, table, population)
        bound = claim.numbers()["bound"].value
        ok = _COMPARE[reading.comparator](values, bound)
        extreme = (values.max() if reading.comparator in ("<", "<=") else values.min()) \
            if len(values) else math.nan
        return Computed({"bound": float(extreme)}, int((~ok).sum()),
                        f"{len(values)} value(s), extreme {extreme:g}")

    r_method = "every value compared with the printed bound"
    written = "bound"

    def r_lines(self, r, claim, reading):
        bound = claim.numbers()["bound"].value
        return [f".bound({r.values(reading, 'pop')}, {r.number(bound)}, "
                f"{r.string(reading.comparator)})"]

    def reproduced(self, claim, reading, computed) -> str:
        return f"{claim.printed} [extreme {printed.fmt(computed.values['bound'], 1)}]"

    def time_span(self, claim, reading, holds):
        return {"bound": (reading.comparator, claim.numbers()["bound"].value * reading.scale)}
