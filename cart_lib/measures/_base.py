"""What every measure shares: the computed figure, the registry, and the default loss."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..stats import inversion
from ..core import printed

if TYPE_CHECKING:   # the ledger reads this package: its types are for annotations only
    from ..ledger import Claim, Reading

#: Significance level behind "did not differ" and "significantly".
ALPHA = 0.05


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
        (:func:`cart_lib.stats.statistics.km_steps`), so that the loss can see
        how far the curve is from one half at the printed median.
    sample : numpy.ndarray, optional
        For a simple median or range: the values it was computed from, so that
        the loss can count how many of them would have to change.
    """

    values: dict[str, float] = field(default_factory=dict)
    violations: int = 0
    note: str = ""
    table: tuple[int, int, int, int] | None = None
    u: float | None = None
    sizes: tuple[int, int] | None = None
    curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    sample: np.ndarray | None = None


class Measure:
    """One statistic a reading can compute: its fields, computation, loss, inversion and audit facts.

    A statistic is a subclass in its own module under :mod:`cart_lib.measures`,
    registered with :func:`register`. The ledger checks readings against
    :attr:`roles`, :attr:`required` and :attr:`optional`; the evaluator calls
    :meth:`compute`; the search weighs the claim by :attr:`cost` and descends
    on :meth:`loss`; claim inversion calls :meth:`invert`; the audit reads
    the counts a claim prints from :meth:`printed_counts`.

    The ``ctx`` given to :meth:`compute` is the evaluator
    (:class:`cart_lib.evaluate.Evaluator`): ``ctx.mask(expr, table)``,
    ``ctx.values(reading, table, population)``, ``ctx.endpoint(name, table)``,
    ``ctx.each_violations(reading, hit, table)``, ``ctx.ledger`` and
    ``ctx.fast``.
    """

    #: The statistic's name in ledgers (``statistic: <name>``).
    name: ClassVar[str]
    #: The roles a printed number can play for it.
    roles: ClassVar[frozenset[str]] = frozenset()
    #: Roles printed as percentages (with a '%' sign).
    percent_roles: ClassVar[frozenset[str]] = frozenset({"percent", "level", "ci_low", "ci_high"})
    #: Reading fields it needs.
    required: ClassVar[tuple[str, ...]] = ()
    #: Reading fields it may read beyond the required ones; any other is refused.
    optional: ClassVar[frozenset[str]] = frozenset()
    #: Whether a reading compares groups (``groups``); otherwise it takes one population.
    takes_groups: ClassVar[bool] = False
    #: Weight of the claim's objective in the search (harder figures weigh more).
    cost: ClassVar[int] = 1
    #: Whether the claim's percentage is k/n of the population, checked against its sizes.
    proportion: ClassVar[bool] = False
    #: Whether the claim is an objective of the search (a definition is not).
    searched: ClassVar[bool] = True
    #: How its reproduced figure is written: ``figure`` (the printed text with the computed
    #: numbers), ``bound`` (the printed text and the extreme value), ``test`` (a p-value).
    written: ClassVar[str] = "figure"
    #: Whether the search's numpy computation can differ from the book's in the last bits.
    fast_differs: ClassVar[bool] = False

    # ------------------------------------------------------------ checking
    def problems(self, claim: Claim, reading: Reading, ledger) -> list[tuple[str, str]]:
        """What is wrong with a reading beyond its fields: ``(field, problem)`` pairs."""
        return []

    # ------------------------------------------------------------ computing
    def compute(self, ctx, claim: Claim, reading: Reading, table) -> Computed:
        """The reading's figure on a cohort table."""
        raise NotImplementedError

    def reproduced(self, claim: Claim, reading: Reading, computed: Computed) -> str:
        """The computed figure, written the way the claim's figure was printed."""
        values = [computed.values.get(role, math.nan) for role in claim.reads]
        return printed.rewrite(claim.printed, values)

    # ------------------------------------------------------------ searching
    def loss(self, claim: Claim, computed: Computed) -> float:
        """How far a computed figure is from the printed one: 0 exactly when it matches.

        Each number outside its rounding interval costs 1 plus its distance
        in a natural unit (one patient for counts and percentages, a tenth
        of a log unit for p-values); each violation costs 1. A simple
        median, minimum or maximum costs 1 plus the number of values that
        would have to change for it to print as printed, plus less than 1
        for how far it is; a Kaplan-Meier median, 1 plus ten times how far
        the curve is from first falling to one half inside the printed
        median's rounding interval (:func:`km_miss`), capped at 5; any other
        number, 1 plus its distance in a few percent of the printed value,
        capped at 5. Keeping every cost within a few units lets the search
        trade one unmet claim for another instead of being walled in by a
        steep one. The search minimises the sum over a study's claims.
        """
        return role_loss(claim, computed)

    def events_move(self, reading: Reading) -> str | None:
        """How events in time move the figure, for the search's survival moves
        (:mod:`cart_lib.reconstruct.survival`): ``falls`` (a survival rate: one
        more event before the landmark lowers it), ``rises`` (an incidence),
        ``separates`` (a test between groups), or None."""
        return None

    # ------------------------------------------------------------ inverting
    def invertible(self, reading: Reading) -> bool:
        """Whether inversion enumerates what the figure admits under this reading."""
        return False

    def why_not_invertible(self, reading: Reading) -> str:
        """Why inversion does not apply ('' when it does)."""
        if self.invertible(reading):
            return ""
        return f"inversion knows no {self.name} ({reading.test.value if reading.test else ''})"

    def invert(self, claim: Claim, reading: Reading, out, n1: int, n2: int | None,
               any_split: bool):
        """Fill ``out`` (:class:`cart_lib.stats.inversion.ReadingInversion`) at given sizes."""
        raise NotImplementedError(f"{self.name} cannot be inverted")

    # ------------------------------------------------------------ R
    #: How R computes it, for the R check's comments and README (:mod:`cart_lib.analysis.rscript`).
    r_method: ClassVar[str] = ""
    #: Why R does not compute it, when it does not.
    r_skip: ClassVar[str] = ""
    #: R functions its lines call that the script's prelude does not define.
    r_helpers: ClassVar[str] = ""
    #: R packages beyond base R and survival that its lines need, as ``(package, Debian package)``.
    r_packages: ClassVar[tuple[tuple[str, str], ...]] = ()

    def r_lines(self, r, claim: Claim, reading: Reading) -> list[str]:
        """R lines after ``pop <- <population mask>``, the last one the figure's result.

        ``r`` is the R check's writer: ``r.mask(expr)``, ``r.values(reading,
        pop)``, ``r.each(reading)``, ``r.direction(reading)``,
        ``r.string(text)``, ``r.number(x)`` and ``r.test_call(reading,
        direction)`` give R text.
        """
        raise NotImplementedError(f"no R for statistic {self.name}")

    # ------------------------------------------------------------ auditing
    def printed_counts(self, claim: Claim, reading: Reading) -> list[tuple[tuple, int]]:
        """Patient counts the figure prints: ``((population, event, ...), count)`` pairs.

        Each key lists the expressions whose conjunction selects the patients counted.
        """
        return []

    def pinned_counts(self, claim: Claim, reading: Reading, size_of) -> list[tuple[tuple, int]]:
        """Counts the figure pins down on its own, given ``size_of(*expressions)`` (None if unknown).

        For example an interval printed without its count, when only one
        count of the population's size prints as it.
        """
        return []

    def time_span(self, claim: Claim, reading: Reading,
                  holds: dict[str, tuple[float, float]]) -> dict | None:
        """What the figure says about times, in record days, for the audit's time checks.

        ``holds`` gives each role's rounding interval in days. Returns the
        fields of :class:`cart_lib.evaluate.audit.Span` it fixes (``low``, ``high``,
        ``median``, ``single``, ``each``, ``bound``), or None.
        """
        return None


#: Every statistic, by name, in the order registered.
MEASURES: dict[str, Measure] = {}


def register(cls: type[Measure]) -> type[Measure]:
    """Class decorator: add a statistic to :data:`MEASURES` under its name."""
    if cls.name in MEASURES:
        raise ValueError(f"statistic {cls.name!r} is registered twice")
    MEASURES[cls.name] = cls()
    return cls


# ---------------------------------------------------------------- the default loss

def role_loss(claim: Claim, computed: Computed) -> float:
    """The loss of :meth:`Measure.loss`, role by role."""
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
            total += 1.0 + min(4.0, 10.0 * km_miss(*computed.curve, low * scale, high * scale))
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
            total += p_distance(claim, computed, target, step, value)
            continue
        else:
            scale = max(step, 0.02 * abs(target), 0.5)
            if computed.sample is not None and role in ("median", "min", "max"):
                total += 1.0 + values_to_move(computed.sample, role, low, high,
                                              convention is None) \
                    + gap / (gap + 10.0 * scale)
            else:
                total += 1.0 + 4.0 * gap / (gap + 4.0 * scale)
            continue
        total += 1.0 + gap / scale
    return total


def values_to_move(values: np.ndarray, role: str, low: float, high: float,
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


def km_miss(times: np.ndarray, at_risk: np.ndarray, events: np.ndarray,
            low: float, high: float) -> float:
    """How far a Kaplan-Meier curve is from first falling to one half in ``[low, high)``.

    The curve is given by its steps (:func:`cart_lib.stats.statistics.km_steps`).
    Zero when it is still above one half before ``low`` and at most one
    half before ``high``; otherwise the distance of the offending value from
    one half.

    Examples
    --------
    >>> from cart_lib.stats import statistics
    >>> steps = statistics.km_steps([1., 2., 3., 4.], [True, True, True, True])
    >>> km_miss(*steps, 2, 3)                    # S = 3/4 before 2, 1/2 before 3
    0.0
    >>> km_miss(*steps, 1, 2)                    # S is still 3/4 before 2
    0.25
    """
    survival = np.cumprod(1.0 - events / at_risk)
    before = np.searchsorted(times, [low, high])             # distinct times < low, < high
    before_low, before_high = (survival[k - 1] if k else 1.0 for k in before)
    return float(max(0.0, before_high - 0.5) + max(0.0, 0.5 - before_low))


def p_distance(claim: Claim, computed: Computed, target: float, step: float,
               value: float) -> float:
    """Cost of a p-value that does not print as claimed: patients to the nearest feasible table.

    Inversion (:mod:`cart_lib.stats.inversion`) lists the 2x2 tables, or the U
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
