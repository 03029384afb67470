"""Statistics the book's evaluators use to recompute published numbers.

Every public function here is a thin wrapper over the reference
implementation in scipy or lifelines, with one documented answer for the
degenerate inputs that a search over reconstructed pseudo-cohorts produces
all the time (empty groups, zero margins, no events). Three functions,
:func:`km_median_fast`, :func:`logrank_p_fast` and
:func:`logrank_p_groups_fast`, re-implement a lifelines result in plain numpy
because the search loop calls them about 10^5 times and lifelines spends most
of each call building pandas tables; the test suite checks them against
lifelines on thousands of random data sets.

Conventions
-----------
* Inputs are numpy arrays (or sequences) and ints; every result is a plain
  Python ``float`` or a tuple of them, never a numpy scalar, so that results
  compare, hash and print the same everywhere.
* A 2x2 table ``(a, b, c, d)`` means ``[[a, b], [c, d]]`` with the two groups
  as rows and "event yes / event no" as columns; a k x 2 table has the k
  groups as rows, the same columns.
* Tests across k >= 2 groups (:func:`chi2_table_p`, :func:`kruskal_wallis`,
  :func:`logrank_p_groups`) take one sample, or one row, per group.
* No warning reaches stderr: inputs for which scipy or lifelines would warn
  are answered here before the library is called, and nothing is silenced
  globally. lifelines' Kaplan-Meier fitter itself calls ``np.seterr`` to
  ignore divide/invalid errors process-wide; the wrappers run it inside
  ``np.errstate()`` so that change is undone on return.
* Nothing here knows about any particular study.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from scipy import special, stats

__all__ = [
    "exact_ci",
    "fisher_p",
    "chi2_p",
    "chi2_table_p",
    "boschloo_p",
    "mannwhitney",
    "mannwhitney_exact_ties",
    "kruskal_wallis",
    "km_median",
    "km_median_fast",
    "logrank_p",
    "logrank_p_fast",
    "logrank_observed_minus_expected",
    "logrank_p_groups",
    "logrank_p_groups_fast",
    "median",
]

_ALTERNATIVES = ("two-sided", "less", "greater")


def exact_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson ("exact") confidence interval for a binomial proportion.

    Parameters
    ----------
    k : int
        Number of successes, ``0 <= k <= n``.
    n : int
        Number of trials; must be positive.
    level : float, optional
        Confidence level, default 0.95.

    Returns
    -------
    tuple of float
        ``(lower, upper)`` as proportions in [0, 1] (not percentages).

    Raises
    ------
    ValueError
        If ``n <= 0`` (a proportion of nothing has no interval), or if ``k``
        is outside ``0..n``.

    Examples
    --------
    >>> lo, hi = exact_ci(15, 17)
    >>> f"{100 * lo:.1f}-{100 * hi:.1f}%"
    '63.6-98.5%'
    >>> exact_ci(11, 11)[1]
    1.0
    """
    k, n = int(k), int(n)
    if n <= 0:
        raise ValueError(f"exact_ci needs n > 0 trials, got n={n}")
    if not 0 <= k <= n:
        raise ValueError(f"exact_ci needs 0 <= k <= n, got k={k}, n={n}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def _table(a, b, c, d) -> tuple[int, int, int, int]:
    # Normalise to Python ints first so that 3, np.int64(3) and 3.0 share one
    # cache entry, and so a negative count fails loudly instead of being cached.
    cells = tuple(int(x) for x in (a, b, c, d))
    if min(cells) < 0:
        raise ValueError(f"2x2 table cells must be non-negative counts, got {cells}")
    return cells  # type: ignore[return-value]


def _zero_margin(a: int, b: int, c: int, d: int) -> bool:
    return 0 in (a + b, c + d, a + c, b + d)


def fisher_p(a, b, c, d, alternative: str = "two-sided") -> float:
    """Fisher's exact test p-value for the 2x2 table ``[[a, b], [c, d]]``.

    Rows are the two groups, columns are "event yes" / "event no". Results are
    memoized because a search over pseudo-cohorts revisits the same tables.

    Parameters
    ----------
    a, b, c, d : int
        Cell counts: group 1 with / without the event, group 2 with / without.
    alternative : {"two-sided", "less", "greater"}, optional
        As in :func:`scipy.stats.fisher_exact`; "greater" means the odds of
        the event are higher in group 1.

    Returns
    -------
    float
        The p-value. A table with a zero margin carries no information about
        association and scipy returns 1.0 for it.

    Examples
    --------
    Fisher's tea-tasting experiment (p = 34/70 two-sided, 17/70 one-sided):

    >>> round(fisher_p(3, 1, 1, 3), 4)
    0.4857
    >>> round(fisher_p(3, 1, 1, 3, alternative="greater"), 4)
    0.2429
    """
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")
    return _fisher_p(*_table(a, b, c, d), alternative)


@functools.lru_cache(maxsize=None)
def _fisher_p(a: int, b: int, c: int, d: int, alternative: str) -> float:
    return float(stats.fisher_exact([[a, b], [c, d]], alternative=alternative).pvalue)


def chi2_p(a, b, c, d, correction: bool) -> float:
    """Pearson chi-square test p-value for the 2x2 table ``[[a, b], [c, d]]``.

    Parameters
    ----------
    a, b, c, d : int
        Cell counts, groups as rows, event yes / no as columns.
    correction : bool
        Apply Yates' continuity correction (as ``scipy.stats.chi2_contingency``
        does for one degree of freedom).

    Returns
    -------
    float
        The p-value from :func:`scipy.stats.chi2_contingency`. When a row or
        column margin is zero some expected count is zero, the statistic is
        0/0 and scipy raises; such a table (e.g. nobody in either group had
        the event) gives no evidence of association, so 1.0 is returned.

    Examples
    --------
    Expected counts 40/3, 20/3, 50/3, 25/3 give a statistic of exactly 4.5:

    >>> round(chi2_p(10, 10, 20, 5, correction=False), 4)
    0.0339
    >>> chi2_p(0, 7, 0, 9, correction=True)
    1.0
    """
    return _chi2_p(*_table(a, b, c, d), bool(correction))


@functools.lru_cache(maxsize=None)
def _chi2_p(a: int, b: int, c: int, d: int, correction: bool) -> float:
    if _zero_margin(a, b, c, d):
        return 1.0
    res = stats.chi2_contingency([[a, b], [c, d]], correction=correction)
    return float(res.pvalue)


def chi2_table_p(table) -> float:
    """Pearson chi-square test p-value for an r x c table, without continuity correction.

    Parameters
    ----------
    table : array_like of int
        Cell counts, one row per group (for a test across k groups, the
        k x 2 table of group by event yes / no).

    Returns
    -------
    float
        ``scipy.stats.chi2_contingency(table, correction=False).pvalue``, on
        (r - 1)(c - 1) degrees of freedom. Yates' correction is for 2x2 tables
        only (:func:`chi2_p`). A table with a zero row or column margin has a
        zero expected count (scipy raises); it gives no evidence of
        association, so 1.0 is returned, as :func:`chi2_p` does.

    Examples
    --------
    A 2x2 table gives :func:`chi2_p`'s answer:

    >>> chi2_table_p([[10, 10], [20, 5]]) == chi2_p(10, 10, 20, 5, correction=False)
    True
    >>> round(chi2_table_p([[8, 9], [1, 10], [5, 5]]), 4)
    0.0763
    >>> chi2_table_p([[0, 7], [0, 9], [0, 3]])
    1.0
    """
    cells = np.asarray(table)
    if cells.ndim != 2 or min(cells.shape) < 2:
        raise ValueError(f"a contingency table needs at least 2 rows and 2 columns, "
                         f"got shape {cells.shape}")
    rows = tuple(tuple(int(x) for x in row) for row in cells)
    if min(min(row) for row in rows) < 0:
        raise ValueError(f"table cells must be non-negative counts, got {rows}")
    return _chi2_table_p(rows)


@functools.lru_cache(maxsize=None)
def _chi2_table_p(rows: tuple[tuple[int, ...], ...]) -> float:
    cells = np.array(rows)
    if (cells.sum(axis=0) == 0).any() or (cells.sum(axis=1) == 0).any():
        return 1.0
    return float(stats.chi2_contingency(cells, correction=False).pvalue)


def boschloo_p(a, b, c, d) -> float:
    """Boschloo's exact test (two-sided) for the 2x2 table ``[[a, b], [c, d]]``.

    Parameters
    ----------
    a, b, c, d : int
        Cell counts, groups as rows, event yes / no as columns.

    Returns
    -------
    float
        ``scipy.stats.boschloo_exact(...).pvalue`` with ``alternative="two-sided"``
        (scipy's convention: twice the smaller one-sided p-value, at most 1).
        A table with a zero margin gives no evidence of association and
        returns 1.0 (scipy would return nan for some of them).

    Notes
    -----
    Boschloo's test treats the group sizes as fixed and maximises over the
    common event probability. scipy takes each *column* of its table to be one
    binomial sample, whereas this module puts the groups in *rows*, so the
    table is passed to scipy transposed. Unlike Fisher's test the result is
    not invariant under transposition.

    Examples
    --------
    >>> round(boschloo_p(3, 1, 1, 3), 4)
    0.2891
    >>> boschloo_p(0, 5, 0, 4)
    1.0
    """
    return _boschloo_p(*_table(a, b, c, d))


@functools.lru_cache(maxsize=None)
def _boschloo_p(a: int, b: int, c: int, d: int) -> float:
    if _zero_margin(a, b, c, d):
        return 1.0
    res = stats.boschloo_exact([[a, c], [b, d]], alternative="two-sided")
    return float(res.pvalue)


def mannwhitney(x, y, method: str) -> tuple[float, float]:
    """Mann-Whitney U test, two-sided.

    Parameters
    ----------
    x, y : array_like
        The two samples.
    method : {"exact", "asymptotic"}
        "exact" uses the permutation distribution of U (no tie correction);
        "asymptotic" the normal approximation with tie-corrected variance and
        a continuity correction.

    Returns
    -------
    tuple of float
        ``(U, p)`` where U is the statistic of ``x`` (the number of pairs with
        x above y, ties counting one half). ``(nan, nan)`` if either sample is
        empty, since there is nothing to compare.

    Examples
    --------
    Three against three with complete separation, exact two-sided p = 2/20:

    >>> u, p = mannwhitney([1, 2, 3], [4, 5, 6], method="exact")
    >>> u, round(p, 4)
    (0.0, 0.1)
    """
    if method not in ("exact", "asymptotic"):
        raise ValueError(f"method must be 'exact' or 'asymptotic', got {method!r}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size == 0 or y.size == 0:
        return math.nan, math.nan
    if method == "exact" and np.unique(np.concatenate([x, y])).size < x.size + y.size:
        return mannwhitney_exact_ties(x, y)
    res = stats.mannwhitneyu(x, y, alternative="two-sided", method=method,
                             use_continuity=True)
    return float(res.statistic), float(res.pvalue)


def mannwhitney_exact_ties(x, y) -> tuple[float, float]:
    """Mann-Whitney U test, two-sided, exact under ties (the permutation distribution of midranks).

    scipy's ``method="exact"`` uses the distribution of U without ties
    whatever the data, and R's ``wilcox.test`` falls back to the normal
    approximation when there are ties; neither is exact for tied data. The
    exact conditional distribution is that of the sum of the midranks of a
    random subset of ``len(x)`` of the pooled values. It is counted here by
    dynamic programming over doubled midranks (whole numbers), which takes
    ``O(n m N^2)`` steps where enumerating the subsets (what
    ``scipy.stats.permutation_test`` would do) takes ``C(N, m)``: about
    2 x 10^7 for 28 patients in groups of 17 and 11. The two-sided p-value is
    twice the smaller tail, capped at 1, as scipy's exact method computes it.

    Returns
    -------
    tuple of float
        ``(U, p)``, U the statistic of ``x`` (ties counting one half).

    Examples
    --------
    Without ties it is scipy's exact test:

    >>> round(mannwhitney_exact_ties([1, 2, 3], [4, 5, 6])[1], 4)
    0.1
    >>> u, p = mannwhitney_exact_ties([1, 2, 2], [2, 3, 4])
    >>> u, round(p, 4)
    (1.0, 0.3)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    m, n = x.size, y.size
    if m == 0 or n == 0:
        return math.nan, math.nan
    pooled = np.concatenate([x, y])
    doubled = np.rint(2 * stats.rankdata(pooled)).astype(np.int64)
    top = int(doubled.sum())
    # ways[k, s]: subsets of k of the values seen so far whose doubled ranks sum to s.
    ways = np.zeros((m + 1, top + 1))
    ways[0, 0] = 1.0
    for r in doubled:
        ways[1:, r:] += ways[:-1, :top + 1 - r].copy()
    dist = ways[m]
    observed = int(doubled[:m].sum())
    total = dist.sum()
    lower, upper = dist[:observed + 1].sum() / total, dist[observed:].sum() / total
    u = (observed / 2.0) - m * (m + 1) / 2.0
    return float(u), float(min(1.0, 2.0 * min(lower, upper)))


def kruskal_wallis(samples) -> tuple[float, float]:
    """Kruskal-Wallis rank test across k >= 2 samples.

    Parameters
    ----------
    samples : sequence of array_like
        One sample per group.

    Returns
    -------
    tuple of float
        ``(H, p)`` from :func:`scipy.stats.kruskal`: H corrected for ties, p
        from the chi-square distribution on k - 1 degrees of freedom (as R's
        ``kruskal.test``). ``(nan, nan)`` if a sample is empty; when every
        value is the same, H is 0/0 (scipy warns and returns nan) and there
        is no evidence of a difference: ``(0.0, 1.0)``.

    Raises
    ------
    ValueError
        With fewer than two samples.

    Examples
    --------
    R's ``kruskal.test`` help page (Hollander & Wolfe 1973, p. 116):

    >>> h, p = kruskal_wallis([[2.9, 3.0, 2.5, 2.6, 3.2], [3.8, 2.7, 4.0, 2.4],
    ...                        [2.8, 3.4, 3.7, 2.2, 2.0]])
    >>> round(h, 4), round(p, 2)
    (0.7714, 0.68)
    >>> kruskal_wallis([[1, 1], [1], [1, 1]])
    (0.0, 1.0)
    """
    groups = [np.asarray(x, dtype=float).ravel() for x in samples]
    if len(groups) < 2:
        raise ValueError(f"the Kruskal-Wallis test needs at least 2 samples, got {len(groups)}")
    if min(g.size for g in groups) == 0:
        return math.nan, math.nan
    pooled = np.concatenate(groups)
    if (pooled == pooled[0]).all():
        return 0.0, 1.0
    res = stats.kruskal(*groups)
    return float(res.statistic), float(res.pvalue)


def km_median(time, event) -> float:
    """Kaplan-Meier median survival time, computed by lifelines.

    Parameters
    ----------
    time : array_like
        Follow-up times (finite).
    event : array_like
        1 (or True) if the event was observed at ``time``, 0 if censored.

    Returns
    -------
    float
        ``KaplanMeierFitter().fit(time, event).median_survival_time_``: the
        first time at which lifelines' computed S(t) is <= 0.5; ``inf`` when
        the curve never gets that low; ``nan`` for empty input (lifelines
        would raise).

    Examples
    --------
    >>> km_median([1, 2, 3, 4, 5], [1, 1, 1, 1, 1])
    3.0
    >>> km_median([1, 2, 3], [1, 0, 0])
    inf
    """
    time = np.asarray(time, dtype=float)
    if time.size == 0:
        return math.nan
    # errstate() restores numpy's error settings on exit: lifelines' fit calls
    # np.seterr(divide="ignore", invalid="ignore") and would otherwise leave
    # it switched off for the whole process.
    with np.errstate():
        kmf = KaplanMeierFitter().fit(time, np.asarray(event))
        return float(kmf.median_survival_time_)


def _event_flags(event, n: int) -> np.ndarray:
    # lifelines casts flags with astype(int) before testing them, so 0.5 counts
    # as censored there; doing the same keeps the fast paths identical.
    e = np.asarray(event)
    if e.shape != (n,):
        raise ValueError(f"time and event must have the same length, got {n} and {e.size}")
    return e.astype(int) != 0


def km_median_fast(time, event) -> float:
    """Kaplan-Meier median in numpy, returning exactly what :func:`km_median` does.

    Parameters
    ----------
    time : array_like
        Follow-up times (finite).
    event : array_like
        1 (or True) if the event was observed at ``time``, 0 if censored.

    Returns
    -------
    float
        The first distinct time at which the Kaplan-Meier estimate S(t) is
        <= 0.5; ``inf`` if S never gets that low (e.g. all censored); ``nan``
        for empty input.

    Notes
    -----
    Matches lifelines bit for bit, including its floating-point quirk.
    lifelines computes S(t) as ``exp(cumsum(log(n - d) - log(n)))``, not as a
    product of fractions, so where S is exactly 1/2 in exact arithmetic the
    computed value may be 0.5000000000000001; lifelines then reports the
    *next* event time (for 6 distinct deaths: 4, not 3). The same arithmetic
    is used here. Censorings tied with events at the same time leave the risk
    set after the events (the usual convention), and S is evaluated only at
    distinct observed times, so the median is always an event time. Note this
    is not the R ``survfit`` convention, which averages the two times when S
    equals 0.5 exactly over an interval.

    Examples
    --------
    >>> km_median_fast([1, 2, 3, 4, 5], [1, 1, 1, 1, 1])
    3.0
    >>> km_median_fast([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1])  # S(3) = 0.5000000000000001
    4.0
    >>> km_median_fast([1, 2, 3], [0, 0, 0])
    inf
    """
    if np.size(time) == 0:
        return math.nan
    return km_median_of_steps(*km_steps(time, event))


def km_median_of_steps(times: np.ndarray, at_risk: np.ndarray, deaths: np.ndarray) -> float:
    """:func:`km_median_fast` from the curve's steps (:func:`km_steps`).

    Examples
    --------
    >>> km_median_of_steps(*km_steps([1, 2, 3, 4, 5], [1, 1, 1, 1, 1]))
    3.0
    """
    # log(0) = -inf is the right answer once the whole risk set has died
    # (S drops to 0); written in, so that numpy has nothing to warn about.
    left = at_risk - deaths
    log_left = np.log(left, where=left > 0, out=np.full_like(left, -np.inf))
    s = np.exp(np.cumsum(log_left - np.log(at_risk)))
    if s[-1] > 0.5:
        return math.inf
    return float(times[np.argmax(s <= 0.5)])


def km_steps(time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The steps of a Kaplan-Meier curve: each distinct time, those at risk, the events.

    Parameters
    ----------
    time : array_like
        Follow-up times (finite, at least one).
    event : array_like
        1 (or True) if the event was observed at ``time``, 0 if censored.

    Returns
    -------
    times, at_risk, events : numpy.ndarray
        The distinct observed times in increasing order, how many patients
        were still followed at each (time >= it), and how many events fell on
        it; all float.

    Examples
    --------
    >>> [a.tolist() for a in km_steps([2, 1, 2, 3], [1, 0, 1, 0])]
    [[1.0, 2.0, 3.0], [4.0, 3.0, 1.0], [0.0, 2.0, 0.0]]
    """
    t = np.asarray(time, dtype=float).ravel()
    n = t.size
    e = _event_flags(event, n)
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ts[1:], ts[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return ts[starts], (n - starts).astype(float), np.add.reduceat(es.astype(float), starts)


def logrank_p(time_a, event_a, time_b, event_b) -> float:
    """Two-sample log-rank test p-value, computed by lifelines.

    Parameters
    ----------
    time_a, event_a : array_like
        Times and event flags (1 event, 0 censored) of group A.
    time_b, event_b : array_like
        The same for group B.

    Returns
    -------
    float
        ``lifelines.statistics.logrank_test(...).p_value`` (chi-square, 1 df).
        With no events at all, or no event time at which both groups are at
        risk, the variance is zero; lifelines then uses a zero statistic and
        returns 1.0. If either group is empty lifelines returns nan, and so
        does this function (without calling it).

    Examples
    --------
    Two events in A (times 1, 2) before any in B: O - E = 7/6, V = 17/36,
    chi-square = 49/17:

    >>> round(logrank_p([1, 2], [1, 1], [3, 4], [1, 1]), 4)
    0.0896
    >>> logrank_p([1, 2], [0, 0], [3, 4], [0, 0])
    1.0
    """
    ta, tb = np.asarray(time_a, dtype=float), np.asarray(time_b, dtype=float)
    if ta.size == 0 or tb.size == 0:
        return math.nan
    with np.errstate():
        res = logrank_test(ta, tb, event_observed_A=np.asarray(event_a),
                           event_observed_B=np.asarray(event_b))
    return float(res.p_value)


def logrank_p_fast(time_a, event_a, time_b, event_b) -> float:
    """Two-sample log-rank test p-value in numpy; agrees with :func:`logrank_p`.

    Parameters
    ----------
    time_a, event_a : array_like
        Times and event flags (1 event, 0 censored) of group A.
    time_b, event_b : array_like
        The same for group B.

    Returns
    -------
    float
        The p-value of ``(O_A - E_A)^2 / V`` on a chi-square with 1 df, where
        at each distinct time with ``d`` events among ``n`` at risk (``n_A``,
        ``n_B`` per group) ``E_A += d n_A / n`` and
        ``V += d n_A n_B (n - d) / (n^2 (n - 1))``. When ``V == 0`` (no events
        at all, or every event happens while only one group is at risk) the
        statistic is 0/0; lifelines treats it as 0 and returns p = 1.0, and
        so does this function. nan if either group is empty, as lifelines.

    Notes
    -----
    Agrees with lifelines to about 1e-12 relative; summation order differs,
    so the two are not bit-identical.

    Examples
    --------
    Two events in A (times 1, 2) before any in B: O - E = 7/6, V = 17/36,
    chi-square = 49/17:

    >>> round(logrank_p_fast([1, 2], [1, 1], [3, 4], [1, 1]), 4)
    0.0896
    >>> logrank_p_fast([1, 2], [0, 0], [3, 4], [0, 0])
    1.0
    """
    parts = _logrank_parts(time_a, event_a, time_b, event_b)
    if parts is None:
        return math.nan
    observed_minus_expected, variance = parts
    if variance <= 0.0:
        return 1.0
    chi2 = observed_minus_expected**2 / variance
    # Survival function of chi-square(1) at x is erfc(sqrt(x / 2)); math.erfc
    # avoids the per-call overhead of scipy.stats.chi2.sf.
    return float(math.erfc(math.sqrt(chi2 / 2.0)))


def logrank_observed_minus_expected(time_a, event_a, time_b, event_b) -> float:
    """Observed minus expected events of group A in the log-rank test.

    Positive when group A has more events than it would under equal hazards
    (its event rate is the higher), negative when fewer; nan if either group
    is empty. lifelines does not report it; this is the numerator of the
    statistic :func:`logrank_p_fast` computes (``O_A - E_A`` in its notes).

    Examples
    --------
    >>> round(logrank_observed_minus_expected([1, 2], [1, 1], [3, 4], [1, 1]), 4)
    1.1667
    """
    parts = _logrank_parts(time_a, event_a, time_b, event_b)
    return math.nan if parts is None else float(parts[0])


def _logrank_parts(time_a, event_a, time_b, event_b) -> tuple[float, float] | None:
    """``(O_A - E_A, V)`` of the two-sample log-rank test; None if either group is empty."""
    ta = np.asarray(time_a, dtype=float).ravel()
    tb = np.asarray(time_b, dtype=float).ravel()
    na, nb = ta.size, tb.size
    if na == 0 or nb == 0:
        return None
    n = na + nb
    e = np.concatenate([_event_flags(event_a, na), _event_flags(event_b, nb)])
    if not e.any():
        return 0.0, 0.0
    in_a = np.zeros(n, dtype=bool)
    in_a[:na] = True
    t = np.concatenate([ta, tb])
    order = np.argsort(t, kind="stable")
    ts, es, sorted_in_a = t[order], e[order].astype(float), in_a[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ts[1:], ts[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    # Numbers at risk just before each distinct time: those not yet removed.
    at_risk = (n - starts).astype(float)
    a_before = np.concatenate([[0], np.cumsum(sorted_in_a)])[starts]
    at_risk_a = na - a_before
    at_risk_b = at_risk - at_risk_a
    deaths = np.add.reduceat(es, starts)
    deaths_a = np.add.reduceat(es * sorted_in_a, starts)
    observed_minus_expected = deaths_a.sum() - (deaths * at_risk_a / at_risk).sum()
    # (n - d)/(n - 1) is 0/0 or 1/0 when one subject is at risk; lifelines
    # replaces it by 1, and n_A n_B = 0 there anyway, so any finite value works.
    shrink = (at_risk - deaths) / np.maximum(at_risk - 1.0, 1.0)
    variance = (deaths * at_risk_a * at_risk_b * shrink / at_risk**2).sum()
    return float(observed_minus_expected), float(variance)


def logrank_p_groups(times, events) -> float:
    """Log-rank test p-value across k >= 2 groups, computed by lifelines.

    Parameters
    ----------
    times, events : sequence of array_like
        Each group's times, and its event flags (1 event, 0 censored), in the
        same order.

    Returns
    -------
    float
        ``lifelines.statistics.multivariate_logrank_test(...).p_value``: the
        statistic ``Z' V^- Z`` over the first k - 1 groups' observed minus
        expected events ``Z`` and their covariance ``V`` (pseudo-inverse), on
        a chi-square with k - 1 df; R's ``survdiff`` gives the same. With two
        groups it is :func:`logrank_p`. With no events, or no variance, the
        statistic is 0 and p is 1.0; nan if a group is empty (lifelines
        would test the others).

    Examples
    --------
    lifelines' own example, three groups (R: survdiff chi-square 1.08, p = 0.583):

    >>> times = [[5, 3, 9, 8], [7, 4, 4, 3, 2], [5, 6, 7]]
    >>> events = [[1, 1, 1, 1], [1, 1, 0, 0, 1], [1, 1, 0]]
    >>> round(logrank_p_groups(times, events), 4)
    0.5827
    """
    time, event, label = _pooled_groups(times, events)
    if time is None:
        return math.nan
    with np.errstate():
        res = multivariate_logrank_test(time, label, event)
    return float(res.p_value)


def logrank_p_groups_fast(times, events) -> float:
    """Log-rank test p-value across k >= 2 groups in numpy; agrees with :func:`logrank_p_groups`.

    Parameters
    ----------
    times, events : sequence of array_like
        Each group's times and event flags.

    Returns
    -------
    float
        The p-value of ``Z' V^- Z`` on a chi-square with k - 1 df, where, at
        each distinct time with ``d`` events among ``n`` at risk (``n_g`` in
        group g), ``Z_g += d_g - d n_g / n`` and
        ``V_gh += d (n - d) / (n^2 (n - 1)) (n n_g [g = h] - n_g n_h)``,
        over the first k - 1 groups, ``V^-`` the pseudo-inverse, as lifelines
        computes it. nan if a group is empty.

    Notes
    -----
    Agrees with lifelines to about 1e-12 relative (the summation order differs).

    Examples
    --------
    >>> times = [[5, 3, 9, 8], [7, 4, 4, 3, 2], [5, 6, 7]]
    >>> events = [[1, 1, 1, 1], [1, 1, 0, 0, 1], [1, 1, 0]]
    >>> round(logrank_p_groups_fast(times, events), 4)
    0.5827
    >>> logrank_p_groups_fast([[1, 2], [3], [4]], [[0, 0], [0], [0]])
    1.0
    """
    time, event, label = _pooled_groups(times, events)
    if time is None:
        return math.nan
    k = int(label[-1]) + 1
    n = time.size
    order = np.argsort(time, kind="stable")
    ts, es, ls = time[order], event[order].astype(float), label[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ts[1:], ts[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    member = np.zeros((n, k))
    member[np.arange(n), ls] = 1.0
    # Numbers at risk just before each distinct time, in all and per group.
    at_risk = (n - starts).astype(float)
    removed = np.vstack([np.zeros(k), np.cumsum(member, axis=0)])[starts]
    at_risk_g = member.sum(axis=0) - removed
    deaths = np.add.reduceat(es, starts)
    deaths_g = np.add.reduceat(member * es[:, None], starts, axis=0)
    observed_minus_expected = deaths_g.sum(axis=0) - (deaths[:, None] * at_risk_g
                                                      / at_risk[:, None]).sum(axis=0)
    # (n - d)/(n - 1) when one subject is at risk: every group's share of the
    # variance is zero there, so any finite value works (lifelines uses 1).
    factor = deaths * (at_risk - deaths) / np.maximum(at_risk - 1.0, 1.0) / at_risk**2
    covariance = np.diag((factor[:, None] * at_risk_g * at_risk[:, None]).sum(axis=0)) \
        - (at_risk_g * factor[:, None]).T @ at_risk_g
    z = observed_minus_expected[:-1]
    statistic = z @ np.linalg.pinv(covariance[:-1, :-1]) @ z
    return float(special.chdtrc(k - 1, statistic))


def _pooled_groups(times, events) -> tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[None, None, None]:
    """Groups' times and flags pooled, with each one's group number (0, 1, ...); Nones if one is empty."""
    times = [np.asarray(t, dtype=float).ravel() for t in times]
    if len(times) < 2 or len(events) != len(times):
        raise ValueError(f"a log-rank test across groups needs times and events for at least "
                         f"2 groups, got {len(times)} and {len(events)}")
    sizes = [t.size for t in times]
    if min(sizes) == 0:
        return None, None, None
    flags = np.concatenate([_event_flags(e, size) for e, size in zip(events, sizes)])
    return np.concatenate(times), flags, np.repeat(np.arange(len(times)), sizes)


def median(values) -> float:
    """Median of the non-missing values.

    Parameters
    ----------
    values : array_like
        Numbers; NaN marks a missing value and is ignored.

    Returns
    -------
    float
        The median (mean of the two middle values for an even count), or nan
        if there are no non-missing values (``np.nanmedian`` would warn).

    Examples
    --------
    >>> median([3, 1, float("nan"), 2, 10])
    2.5
    >>> median([])
    nan
    """
    v = np.asarray(values, dtype=float).ravel()
    v = np.sort(v[~np.isnan(v)])
    if v.size == 0:
        return math.nan
    # What np.median computes, without its overhead: the search calls this ~10^5 times.
    k = v.size // 2
    return float(v[k]) if v.size % 2 else float((v[k - 1] + v[k]) / 2)
