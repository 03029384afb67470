"""``p_value`` and ``no_difference``: a two-group test, printed as its p-value or as "no difference"."""

from __future__ import annotations

import math

import numpy as np

from .. import inversion, printed, statistics
from ..group_tests import MANN_WHITNEY, TWO_BY_TWO, Test
from ._base import ALPHA, Computed, Measure, register, role_loss

_MWU_CACHE: dict[tuple, float] = {}


def _mannwhitney(x: np.ndarray, y: np.ndarray, method: str) -> tuple[float, float]:
    """Mann-Whitney U and p, memoised on what p depends on: U, the sizes and the ties."""
    if not len(x) or not len(y):
        return math.nan, math.nan
    greater = (x[:, None] > y[None, :]).sum() + 0.5 * (x[:, None] == y[None, :]).sum()
    _, ties = np.unique(np.concatenate([x, y]), return_counts=True)
    key = (method, float(greater), len(x), len(y), tuple(sorted(ties[ties > 1])))
    if key not in _MWU_CACHE:
        _MWU_CACHE[key] = statistics.mannwhitney(x, y, method)[1]
    return float(greater), _MWU_CACHE[key]


def two_groups(ctx, reading, table) -> tuple[float, int, int, str, dict]:
    """p, whether the direction is wrong, values tied across groups (when forbidden), note, shape."""
    population = ctx.mask(reading.population, table)
    first = population & ctx.mask(reading.groups[0], table)
    second = population & ctx.mask(reading.groups[1], table)
    test = reading.test
    wrong_way, tied, shape = 0, 0, {}
    if test in TWO_BY_TWO:
        event = ctx.mask(reading.event, table)
        a, n1 = int((first & event).sum()), int(first.sum())
        c, n2 = int((second & event).sum()), int(second.sum())
        cells = (a, n1 - a, c, n2 - c)
        p = inversion.table_p(test, *cells) if min(n1, n2) else math.nan
        if reading.direction and min(n1, n2):
            higher = a * n2 > c * n1
            wrong_way = int(higher != (reading.direction == "first_higher"))
        note, shape = f"{a}/{n1} vs {c}/{n2}", {"table": cells}
    elif test in MANN_WHITNEY:
        x = ctx.values(reading, table, first)
        y = ctx.values(reading, table, second)
        method = "exact" if test is Test.mannwhitney_exact else "asymptotic"
        u, p = _mannwhitney(x, y, method) if ctx.fast else statistics.mannwhitney(x, y, method)
        if reading.direction and len(x) and len(y):
            higher = u > len(x) * len(y) / 2
            wrong_way = int(higher != (reading.direction == "first_higher"))
        tied = 0 if reading.ties == "allowed" else int(np.isin(x, y).sum())
        note = f"U = {u:g}, n = {len(x)} vs {len(y)}" + \
            (f", {tied} value(s) tied across the groups" if tied else "")
        shape = {"u": u, "sizes": (len(x), len(y))}
    else:
        time, event = ctx.endpoint(reading.endpoint.value, table)
        fn = statistics.logrank_p_fast if ctx.fast else statistics.logrank_p
        if first.sum() and second.sum():
            p = fn(time[first], event[first], time[second], event[second])
            if reading.direction:
                # The first group's event rate is the higher when it has more
                # events than expected under equal hazards.
                excess = statistics.logrank_observed_minus_expected(
                    time[first], event[first], time[second], event[second])
                wrong_way = int((excess > 0) != (reading.direction == "first_higher"))
        else:
            p = math.nan
        note = f"n = {int(first.sum())} vs {int(second.sum())}"
    return p, wrong_way, tied, note, shape


def _why_not_invertible(measure: Measure, reading) -> str:
    if reading.test is Test.logrank and not measure.invertible(reading):
        return ("a log-rank p-value depends on every patient's time and event, not on a "
                "table or a rank sum: there is no finite list of configurations to "
                "enumerate")
    return Measure.why_not_invertible(measure, reading)


@register
class PValue(Measure):
    """The p-value of a two-group test, in the direction the text gives."""

    name = "p_value"
    roles = frozenset({"p"})
    required = ("population", "groups", "test")
    optional = frozenset({"event", "variable", "endpoint", "direction", "ties", "unit",
                          "rounding"})
    takes_groups = True
    cost = 4

    def compute(self, ctx, claim, reading, table) -> Computed:
        p, wrong_way, tied, note, shape = two_groups(ctx, reading, table)
        return Computed({"p": p}, wrong_way + tied, note, **shape)

    def invertible(self, reading) -> bool:
        return reading.test in TWO_BY_TWO or reading.test in MANN_WHITNEY

    def pinned_counts(self, claim, reading, size_of):
        # Boschloo's test is left out: enumerating its tables takes seconds.
        if reading.test not in TWO_BY_TWO or reading.test is Test.boschloo_exact:
            return []
        n1 = size_of(reading.population, reading.groups[0])
        n2 = size_of(reading.population, reading.groups[1])
        if not n1 or not n2:
            return []
        tables = inversion.feasible_tables(reading.test, reading.direction,
                                           claim.numbers()["p"].value, claim.precision["p"],
                                           n1, n2)
        if len(tables) != 1:
            return []
        a, _, c, _ = tables[0]
        return [((reading.population, group, reading.event), k)
                for group, k in zip(reading.groups, (a, c))]

    def why_not_invertible(self, reading) -> str:
        return _why_not_invertible(self, reading)

    def invert(self, claim, reading, out, n1, n2=None, any_split=True):
        target, step = claim.numbers()["p"].value, claim.precision["p"]
        out.method = reading.test.value
        if reading.test in TWO_BY_TWO:
            out.sizes = f"{n1} vs {n2} (total {n1 + n2})"
            out.feasible = list(inversion.feasible_tables(reading.test, reading.direction,
                                                          target, step, n1, n2))
            if any_split:
                out.any_split = list(inversion.feasible_tables_any_split(
                    reading.test, reading.direction, target, step, n1 + n2))
        else:
            out.sizes = f"{n1} vs {n2}"
            out.feasible = list(inversion.feasible_u(reading.test, reading.direction, target,
                                                     step, n1, n2))
        return out


@register
class NoDifference(Measure):
    """A two-group test the text calls not significant: p at least :data:`ALPHA`."""

    name = "no_difference"
    required = ("population", "groups", "test")
    optional = frozenset({"event", "variable", "endpoint", "ties", "unit"})
    takes_groups = True
    cost = 4

    def compute(self, ctx, claim, reading, table) -> Computed:
        p, _, tied, note, shape = two_groups(ctx, reading, table)
        return Computed({"p": p}, int(not p >= ALPHA) + tied, note, **shape)

    def reproduced(self, claim, reading, computed) -> str:
        p = computed.values.get("p", math.nan)
        return f"p = {printed.fmt(p, 3)} ({reading.test.value})"

    def loss(self, claim, computed) -> float:
        total = role_loss(claim, computed)
        p = computed.values.get("p", math.nan)
        if not p >= ALPHA:
            total += 20.0 if not math.isfinite(p) else \
                abs(math.log(max(p, 1e-12)) - math.log(ALPHA))
        return total

    def why_not_invertible(self, reading) -> str:
        return _why_not_invertible(self, reading)
