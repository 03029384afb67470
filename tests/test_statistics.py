"""The statistics wrappers against published and textbook reference values.

Reference values come from the literature (Clopper-Pearson tables, Fisher's
tea-tasting experiment, the Freireich et al. 1963 leukaemia remission data as
analysed by Kleinbaum & Klein, the Mann & Whitney 1947 tables) or from the
textbook formula worked by hand, never from what the code happens to print.
The numpy fast paths are checked against lifelines on thousands of random
small data sets with frequent ties.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from cart_lib.stats.statistics import (boschloo_p, chi2_p, exact_ci, fisher_p, km_median,
                                       km_median_fast, logrank_p, logrank_p_fast, mannwhitney,
                                       median)

# Freireich EJ et al. (1963), Blood 21:699. Weeks in remission; "+" = censored.
SIX_MP = "6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+"
PLACEBO = "1 1 2 2 3 4 4 5 5 8 8 8 8 11 11 12 12 15 17 22 23"


def _parse(weeks: str) -> tuple[np.ndarray, np.ndarray]:
    items = weeks.split()
    time = np.array([float(w.rstrip("+")) for w in items])
    event = np.array([0 if w.endswith("+") else 1 for w in items])
    return time, event


@pytest.fixture
def no_warnings():
    """Turn every warning into an error for the duration of a test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- Clopper-Pearson -------------------------------------------------------

def test_exact_ci_15_of_17_prints_as_63_6_to_98_5_percent():
    lo, hi = exact_ci(15, 17)
    assert lo == pytest.approx(0.6356, abs=5e-5)
    assert hi == pytest.approx(0.9854, abs=5e-5)
    assert f"{100 * lo:.1f}-{100 * hi:.1f}%" == "63.6-98.5%"


def test_exact_ci_all_successes_has_closed_form_lower_bound():
    lo, hi = exact_ci(11, 11)
    # With k = n the lower bound solves p^n = alpha/2.
    assert lo == pytest.approx(0.025 ** (1 / 11), rel=1e-10)
    assert round(100 * lo, 1) == 71.5
    assert hi == 1.0


def test_exact_ci_zero_successes_and_level():
    lo, hi = exact_ci(0, 10, level=0.90)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.05 ** (1 / 10), rel=1e-10)


@pytest.mark.parametrize("k, n", [(0, 0), (1, 0), (0, -3), (5, 4), (-1, 4)])
def test_exact_ci_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError):
        exact_ci(k, n)


def test_exact_ci_returns_python_floats():
    assert all(type(v) is float for v in exact_ci(np.int64(3), np.int64(9)))


# --- Fisher, chi-square, Boschloo -----------------------------------------

def test_fisher_tea_tasting():
    assert fisher_p(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)
    assert fisher_p(3, 1, 1, 3, alternative="greater") == pytest.approx(17 / 70, rel=1e-12)
    assert fisher_p(3, 1, 1, 3, alternative="less") == pytest.approx(69 / 70, rel=1e-12)


def test_fisher_8_9_1_10():
    assert fisher_p(8, 9, 1, 10) == pytest.approx(0.04915, abs=5e-6)


def test_fisher_is_memoized_across_integer_types():
    p = fisher_p(2, 7, 6, 1)
    assert fisher_p(np.int64(2), 7.0, np.int32(6), 1) == p
    assert type(p) is float


def test_fisher_rejects_unknown_alternative_and_negative_counts():
    with pytest.raises(ValueError):
        fisher_p(1, 2, 3, 4, alternative="two_sided")
    with pytest.raises(ValueError):
        fisher_p(-1, 2, 3, 4)


def test_chi2_matches_hand_computation():
    # Expected counts 40/3, 20/3, 50/3, 25/3: X^2 = 4.5 uncorrected and, with
    # |O - E| = 10/3 reduced by 1/2, X^2 = (17/6)^2 * 81/200 corrected.
    assert chi2_p(10, 10, 20, 5, correction=False) == pytest.approx(
        math.erfc(math.sqrt(4.5 / 2)), rel=1e-12)
    yates = (17 / 6) ** 2 * (3 / 40 + 3 / 20 + 3 / 50 + 3 / 25)
    assert chi2_p(10, 10, 20, 5, correction=True) == pytest.approx(
        math.erfc(math.sqrt(yates / 2)), rel=1e-12)


@pytest.mark.parametrize("table", [
    (0, 7, 0, 9),      # nobody had the event
    (7, 0, 9, 0),      # everybody had the event
    (0, 0, 3, 4),      # an empty group
    (3, 4, 0, 0),
    (0, 0, 0, 0),
])
def test_zero_margin_gives_one_without_warning(table, no_warnings):
    for correction in (False, True):
        assert chi2_p(*table, correction=correction) == 1.0
    assert boschloo_p(*table) == 1.0
    assert fisher_p(*table) == 1.0


def _boschloo_by_definition(a: int, b: int, c: int, d: int) -> float:
    """Boschloo's two-sided p straight from the definition, groups as rows.

    Group sizes n1 = a + b and n2 = c + d are fixed; the statistic is Fisher's
    one-sided conditional p; the p-value is its tail probability maximised
    over the common event probability; two-sided is twice the smaller
    one-sided p-value (the convention scipy documents).
    """
    n1, n2 = a + b, c + d

    def hyper(k: int, s: int) -> Fraction:
        return Fraction(math.comb(n1, k) * math.comb(n2, s - k), math.comb(n1 + n2, s))

    def stat(y1: int, y2: int, side: str) -> Fraction:
        s = y1 + y2
        ks = range(max(0, s - n2), y1 + 1) if side == "less" else range(y1, min(n1, s) + 1)
        return sum((hyper(k, s) for k in ks), Fraction(0))

    grid = np.linspace(0.0, 1.0, 4001)
    pmf1 = np.array([[math.comb(n1, y) * p**y * (1 - p) ** (n1 - y) for y in range(n1 + 1)]
                     for p in grid])
    pmf2 = np.array([[math.comb(n2, y) * p**y * (1 - p) ** (n2 - y) for y in range(n2 + 1)]
                     for p in grid])
    one_sided = []
    for side in ("less", "greater"):
        observed = stat(a, c, side)
        region = np.array([[stat(y1, y2, side) <= observed for y2 in range(n2 + 1)]
                           for y1 in range(n1 + 1)], dtype=float)
        tail = np.einsum("gi,ij,gj->g", pmf1, region, pmf2)
        one_sided.append(tail.max())
    return min(1.0, 2 * min(one_sided))


@pytest.mark.parametrize("table", [(3, 1, 1, 3), (8, 9, 1, 10), (2, 8, 7, 3), (0, 6, 4, 2)])
def test_boschloo_matches_definition_with_groups_as_rows(table):
    assert boschloo_p(*table) == pytest.approx(_boschloo_by_definition(*table), rel=2e-3)


def test_boschloo_scipy_documentation_example_in_row_layout():
    # scipy's example (job satisfaction, professors 74/117 vs scientists 31/63
    # very satisfied) has the groups in columns and a one-sided p of 0.0355;
    # the two-sided p is twice that.
    assert boschloo_p(74, 43, 31, 32) == pytest.approx(2 * 0.0355, abs=2e-4)


def test_boschloo_is_not_the_transposed_table():
    # The layout matters for Boschloo: groups-as-rows [[8,9],[1,10]] is not
    # the same test as groups-as-columns.
    assert boschloo_p(8, 9, 1, 10) != pytest.approx(boschloo_p(8, 1, 9, 10), rel=1e-2)


# --- Mann-Whitney ----------------------------------------------------------

def test_mannwhitney_exact_complete_separation_3_vs_3():
    u, p = mannwhitney([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], method="exact")
    assert u == 0.0
    assert p == pytest.approx(2 / 20, rel=1e-12)    # P(U <= 0) = 1/C(6,3)


def test_mannwhitney_exact_4_vs_5_u_equals_1():
    x, y = [1, 2, 3, 5], [4, 6, 7, 8, 9]
    u, p = mannwhitney(x, y, method="exact")
    assert u == 1.0
    assert p == pytest.approx(4 / 126, rel=1e-12)   # 2 * P(U <= 1) = 2 * 2/126
    assert round(p, 4) == 0.0317
    # U is the statistic of the first sample.
    assert mannwhitney(y, x, method="exact") == pytest.approx((19.0, 4 / 126))


def test_mannwhitney_asymptotic_is_normal_approximation_with_continuity():
    # n1 = n2 = 3, U = 0: mean 4.5, variance n1 n2 (n1 + n2 + 1) / 12 = 5.25.
    z = (4.5 - 0.5) / math.sqrt(5.25)
    u, p = mannwhitney([1, 2, 3], [4, 5, 6], method="asymptotic")
    assert u == 0.0
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)


def test_mannwhitney_empty_and_bad_method(no_warnings):
    for x, y in (([], [1, 2]), ([1, 2], []), ([], [])):
        u, p = mannwhitney(x, y, method="exact")
        assert math.isnan(u) and math.isnan(p)
    with pytest.raises(ValueError):
        mannwhitney([1], [2], method="auto")


# --- Kaplan-Meier median ---------------------------------------------------

@pytest.mark.parametrize("km", [km_median, km_median_fast])
def test_km_median_freireich(km):
    assert km(*_parse(SIX_MP)) == 23.0
    assert km(*_parse(PLACEBO)) == 8.0


@pytest.mark.parametrize("km", [km_median, km_median_fast])
@pytest.mark.parametrize("time, event, expected", [
    ([1, 2, 3], [0, 0, 0], math.inf),                 # all censored
    ([1, 2, 3, 4], [1, 0, 0, 0], math.inf),           # S stays at 0.75
    ([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], 3.0),
    ([1, 2], [1, 0], 1.0),                            # S(1) = 0.5 exactly: that time
    ([1, 2, 3, 4], [1, 1, 1, 1], 2.0),                # S(2) = 0.5 exactly
    ([1, 2, 3, 4, 5, 6], [1] * 6, 4.0),               # S(3) computes as 0.5000000000000001
    ([2, 2, 3, 4], [1, 0, 1, 0], 3.0),                # censoring tied with an event
    ([0, 0, 0, 5], [1, 1, 0, 1], 0.0),                # events at time zero
    ([7], [1], 7.0),
    ([7], [0], math.inf),
])
def test_km_median_conventions(km, time, event, expected):
    assert km(np.array(time), np.array(event)) == expected


def test_km_median_empty_is_nan(no_warnings):
    assert math.isnan(km_median([], []))
    assert math.isnan(km_median_fast([], []))


def test_km_median_leaves_numpy_error_settings_alone():
    before = np.geterr()
    km_median([1, 2, 3], [1, 1, 1])
    assert np.geterr() == before


def _random_cohort(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    size = int(rng.integers(1, 31))
    time = rng.integers(0, 51, size)
    mode = rng.integers(0, 5)
    if mode == 0:
        event = np.zeros(size, dtype=int)
    elif mode == 1:
        event = np.ones(size, dtype=int)
    else:
        event = (rng.random(size) < rng.uniform(0.1, 0.95)).astype(int)
    if rng.random() < 0.3:
        event = event.astype(bool)
    return time, event


#: Random data sets per equivalence test: enough to include lifelines' rounding
#: quirk many times over, small enough for `make test` (each lifelines call is ~10 ms).
RANDOM_CASES = 400


def _km_median_exact(time: np.ndarray, event: np.ndarray) -> float:
    """Smallest distinct time with S(t) <= 1/2, S in exact rational arithmetic."""
    s = Fraction(1)
    for u in np.unique(time):
        at_risk = int((time >= u).sum())
        deaths = int(((time == u) & (event != 0)).sum())
        s *= Fraction(at_risk - deaths, at_risk)
        if s <= Fraction(1, 2):
            return float(u)
    return math.inf


def test_km_median_fast_equals_lifelines_on_random_data(no_warnings):
    rng = np.random.default_rng(20240601)
    rounding_cases = 0
    for _ in range(RANDOM_CASES):
        time, event = _random_cohort(rng)
        expected = km_median(time, event)
        got = km_median_fast(time, event)
        assert type(got) is float
        assert got == expected, (time.tolist(), event.tolist(), got, expected)
        rounding_cases += got != _km_median_exact(time, event)
    # The data must exercise lifelines' rounding quirk (S = 1/2 exactly that
    # computes as just above 1/2), or agreement would prove less than claimed.
    assert rounding_cases > 0


# --- Log-rank --------------------------------------------------------------

@pytest.mark.parametrize("logrank", [logrank_p, logrank_p_fast])
def test_logrank_freireich_kleinbaum_klein(logrank):
    from scipy import stats

    p = logrank(*_parse(SIX_MP), *_parse(PLACEBO))
    assert p == pytest.approx(4.17e-5, rel=5e-3)
    # Kleinbaum & Klein report the log-rank chi-square as 16.79.
    assert stats.chi2.isf(p, 1) == pytest.approx(16.79, abs=5e-3)


@pytest.mark.parametrize("logrank", [logrank_p, logrank_p_fast])
def test_logrank_hand_computed_example(logrank):
    # O_A - E_A = 2 - (1/2 + 1/3) = 7/6, V = 1/4 + 2/9 = 17/36.
    chi2 = (7 / 6) ** 2 / (17 / 36)
    p = logrank([1, 2], [1, 1], [3, 4], [1, 1])
    assert p == pytest.approx(math.erfc(math.sqrt(chi2 / 2)), rel=1e-12)


@pytest.mark.parametrize("logrank", [logrank_p, logrank_p_fast])
def test_logrank_degenerate_inputs(logrank, no_warnings):
    assert logrank([1, 2], [0, 0], [3, 4], [0, 0]) == 1.0        # no events at all
    assert logrank([1, 2], [1, 1], [0.5], [0]) == 1.0            # never both at risk
    assert logrank([5], [1], [5], [1]) == 1.0                    # d = n at the only time
    assert math.isnan(logrank([], [], [1, 2], [1, 1]))           # empty group
    assert math.isnan(logrank([1, 2], [1, 1], [], []))


def test_logrank_fast_agrees_with_lifelines_on_random_data(no_warnings):
    rng = np.random.default_rng(19630401)
    for _ in range(RANDOM_CASES):
        ta, ea = _random_cohort(rng)
        tb, eb = _random_cohort(rng)
        expected = logrank_p(ta, ea, tb, eb)
        got = logrank_p_fast(ta, ea, tb, eb)
        assert type(got) is float
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-15), (
            ta.tolist(), ea.tolist(), tb.tolist(), eb.tolist())


# --- median ----------------------------------------------------------------

def test_median(no_warnings):
    assert median([3, 1, 2]) == 2.0
    assert median([4, 1, 3, 2]) == 2.5
    assert median(np.array([np.nan, 5.0, np.nan])) == 5.0
    assert math.isnan(median([]))
    assert math.isnan(median([np.nan, np.nan]))
    assert type(median(np.arange(5))) is float
