"""Evaluating claims on a cohort: the figure each reading computes, and whether it matches.

One code path serves the book and the search. :class:`Evaluator` computes a
reading's numbers from a cohort table (see :mod:`cart_lib.cohort`), in the
units they were printed in; :func:`matches` judges them at the printed
precision; :func:`loss` says how far a non-matching figure is from matching,
for the search to descend on. With ``fast=True`` the Kaplan-Meier median and
log-rank test use the numpy equivalents in :mod:`cart_lib.statistics`
(tested equal to lifelines), so the search can call them ~10^5 times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import cohort as cohort_mod
from . import expressions, inversion, printed, statistics
from .ledger import Claim, Ledger, Reading, Statistic, Test, expand_names
from .record import COLUMN_BY_NAME

#: Significance level behind "did not differ" and "significantly".
ALPHA = 0.05
_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


@dataclass
class Computed:
    """A reading's figure computed from a cohort.

    Attributes
    ----------
    values : dict of str to float
        The computed number for each role, in the printed units.
    violations : int
        Patients or conditions that break the reading's other requirements
        (``each``, a test's ``direction``, a ``bound``, a ``day``, or a
        significant difference where none was reported).
    note : str
        What was computed, for the reader (e.g. the 2x2 table behind a p-value).
    table : tuple of int, optional
        For a 2x2 test: the cells (a, b, c, d) behind the p-value.
    u : float, optional
        For a Mann-Whitney test: U of the first group.
    sizes : tuple of int, optional
        For a Mann-Whitney test: the sizes of the two groups.
    curve : tuple of numpy.ndarray, optional
        For a Kaplan-Meier median: the steps of the curve
        (:func:`cart_lib.statistics.km_steps`), so that :func:`loss` can see
        how far the curve is from one half at the printed median.
    sample : numpy.ndarray, optional
        For a simple median or range: the values it was computed from, so that
        :func:`loss` can count how many of them would have to change.
    """

    values: dict[str, float] = field(default_factory=dict)
    violations: int = 0
    note: str = ""
    table: tuple[int, int, int, int] | None = None
    u: float | None = None
    sizes: tuple[int, int] | None = None
    curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    sample: np.ndarray | None = None


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


@lru_cache(maxsize=None)
def _exact_ci(k: int, n: int, level: float) -> tuple[float, float]:
    # The interval depends on (k, n, level) alone; the search asks for the same ones often.
    return statistics.exact_ci(k, n, level)


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
        self.window = COLUMN_BY_NAME["cr_d30"].window_days
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

    def _endpoint(self, name: str, table: cohort_mod.Table):
        return cohort_mod.endpoint(name, table, self.ledger.rules.lfs_non_responder, self.window)

    # -------------------------------------------------------------- compute
    def compute(self, claim: Claim, reading: Reading, table: cohort_mod.Table) -> Computed:
        """Compute a reading's figure on a cohort table."""
        return self._DISPATCH[reading.statistic](self, claim, reading, table)

    def _each_violations(self, reading: Reading, hit: np.ndarray, table) -> int:
        if reading.each is None:
            return 0
        return int((hit & ~self.mask(reading.each, table)).sum())

    def _count(self, claim, reading, table) -> Computed:
        population = self.mask(reading.population, table)
        hit = population & self.mask(reading.event, table)
        k, n = int(np.count_nonzero(hit)), int(np.count_nonzero(population))
        values = {"count": k, "denominator": n, "percent": 100 * k / n if n else math.nan}
        return Computed(values, self._each_violations(reading, hit, table), f"{k}/{n}")

    def _exact_ci(self, claim, reading, table) -> Computed:
        out = self._count(claim, reading, table)
        k, n = out.values["count"], out.values["denominator"]
        level = claim.numbers()["level"].value if "level" in claim.reads else 95.0
        low, high = _exact_ci(k, n, level / 100) if n else (math.nan, math.nan)
        out.values.update(level=level, ci_low=100 * low, ci_high=100 * high)
        return out

    def _values(self, reading, table, population) -> np.ndarray:
        values = table[reading.variable][population] if reading.variable in table else \
            self.mask(reading.variable, table)[population].astype(float)
        return values[~np.isnan(values)] / reading.scale

    def _median(self, claim, reading, table) -> Computed:
        population = self.mask(reading.population, table)
        values = self._values(reading, table, population)
        if not len(values):
            return Computed({"median": math.nan, "min": math.nan, "max": math.nan}, 0,
                            "no values")
        return Computed({"median": statistics.median(values), "min": float(values.min()),
                         "max": float(values.max())}, 0, f"n = {len(values)}", sample=values)

    def _kaplan_meier(self, claim, reading, table) -> Computed:
        population = self.mask(reading.population, table)
        time, event = self._endpoint(reading.endpoint.value, table)
        time, event = time[population], event[population]
        if not len(time):
            return Computed({"median": math.nan, "min": math.nan, "max": math.nan}, 0, "no patients")
        steps = statistics.km_steps(time, event)
        median = statistics.km_median_of_steps(*steps) if self.fast else \
            statistics.km_median(time, event)
        # A curve that sits flat at exactly one half has no single median:
        # lifelines takes the time it reaches one half, R's survival package
        # the midpoint of the flat stretch. A match may not rest on either.
        flat = int(_flat_at_half(*steps))
        out = Computed({"median": median / reading.scale, "min": float(time.min()) / reading.scale,
                        "max": float(time.max()) / reading.scale}, flat,
                        f"n = {len(time)}, events = {int(event.sum())}"
                        + (", flat at one half" if flat else ""))
        out.curve = steps
        return out

    def _two_groups(self, claim, reading, table) -> tuple[float, int, int, str, dict]:
        """p, whether the direction is wrong, values tied across groups (when forbidden), note, shape."""
        population = self.mask(reading.population, table)
        first = population & self.mask(reading.groups[0], table)
        second = population & self.mask(reading.groups[1], table)
        test = reading.test
        wrong_way, tied, shape = 0, 0, {}
        if test in inversion.TWO_BY_TWO:
            event = self.mask(reading.event, table)
            a, n1 = int((first & event).sum()), int(first.sum())
            c, n2 = int((second & event).sum()), int(second.sum())
            cells = (a, n1 - a, c, n2 - c)
            p = inversion.table_p(test, *cells) if min(n1, n2) else math.nan
            if reading.direction and min(n1, n2):
                higher = a * n2 > c * n1
                wrong_way = int(higher != (reading.direction == "first_higher"))
            note, shape = f"{a}/{n1} vs {c}/{n2}", {"table": cells}
        elif test in (Test.mannwhitney_exact, Test.mannwhitney_asymptotic):
            x = self._values(reading, table, first)
            y = self._values(reading, table, second)
            method = "exact" if test is Test.mannwhitney_exact else "asymptotic"
            u, p = _mannwhitney(x, y, method) if self.fast else statistics.mannwhitney(x, y, method)
            if reading.direction and len(x) and len(y):
                higher = u > len(x) * len(y) / 2
                wrong_way = int(higher != (reading.direction == "first_higher"))
            tied = 0 if reading.ties == "allowed" else int(np.isin(x, y).sum())
            note = f"U = {u:g}, n = {len(x)} vs {len(y)}" + \
                (f", {tied} value(s) tied across the groups" if tied else "")
            shape = {"u": u, "sizes": (len(x), len(y))}
        else:
            time, event = self._endpoint(reading.endpoint.value, table)
            fn = statistics.logrank_p_fast if self.fast else statistics.logrank_p
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

    def _p_value(self, claim, reading, table) -> Computed:
        p, wrong_way, tied, note, shape = self._two_groups(claim, reading, table)
        return Computed({"p": p}, wrong_way + tied, note, **shape)

    def _no_difference(self, claim, reading, table) -> Computed:
        p, _, tied, note, shape = self._two_groups(claim, reading, table)
        return Computed({"p": p}, int(not p >= ALPHA) + tied, note, **shape)

    def _day(self, claim, reading, table) -> Computed:
        population = self.mask(reading.population, table)
        values = self._values(reading, table, population)
        target = claim.numbers()["value"].value
        # Report the patient farthest from the printed day: it matches only when
        # every patient described has that day, and its distance guides the search.
        value = float(values[np.argmax(np.abs(values - target))]) if len(values) else math.nan
        return Computed({"count": int(population.sum()), "value": value},
                        self._each_violations(reading, population, table),
                        f"days: {', '.join(f'{v:g}' for v in values) or 'none'}")

    def _bound(self, claim, reading, table) -> Computed:
        population = self.mask(reading.population, table)
        values = self._values(reading, table, population)
        bound = claim.numbers()["bound"].value
        ok = _COMPARE[reading.comparator](values, bound)
        extreme = (values.max() if reading.comparator in ("<", "<=") else values.min()) \
            if len(values) else math.nan
        return Computed({"bound": float(extreme)}, int((~ok).sum()),
                        f"{len(values)} value(s), extreme {extreme:g}")

    def _definition(self, claim, reading, table) -> Computed:
        variable = self.ledger.variables.get(reading.defines)
        window = variable.window_days if variable else COLUMN_BY_NAME[reading.defines].window_days
        return Computed({"value": window / reading.scale}, 0,
                        f"{reading.defines}: {window:g} days")

    _DISPATCH = {
        Statistic.count: _count, Statistic.exact_ci: _exact_ci, Statistic.median: _median,
        Statistic.range: _median, Statistic.km_median: _kaplan_meier,
        Statistic.p_value: _p_value, Statistic.no_difference: _no_difference,
        Statistic.day: _day, Statistic.bound: _bound, Statistic.definition: _definition,
    }

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


def _flat_at_half(times: np.ndarray, at_risk: np.ndarray, events: np.ndarray) -> bool:
    """Whether a Kaplan-Meier curve, given by its steps, sits at exactly one half somewhere.

    >>> _flat_at_half(*statistics.km_steps([1., 2., 3., 4.], [True, True, False, True]))
    True
    >>> _flat_at_half(*statistics.km_steps([1., 2., 3.], [True, True, True]))
    False
    """
    survival = np.cumprod(1.0 - events / at_risk)
    return bool(np.any(np.abs(survival - 0.5) < 1e-12))


def loss(claim: Claim, computed: Computed) -> float:
    """How far a computed figure is from the printed one: 0 exactly when it matches.

    Each number outside its rounding interval costs 1 plus its distance in a
    natural unit (one patient for counts and percentages, a tenth of a log
    unit for p-values); each violation costs 1. A simple median, minimum or
    maximum costs 1 plus the number of values that would have to change for
    it to print as printed, plus less than 1 for how far it is; a
    Kaplan-Meier median, 1 plus ten times how far the curve is from first
    falling to one half inside the printed median's rounding interval
    (:func:`_km_miss`), capped at 5; any other number, 1 plus its distance in
    a few percent of the printed value, capped at 5. Keeping every cost
    within a few units lets the search trade one unmet claim for another
    instead of being walled in by a steep one. The search minimises the sum
    over a study's claims.
    """
    total = float(computed.violations)
    convention = claim.adopted.rounding
    for role, target, step, low, high in claim.targets:
        value = computed.values.get(role, math.nan)
        margin = 1e-9 * max(1.0, abs(high))
        if low + margin < value < high - margin:
            continue                      # well inside: printed.rounds_to says so too
        if role == "median" and computed.curve is not None:
            if printed.rounds_to(value, target, step, convention):
                continue
            # A Kaplan-Meier median is the time its curve first falls to one
            # half: grade by how far the curve is from crossing one half inside
            # the printed median's rounding interval. Unlike the distance in
            # days, this moves with every death and censoring before it.
            scale = claim.adopted.scale
            total += 1.0 + min(4.0, 10.0 * _km_miss(*computed.curve, low * scale, high * scale))
            continue
        if not math.isfinite(value):
            total += 20.0
            continue
        if printed.rounds_to(value, target, step, convention):
            continue
        gap = low - value if value < low else value - high
        if role in ("count", "denominator"):
            scale = 1.0
        elif role == "percent" and computed.values.get("denominator"):
            scale = 100.0 / computed.values["denominator"]
        elif role == "p":
            total += _p_distance(claim, computed, target, step, value)
            continue
        else:
            scale = max(step, 0.02 * abs(target), 0.5)
            if computed.sample is not None and role in ("median", "min", "max"):
                total += 1.0 + _values_to_move(computed.sample, role, low, high,
                                               convention is None) \
                    + gap / (gap + 10.0 * scale)
            else:
                total += 1.0 + 4.0 * gap / (gap + 4.0 * scale)
            continue
        total += 1.0 + gap / scale
    p = computed.values.get("p", math.nan)
    if claim.adopted.statistic is Statistic.no_difference and not p >= ALPHA:
        total += 20.0 if not math.isfinite(p) else abs(math.log(max(p, 1e-12)) - math.log(ALPHA))
    return total


def _values_to_move(values: np.ndarray, role: str, low: float, high: float,
                    open_low: bool = False) -> int:
    """How many values must change for their median, minimum or maximum to lie in [low, high).

    With ``open_low`` the interval is ``(low, high)``: a value on the tie at
    ``low`` must move too. Exact for the minimum, the maximum and the median
    of an odd count; for an even count, where the median averages two
    values, a close estimate (at least 1).
    """
    below = int((values <= low).sum() if open_low else (values < low).sum())
    above = int((values >= high).sum())
    n = len(values)
    if role == "min":
        return below if below else 1          # raise every value below, or lower one
    if role == "max":
        return above if above else 1
    half = (n - 1) // 2                       # values allowed on either side of the median
    return max(1, below - half, above - half)


def _km_miss(times: np.ndarray, at_risk: np.ndarray, events: np.ndarray,
             low: float, high: float) -> float:
    """How far a Kaplan-Meier curve is from first falling to one half in ``[low, high)``.

    The curve is given by its steps (:func:`cart_lib.statistics.km_steps`).
    Zero when it is still above one half before ``low`` and at most one
    half before ``high``; otherwise the distance of the offending value from
    one half.

    Examples
    --------
    >>> steps = statistics.km_steps([1., 2., 3., 4.], [True, True, True, True])
    >>> _km_miss(*steps, 2, 3)                    # S = 3/4 before 2, 1/2 before 3
    0.0
    >>> _km_miss(*steps, 1, 2)                    # S is still 3/4 before 2
    0.25
    """
    survival = np.cumprod(1.0 - events / at_risk)
    before = np.searchsorted(times, [low, high])             # distinct times < low, < high
    before_low, before_high = (survival[k - 1] if k else 1.0 for k in before)
    return float(max(0.0, before_high - 0.5) + max(0.0, 0.5 - before_low))


def _p_distance(claim: Claim, computed: Computed, target: float, step: float,
                value: float) -> float:
    """Cost of a p-value that does not print as claimed: patients to the nearest feasible table.

    Inversion (:mod:`cart_lib.inversion`) lists the 2x2 tables, or the U
    values, that print as the claim; the distance to the nearest is a far
    better guide for the search than the distance in p.
    """
    reading = claim.adopted
    if computed.table is not None:
        a, b, c, d = computed.table
        feasible = inversion.feasible_tables(reading.test, reading.direction, target, step,
                                             a + b, c + d)
        if not feasible:
            feasible = inversion.feasible_tables_any_split(reading.test, reading.direction,
                                                           target, step, a + b + c + d)
        return 1.0 + min(inversion.table_distance(computed.table, feasible), 20.0)
    if computed.u is not None:
        a, b = computed.sizes
        feasible = inversion.feasible_u(reading.test, reading.direction, target, step, a, b)
        if not feasible:
            return 20.0
        gap = min(abs(computed.u - u) for u in feasible)
        return 0.5 if gap == 0 else 1.0 + gap / 3.0   # 0.5: right U, but ties move p
    gap = abs(math.log(max(value, 1e-12)) - math.log(max(target, 1e-12)))
    return 1.0 + gap / 0.1


def reproduced_text(claim: Claim, reading: Reading, computed: Computed) -> str:
    """The computed figure, written the way the claim's figure was printed."""
    stat = reading.statistic
    if stat is Statistic.no_difference:
        p = computed.values.get("p", math.nan)
        return f"p = {printed.fmt(p, 3)} ({reading.test.value})"
    if stat is Statistic.bound:
        return f"{claim.printed} [extreme {printed.fmt(computed.values['bound'], 1)}]"
    values = [computed.values.get(role, math.nan) for role in claim.reads]
    return printed.rewrite(claim.printed, values)
