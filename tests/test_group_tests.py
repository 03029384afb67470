"""Tests across k >= 2 groups: the statistics against R, and a three-arm claim in a ledger.

Every reference value below was computed by R 4 (base R and survival) with
the call given beside it, printed with ``options(digits = 17)``; none is
what the library happens to print.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cart_lib.evaluate import audit
from conftest import STUDY_DTYPES
from cart_lib.stats import inversion
from cart_lib import cohort as cohort_mod
from cart_lib import ledger as L
from cart_lib.core.errors import LedgerError
from cart_lib.evaluate import Evaluator
from cart_lib.stats.group_tests import K_GROUPS, RANK_TESTS, TEST_INPUT, Test
from cart_lib.stats.statistics import (chi2_p, chi2_table_p, kruskal_wallis, logrank_p,
                                       logrank_p_groups, logrank_p_groups_fast)

LOGRANK_K = [logrank_p_groups, logrank_p_groups_fast]


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------ log-rank across k groups

# lifelines' multivariate_logrank_test example, three groups:
#   T <- c(5, 3, 9, 8, 7, 4, 4, 3, 2, 5, 6, 7); E <- c(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0)
#   G <- c(0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2)
#   f <- survdiff(Surv(T, E) ~ G); f$chisq; pchisq(f$chisq, 2, lower.tail = FALSE)
THREE_TIMES = [[5, 3, 9, 8], [7, 4, 4, 3, 2], [5, 6, 7]]
THREE_EVENTS = [[1, 1, 1, 1], [1, 1, 0, 0, 1], [1, 1, 0]]
R_THREE_CHISQ = 1.0800467314891911
R_THREE_P = 0.582734636186238

# Four groups of five, tied times and censoring:
#   T2 <- c(1, 2, 2, 5, 8, 3, 3, 6, 9, 12, 4, 7, 7, 10, 15, 2, 6, 11, 14, 20)
#   E2 <- c(1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0)
#   f <- survdiff(Surv(T2, E2) ~ rep(1:4, each = 5)); pchisq(f$chisq, 3, lower.tail = FALSE)
FOUR_TIMES = [[1, 2, 2, 5, 8], [3, 3, 6, 9, 12], [4, 7, 7, 10, 15], [2, 6, 11, 14, 20]]
FOUR_EVENTS = [[1, 1, 0, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 0, 1], [0, 1, 0, 1, 0]]
R_FOUR_P = 0.060944986290195603


@pytest.mark.parametrize("logrank", LOGRANK_K)
def test_logrank_across_three_groups_is_rs_survdiff(logrank, no_warnings):
    from scipy import stats

    p = logrank(THREE_TIMES, THREE_EVENTS)
    assert_allclose(p, R_THREE_P, rtol=1e-10)
    assert_allclose(stats.chi2.isf(p, 2), R_THREE_CHISQ, rtol=1e-9)


@pytest.mark.parametrize("logrank", LOGRANK_K)
def test_logrank_across_four_groups_with_ties_is_rs_survdiff(logrank, no_warnings):
    assert_allclose(logrank(FOUR_TIMES, FOUR_EVENTS), R_FOUR_P, rtol=1e-10)


@pytest.mark.parametrize("logrank", LOGRANK_K)
def test_logrank_across_groups_degenerate_inputs(logrank, no_warnings):
    assert logrank([[1, 2], [3], [4]], [[0, 0], [0], [0]]) == 1.0          # no events
    assert math.isnan(logrank([[1, 2], [], [4]], [[1, 0], [], [1]]))       # an empty group
    with pytest.raises(ValueError):
        logrank([[1, 2]], [[1, 1]])


def test_logrank_fast_across_groups_agrees_with_lifelines_on_random_data(no_warnings):
    rng = np.random.default_rng(20240516)
    for _ in range(300):
        k = int(rng.integers(2, 6))
        times = [rng.integers(0, 21, int(rng.integers(1, 9))) for _ in range(k)]
        events = [(rng.random(t.size) < rng.random()).astype(int) for t in times]
        expected = logrank_p_groups(times, events)
        got = logrank_p_groups_fast(times, events)
        assert type(got) is float
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-15), (times, events)
        if k == 2:     # two groups: the two-group test
            assert expected == pytest.approx(logrank_p(times[0], events[0], times[1], events[1]),
                                             rel=1e-12)


# ------------------------------------------------------------------ chi-square on k x 2

# chisq.test(matrix(c(8, 9, 1, 10, 5, 5), ncol = 2, byrow = TRUE), correct = FALSE)$p.value
R_CHI2_3X2 = 0.076254972624113515
# chisq.test(matrix(c(3, 1, 1, 3, 0, 2, 4, 0), ncol = 2, byrow = TRUE), correct = FALSE)$p.value
R_CHI2_4X2 = 0.048666968265671233


def test_chi2_on_k_by_2_tables_is_rs_chisq_test(no_warnings):
    assert_allclose(chi2_table_p([[8, 9], [1, 10], [5, 5]]), R_CHI2_3X2, rtol=1e-10)
    assert_allclose(chi2_table_p([[3, 1], [1, 3], [0, 2], [4, 0]]), R_CHI2_4X2, rtol=1e-10)
    # A 2x2 table is the uncorrected two-group test.
    assert chi2_table_p([[3, 1], [1, 3]]) == chi2_p(3, 1, 1, 3, correction=False)


def test_chi2_on_k_by_2_tables_degenerate_inputs(no_warnings):
    assert chi2_table_p([[0, 4], [0, 3], [0, 2]]) == 1.0         # nobody had the event
    with pytest.raises(ValueError):
        chi2_table_p([[1, 2, 3]])
    with pytest.raises(ValueError):
        chi2_table_p([[1, -1], [2, 2], [0, 1]])


# ------------------------------------------------------------------ Kruskal-Wallis

# R's kruskal.test help page (Hollander & Wolfe 1973, p. 116):
#   x <- c(2.9, 3.0, 2.5, 2.6, 3.2); y <- c(3.8, 2.7, 4.0, 2.4); z <- c(2.8, 3.4, 3.7, 2.2, 2.0)
#   kruskal.test(list(x, y, z))
HOLLANDER_WOLFE = [[2.9, 3.0, 2.5, 2.6, 3.2], [3.8, 2.7, 4.0, 2.4], [2.8, 3.4, 3.7, 2.2, 2.0]]
R_HW_STATISTIC, R_HW_P = 0.77142857142857224, 0.67996477357889362
# With ties (corrected): kruskal.test(list(c(3, 4, 3, 0), c(3, 0, 1, 0), c(2, 2)))
GRADES = [[3, 4, 3, 0], [3, 0, 1, 0], [2, 2]]
R_GRADES_STATISTIC, R_GRADES_P = 2.0769230769230744, 0.35399887689671777


def test_kruskal_wallis_is_rs_kruskal_test(no_warnings):
    h, p = kruskal_wallis(HOLLANDER_WOLFE)
    assert_allclose((h, p), (R_HW_STATISTIC, R_HW_P), rtol=1e-10)
    h, p = kruskal_wallis(GRADES)
    assert_allclose((h, p), (R_GRADES_STATISTIC, R_GRADES_P), rtol=1e-10)


def test_kruskal_wallis_degenerate_inputs(no_warnings):
    assert kruskal_wallis([[1, 1], [1], [1, 1, 1]]) == (0.0, 1.0)   # R: NaN; no evidence
    assert all(math.isnan(x) for x in kruskal_wallis([[1, 2], [], [3]]))
    with pytest.raises(ValueError):
        kruskal_wallis([[1, 2, 3]])


def test_kruskal_wallis_is_a_rank_test_of_a_variable_across_k_groups():
    assert Test.kruskal_wallis in RANK_TESTS and Test.kruskal_wallis in K_GROUPS
    assert TEST_INPUT[Test.kruskal_wallis] == "variable"


# ------------------------------------------------------------------ a three-arm toy study

THREE_ARMS = ["group == 'a'", "group == 'b'", "group == 'c'"]

# id, group, cr, crs grade, death, last contact, age (as in tests/test_rscript.py)
PATIENTS = [
    ("a1", "a", 1, 3, 1, 5, 10), ("a2", "a", 1, 4, 0, 8, 20), ("a3", "a", 1, 3, 1, 12, 30),
    ("a4", "a", 0, 0, 1, 15, 40), ("b1", "b", 1, 3, 1, 10, 50), ("b2", "b", 1, 0, 0, 20, 60),
    ("b3", "b", 1, 1, 1, 30, 70), ("b4", "b", 1, 0, 1, 40, 80), ("c1", "c", 0, 2, 1, 1, None),
    ("c2", "c", 0, 2, 1, 2, 5),
]
_SOURCE = {"a": "autologous", "b": "donor-derived", "c": "recipient-derived"}

# The same figures in R, on PATIENTS:
#   chisq.test(matrix(c(3, 1, 1, 3, 0, 2), ncol = 2, byrow = TRUE), correct = FALSE)$p.value
R_SEVERE_CRS_P = 0.15335496684492847
#   time <- c(5, 8, 12, 15, 10, 20, 30, 40, 1, 2); event <- c(1, 0, 1, 1, 1, 0, 1, 1, 1, 1)
#   f <- survdiff(Surv(time, event) ~ rep(c("a", "b", "c"), c(4, 4, 2)))
#   pchisq(f$chisq, 2, lower.tail = FALSE)
R_OS_P = 0.0016926056994314817
#   kruskal.test(list(c(10, 20, 30, 40), c(50, 60, 70, 80), c(5)))$p.value
R_AGE_P = 0.035673993347252443
#   fisher.test(matrix(c(0, 2, 7, 1), 2, byrow = TRUE))$p.value   (group c against the others)
R_CR_C_VS_REST_P = 0.06666666666666668


def _p_claim(cid: str, text: str, **measure) -> dict:
    return {"id": cid, "printed": text, "locator": {"source": "abstract", "paragraph": 1},
            "says": cid, "reads": ["p"], "precision": {"p": 0.001},
            "measure": {"population": "True", "statistic": "p_value", **measure}}


def _three_arm_ledger(toy_ledger: dict) -> dict:
    toy_ledger["groups"]["c"] = {"treatment": "CAR-T", "car_source": "recipient-derived",
                                 "donor": "none", "prior_hsct": True}
    toy_ledger["record"].update({"death": {}, "last_contact_day": {"min": 0, "max": 400,
                                                                   "step": 1},
                                 "age_years": {"min": 1, "max": 90, "step": 1}})
    toy_ledger["claims"] += [
        _p_claim("severe_crs_3arm", "p = 0.153", groups=THREE_ARMS, test="chi2",
                 event="severe_crs"),
        _p_claim("os_3arm", "p = 0.002", groups=THREE_ARMS, test="logrank",
                 endpoint="overall_survival"),
        _p_claim("age_3arm", "p = 0.036", groups=THREE_ARMS, test="kruskal_wallis",
                 variable="age_years"),
        _p_claim("cr_c_vs_rest", "p = 0.067", groups=["group == 'c'", "group != 'c'"],
                 test="fisher_exact", event="cr_d30", direction="first_lower"),
        {**_p_claim("grades_3arm", "did not differ", groups=THREE_ARMS, test="kruskal_wallis",
                    variable="crs_grade", ties="allowed"),
         "reads": [], "precision": {}},
    ]
    toy_ledger["claims"][-1]["measure"]["statistic"] = "no_difference"
    return toy_ledger


def _table() -> cohort_mod.Table:
    table = cohort_mod.empty(len(PATIENTS), STUDY_DTYPES)
    columns = ("patient_id", "group", "cr_d30", "crs_grade", "death", "last_contact_day",
               "age_years")
    for i, row in enumerate(PATIENTS):
        values = dict(zip(columns, row), car_source=_SOURCE[row[1]])
        for name, value in values.items():
            table[name][i] = np.nan if value is None else value
    table["study"][:] = "toy"
    table["treatment"][:] = "CAR-T"
    return table


@pytest.fixture
def three_arms(toy_ledger, write_ledger) -> L.Ledger:
    return L.load_ledger(write_ledger(_three_arm_ledger(toy_ledger)))


def test_a_three_arm_claim_loads(three_arms):
    assert three_arms.claim("os_3arm").adopted.groups == THREE_ARMS


@pytest.mark.parametrize("fast", [False, True])
def test_a_three_arm_claim_evaluates_to_rs_figures(three_arms, fast):
    results = {r.claim.id: r for r in Evaluator(three_arms, fast=fast).evaluate(_table())}
    for claim, expected in [("severe_crs_3arm", R_SEVERE_CRS_P), ("os_3arm", R_OS_P),
                            ("age_3arm", R_AGE_P), ("cr_c_vs_rest", R_CR_C_VS_REST_P)]:
        computed = results[claim].adopted.computed
        assert_allclose(computed.values["p"], expected, rtol=1e-9, err_msg=claim)
        assert results[claim].status == "match", (claim, computed.note)
    assert results["grades_3arm"].status == "match"
    assert results["severe_crs_3arm"].adopted.computed.note == "3/4 vs 1/4 vs 0/2"


def test_values_tied_across_three_groups_break_a_kruskal_wallis_reading(toy_ledger, write_ledger):
    data = _three_arm_ledger(toy_ledger)
    del data["claims"][-1]["measure"]["ties"]
    led = L.load_ledger(write_ledger(data))
    result = Evaluator(led).claim_result(led.claim("grades_3arm"), _table())
    # Grades 3 and 0 of a and b tie across the groups: six values.
    assert result.adopted.computed.violations == 6
    assert "6 value(s) tied across the groups" in result.adopted.computed.note
    assert result.status == "mismatch"


def _error(write_ledger, content) -> LedgerError:
    with pytest.raises(LedgerError) as info:
        L.load_ledger(write_ledger(content))
    return info.value


@pytest.mark.parametrize("test, field", [("fisher_exact", "event"), ("boschloo_exact", "event"),
                                         ("chi2_yates", "event"),
                                         ("mannwhitney_exact", "variable")])
def test_a_two_group_test_given_three_groups_is_refused(toy_ledger, write_ledger, test, field):
    measure = toy_ledger["claims"][2]["readings"][0]
    measure.update(groups=THREE_ARMS, test=test)
    if field == "variable":
        measure["variable"] = measure.pop("event")
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "readings[fisher].groups")
    assert f"test '{test}' compares two groups, this reading lists 3" in err.rule
    assert "chi2, logrank, kruskal_wallis" in err.rule


def test_a_direction_across_three_groups_is_refused(toy_ledger, write_ledger):
    toy_ledger["claims"][2]["readings"][1].update(groups=THREE_ARMS, direction="first_higher")
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "readings[chi2].direction")
    assert "'direction' says which of two groups is the higher" in err.rule
    assert "compares 3 groups" in err.rule


def test_a_single_group_is_refused(toy_ledger, write_ledger):
    toy_ledger["claims"][2]["readings"][1]["groups"] = ["group == 'a'"]
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "readings[1].groups")


def test_a_three_arm_reading_is_not_inverted_and_says_why(three_arms):
    reading = three_arms.claim("severe_crs_3arm").adopted
    assert not inversion.invertible(reading)
    why = inversion.why_not_invertible(reading)
    assert why.startswith("a test across 3 groups has no two-group table or rank sum")
    found = {c.id: (inv, w) for c, r, inv, w in audit.invert_from_ledger(three_arms)}
    assert found["severe_crs_3arm"] == (None, why)
    assert found["os_3arm"][0] is None and found["age_3arm"][0] is None
    # One arm against the others is two groups: inverted like any 2x2 table.
    claim = three_arms.claim("cr_c_vs_rest")
    inv = inversion.invert_reading(claim, claim.adopted, three_arms, _table())
    assert inv.sizes == "2 vs 8 (total 10)" and (0, 2, 7, 1) in inv.feasible
