"""The toy study of the library's examples, checked without the library's statistics.

The doctests of ``evaluate.audit``, ``book`` (``Study``), ``analysis.pinning``
and ``analysis.report`` read ``tests/data/toy/`` (see the root ``conftest.py``).
Their expected values are recomputed here by hand: Fisher's exact test from
binomial coefficients (``math.comb``), Pearson's chi-square from its formula,
and the exact interval with statsmodels' Clopper-Pearson (``method="beta"``).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from cart_lib.core import paths

TOY = paths.ROOT / "tests" / "data" / "toy"
N = 10                                     # patients in each group


def fisher_two_sided(a: int, b: int, n1: int = N, n2: int = N) -> float:
    """Fisher's exact p: tables of the same margins at most as likely as the observed one."""
    k = a + b

    def prob(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, k - x) / math.comb(n1 + n2, k)

    observed = prob(a)
    return sum(prob(x) for x in range(max(0, k - n2), min(n1, k) + 1)
               if prob(x) <= observed * (1 + 1e-7))


def pearson_p(a: int, b: int, n1: int = N, n2: int = N) -> float:
    """Pearson's chi-square p on one degree of freedom, without continuity correction."""
    k, n = a + b, n1 + n2
    if k in (0, n):
        return 1.0
    x2 = n * (a * (n2 - b) - b * (n1 - a)) ** 2 / (n1 * n2 * k * (n - k))
    return math.erfc(math.sqrt(x2 / 2))


def prints_as_0020(p: float) -> bool:
    return 0.0195 <= p < 0.0205


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return pd.read_csv(TOY / "cohorts" / "toy.csv")


def test_the_cohort_has_the_printed_group_sizes_and_remissions(cohort):
    assert len(cohort) == 20
    a = cohort[cohort["group"] == "a"]
    assert (len(a), int(a["cr_d30"].sum())) == (10, 8)        # audit, Study examples


def test_the_exact_interval_of_8_of_10_is_clopper_pearsons():
    low, high = proportion_confint(8, 10, alpha=0.05, method="beta")
    assert (round(100 * low, 1), round(100 * high, 1)) == (44.4, 97.5)   # Study, claim_figures


def test_the_tables_whose_fisher_p_prints_as_0020_are_7_1_and_9_3():
    fits = [(a, b) for a in range(N + 1) for b in range(N + 1)
            if a > b and prints_as_0020(fisher_two_sided(a, b))]
    assert fits == [(7, 1), (9, 3)]                            # pinning's example
    assert round(fisher_two_sided(7, 1), 4) == 0.0198


def test_no_table_prints_as_0020_under_pearsons_chi_square():
    assert not [(a, b) for a in range(N + 1) for b in range(N + 1)
                if a > b and prints_as_0020(pearson_p(a, b))]


def test_the_cohort_is_one_of_the_fitting_tables(cohort):
    severe = cohort["crs_grade"] >= 3
    table = (int(severe[cohort["group"] == "a"].sum()), int(severe[cohort["group"] == "b"].sum()))
    assert table in [(7, 1), (9, 3)]
    assert prints_as_0020(fisher_two_sided(*table))
