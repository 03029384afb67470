"""``p_value`` and ``no_difference``: a test across groups, printed as its p-value or as "no difference".

Most tests compare two groups; those of :data:`cart_lib.stats.group_tests.K_GROUPS`
(Pearson's chi-square, the log-rank test, Kruskal-Wallis) compare any number
k >= 2 of them.
"""

from __future__ import annotations

import math

import numpy as np

from ..stats import inversion, statistics
from ..core import printed
from ..stats.group_tests import K_GROUPS, MANN_WHITNEY, TWO_BY_TWO, Test
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


def group_test(ctx, reading, table) -> tuple[float, int, int, str, dict]:
    """p, whether the direction is wrong, values tied across groups (when forbidden), note, shape."""
    population = ctx.mask(reading.population, table)
    masks = [population & ctx.mask(group, table) for group in reading.groups]
    if reading.test is Test.kruskal_wallis:
        return _kruskal_wallis(ctx, reading, table, masks)
    if len(masks) > 2:
        return _k_groups(ctx, reading, table, masks)
    return _two_groups(ctx, reading, table, *masks)


def _two_groups(ctx, reading, table, first, second) -> tuple[float, int, int, str, dict]:
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
        time, event = ctx.endpoint(reading.endpoint, table)
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


def _k_groups(ctx, reading, table, masks) -> tuple[float, int, int, str, dict]:
    """Chi-square on the k x 2 table, or the log-rank test, across k > 2 groups."""
    sizes = [int(m.sum()) for m in masks]
    if reading.test is Test.chi2:
        event = ctx.mask(reading.event, table)
        events = [int((m & event).sum()) for m in masks]
        cells = [(k, n - k) for k, n in zip(events, sizes)]
        p = statistics.chi2_table_p(cells) if min(sizes) else math.nan
        return p, 0, 0, " vs ".join(f"{k}/{n}" for k, n in zip(events, sizes)), {}
    time, event = ctx.endpoint(reading.endpoint, table)
    fn = statistics.logrank_p_groups_fast if ctx.fast else statistics.logrank_p_groups
    p = fn([time[m] for m in masks], [event[m] for m in masks]) if min(sizes) else math.nan
    return p, 0, 0, "n = " + " vs ".join(map(str, sizes)), {}


def _kruskal_wallis(ctx, reading, table, masks) -> tuple[float, int, int, str, dict]:
    samples = [ctx.values(reading, table, m) for m in masks]
    h, p = statistics.kruskal_wallis(samples)
    wrong_way = 0
    if reading.direction and len(samples[0]) and len(samples[1]):
        # Two groups: the first has the higher values when it wins more than
        # half of the pairs (its mean rank is the higher).
        x, y = samples
        greater = (x[:, None] > y[None, :]).sum() + 0.5 * (x[:, None] == y[None, :]).sum()
        wrong_way = int((greater > len(x) * len(y) / 2) != (reading.direction == "first_higher"))
    tied = 0 if reading.ties == "allowed" else _tied_across(samples)
    note = f"H = {h:.4g}, n = " + " vs ".join(str(len(x)) for x in samples) + \
        (f", {tied} value(s) tied across the groups" if tied else "")
    return p, wrong_way, tied, note, {}


def _tied_across(samples: list[np.ndarray]) -> int:
    """Values equal to a value of another group (what a rank test's ``ties: forbidden`` refuses).

    Examples
    --------
    >>> _tied_across([np.array([1., 2.]), np.array([2., 3.]), np.array([3., 4., 4.])])
    4
    """
    total = 0
    for i, x in enumerate(samples):
        others = np.concatenate([y for j, y in enumerate(samples) if j != i])
        total += int(np.isin(x, others).sum())
    return total


def _group_problems(reading) -> list[tuple[str, str]]:
    k = len(reading.groups or ())
    if k <= 2:
        return []
    if reading.test not in K_GROUPS:
        return [("groups", f"test '{reading.test.value}' compares two groups, this reading lists "
                           f"{k}; across k groups use {', '.join(t.value for t in K_GROUPS)}, "
                           f"or compare one group with all the others as two groups")]
    if reading.direction:
        return [("direction", f"'direction' says which of two groups is the higher; this reading "
                              f"compares {k} groups, where it has no meaning")]
    return []


def _why_not_invertible(measure: Measure, reading) -> str:
    if len(reading.groups or ()) > 2:
        return (f"a test across {len(reading.groups)} groups has no two-group table or rank sum "
                f"to enumerate: inversion lists the configurations of two groups only")
    if reading.test is Test.logrank and not measure.invertible(reading):
        return ("a log-rank p-value depends on every patient's time and event, not on a "
                "table or a rank sum: there is no finite list of configurations to "
                "enumerate")
    if not measure.invertible(reading):
        return (f"inversion enumerates the 2x2 tables and Mann-Whitney rank sums of two "
                f"groups; a {reading.test.value} p-value is neither")
    return Measure.why_not_invertible(measure, reading)


class _GroupTest(Measure):
    """What a p-value and a "no difference" share: groups compared by a test."""

    def r_lines(self, r, claim, reading):
        lines, call = r.test_call(reading, direction=isinstance(self, PValue))
        return lines + ([f".no_difference({call})"] if isinstance(self, NoDifference) else [call])

    required = ("population", "groups", "test")
    takes_groups = True
    cost = 4

    def problems(self, claim, reading, ledger) -> list[tuple[str, str]]:
        return _group_problems(reading)

    def why_not_invertible(self, reading) -> str:
        return _why_not_invertible(self, reading)


@register
class PValue(_GroupTest):
    """The p-value of a test across groups, in the direction the text gives for two groups."""

    name = "p_value"
    r_method = "the p-value of the reading's test (see TESTS)"

    def events_move(self, reading):
        return "separates" if reading.test is Test.logrank else None
    roles = frozenset({"p"})
    optional = frozenset({"event", "variable", "endpoint", "direction", "ties", "unit",
                          "rounding"})

    def compute(self, ctx, claim, reading, table) -> Computed:
        p, wrong_way, tied, note, shape = group_test(ctx, reading, table)
        return Computed({"p": p}, wrong_way + tied, note, **shape)

    def invertible(self, reading) -> bool:
        return len(reading.groups) == 2 and (reading.test in TWO_BY_TWO
                                             or reading.test in MANN_WHITNEY)

    def pinned_counts(self, claim, reading, size_of):
        # Boschloo's test is left out: enumerating its tables takes seconds.
        if not self.invertible(reading) or reading.test not in TWO_BY_TWO \
                or reading.test is Test.boschloo_exact:
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
class NoDifference(_GroupTest):
    """A test across groups the text calls not significant: p at least :data:`ALPHA`."""

    name = "no_difference"
    r_method = "the reading's test (see TESTS); holds when p >= 0.05"
    written = "test"
    optional = frozenset({"event", "variable", "endpoint", "ties", "unit"})

    def compute(self, ctx, claim, reading, table) -> Computed:
        p, _, tied, note, shape = group_test(ctx, reading, table)
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

