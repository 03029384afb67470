"""Matches that hold under any convention, and readings whose every field is enforced.

A figure on a rounding tie does not match (half up and half to even print it
differently); a value the search draws never sits on a tie at the precision
it is printed at; a Kaplan-Meier curve flat at one half has no single median;
values compared by a rank test are not tied across the groups unless the
reading allows it, and then the exact p-value is exact under ties; every
test's ``direction`` is evaluated, log-rank included; a field the library
does not evaluate is refused when the ledger loads.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from cart_lib import cohort as cohort_mod
from conftest import STUDY_DTYPES
from cart_lib import ledger as L
from cart_lib.stats import statistics
from cart_lib.core.errors import LedgerError
from cart_lib.evaluate import Evaluator, matches
from cart_lib.reconstruct.search import Space


# --- the exact Mann-Whitney test under ties ------------------------------------------------


def _permutation_p(x, y) -> float:
    """Two-sided exact permutation p of U by full enumeration (small samples only)."""
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)
    m, observed = len(x), ranks[:len(x)].sum()
    sums = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(len(pooled)), m)])
    lower = np.mean(sums <= observed + 1e-9)
    upper = np.mean(sums >= observed - 1e-9)
    return min(1.0, 2 * min(lower, upper))


@pytest.mark.parametrize("x, y", [
    ([1, 2, 2], [2, 3, 4]),
    ([1, 1, 2, 5], [2, 3, 3, 3, 6]),
    ([0, 0, 0, 1, 2], [0, 1, 1, 2, 2, 2]),
    ([3.5, 3.5, 7], [3.5, 8, 9, 9]),
])
def test_exact_mann_whitney_under_ties_is_the_permutation_distribution(x, y):
    u, p = statistics.mannwhitney(x, y, "exact")
    assert u == pytest.approx(stats.mannwhitneyu(x, y).statistic)
    assert p == pytest.approx(_permutation_p(np.array(x, float), np.array(y, float)), abs=1e-12)


def test_exact_mann_whitney_without_ties_is_scipys():
    rng = np.random.default_rng(3)
    for _ in range(20):
        values = rng.permutation(30).astype(float)
        x, y = values[:7], values[7:16]
        expected = stats.mannwhitneyu(x, y, method="exact").pvalue
        assert statistics.mannwhitney_exact_ties(x, y)[1] == pytest.approx(expected, rel=1e-9)


def test_the_published_tie_is_now_exact():
    # hu2019's earlier cohort: one autologous and one recipient-derived expansion of 512900.
    # scipy's "exact" p (no tie correction) printed 0.007; R's wilcox.test falls back to the
    # normal approximation (0.008); the permutation distribution under the tie gives 0.006.
    auto = [891300, 83180, 218800, 87100, 831.8, 309000, 5495, 6026, 741300, 871000, 1862,
            141300, 21380, 512900, 549.5, 70790, 977200]
    rd = [338.8, 54950, 204.2, 512900, 6918, 4786, 302, 912, 104.7, 4266, 9550]
    assert round(stats.mannwhitneyu(auto, rd, method="exact").pvalue, 3) == 0.007
    assert round(statistics.mannwhitney(auto, rd, "exact")[1], 3) == 0.006


# --- log-rank direction --------------------------------------------------------------------


def test_logrank_observed_minus_expected_has_the_sign_of_the_excess_events():
    early = ([1, 2, 3, 4], [1, 1, 1, 1])
    late = ([10, 11, 12, 13], [1, 1, 1, 0])
    assert statistics.logrank_observed_minus_expected(*early, *late) > 0
    assert statistics.logrank_observed_minus_expected(*late, *early) < 0


def _survival_ledger(toy_ledger, write_ledger, direction):
    toy_ledger["record"].update({"death": {}, "last_contact_day": {"min": 0, "max": 400,
                                                                   "step": 1}})
    toy_ledger["claims"] = toy_ledger["claims"][:1] + [{
        "id": "os_p", "printed": "p = 0.02", "locator": {"source": "abstract", "paragraph": 1},
        "says": "survival differs", "reads": ["p"], "precision": {"p": 0.01},
        "measure": {"population": "True", "groups": ["group == 'a'", "group == 'b'"],
                    "statistic": "p_value", "test": "logrank", "endpoint": "overall_survival",
                    "direction": direction}}]
    return L.load_ledger(write_ledger(toy_ledger))


@pytest.mark.parametrize("fast", [False, True])
def test_a_logrank_p_value_in_the_wrong_direction_does_not_match(toy_ledger, write_ledger, fast):
    table = cohort_mod.empty(10, STUDY_DTYPES)
    table["group"][:] = ["a"] * 5 + ["b"] * 5
    table["death"][:] = 1.0
    table["last_contact_day"][:] = [10, 20, 30, 40, 50, 200, 210, 220, 230, 240]
    for direction, expected in (("first_higher", 0), ("first_lower", 1)):
        led = _survival_ledger(toy_ledger, write_ledger, direction)
        claim = led.claim("os_p")
        computed = Evaluator(led, fast=fast).compute(claim, claim.adopted, table)
        assert computed.violations == expected


# --- rounding ties ---------------------------------------------------------------------------


def test_a_figure_on_a_rounding_tie_matches_only_under_a_named_convention(toy_ledger,
                                                                          write_ledger):
    toy_ledger["record"]["dose_e5_per_kg"] = {"min": 0.5, "max": 5, "step": 0.5}
    claim = {"id": "dose", "printed": "2 (1-3)", "locator": {"source": "abstract", "paragraph": 1},
             "says": "dose", "reads": ["median", "min", "max"],
             "precision": {"median": 1, "min": 1, "max": 1},
             "measure": {"population": "True", "statistic": "median",
                         "variable": "dose_e5_per_kg"}}
    toy_ledger["claims"].append(claim)
    led = L.load_ledger(write_ledger(toy_ledger))
    table = cohort_mod.empty(3, STUDY_DTYPES)
    table["dose_e5_per_kg"][:] = [0.5, 2.0, 3.0]           # the minimum sits on a tie
    ev = Evaluator(led)
    result = ev.claim_result(led.claim("dose"), table)
    assert not result.adopted.matched
    claim["measure"]["rounding"] = "half-up"
    led = L.load_ledger(write_ledger(toy_ledger))
    assert Evaluator(led).claim_result(led.claim("dose"), table).adopted.matched
    # The search never draws a dose on a tie at the printed precision.
    grid = Space(led).grids["dose_e5_per_kg"].values
    assert list(grid) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_kaplan_meier_curve_flat_at_one_half_has_no_single_median(toy_ledger, write_ledger):
    toy_ledger["record"].update({"death": {}, "last_contact_day": {"min": 0, "max": 400,
                                                                   "step": 1}})
    toy_ledger["claims"].append({
        "id": "os", "printed": "20 days", "locator": {"source": "abstract", "paragraph": 1},
        "says": "median OS", "reads": ["median"], "precision": {"median": 1},
        "measure": {"population": "True", "statistic": "km_median",
                    "endpoint": "overall_survival"}})
    led = L.load_ledger(write_ledger(toy_ledger))
    table = cohort_mod.empty(4, STUDY_DTYPES)
    table["death"][:] = 1.0
    table["last_contact_day"][:] = [10, 20, 30, 40]       # S = 1/2 from day 20 to day 30
    claim = led.claim("os")
    computed = Evaluator(led).compute(claim, claim.adopted, table)
    assert computed.values["median"] == 20 and computed.violations == 1
    assert not matches(claim, computed)
    table["last_contact_day"][:] = [10, 19, 20, 40]       # S jumps from 3/4 to 1/4 on day 20
    table["death"][:] = [1.0, 0.0, 1.0, 1.0]
    computed = Evaluator(led).compute(claim, claim.adopted, table)
    assert computed.violations == 0 and matches(claim, computed)


# --- every field is enforced or refused -------------------------------------------------------


@pytest.mark.parametrize("field, value, rule", [
    ("direction", "first_higher", "does not use 'direction'"),
    ("each", "cr_d30", "does not use 'each'"),
    ("comparator", ">", "does not use 'comparator'"),
    ("ties", "allowed", "only a rank test's reading says whether ties are allowed"),
])
def test_a_field_the_library_does_not_evaluate_is_refused(toy_ledger, write_ledger, field,
                                                          value, rule):
    toy_ledger["claims"].append({
        "id": "crs_same", "printed": "did not differ",
        "locator": {"source": "abstract", "paragraph": 1}, "says": "no difference",
        "measure": {"population": "True", "groups": ["group == 'a'", "group == 'b'"],
                    "statistic": "no_difference", "test": "fisher_exact",
                    "event": "severe_crs", field: value}})
    with pytest.raises(LedgerError) as info:
        L.load_ledger(write_ledger(toy_ledger))
    assert "claim 'crs_same'" in str(info.value) and rule in str(info.value)


def test_ties_belong_to_rank_tests_and_a_test_reads_one_input(toy_ledger, write_ledger):
    reading = toy_ledger["claims"][2]["readings"][0]
    reading["ties"] = "allowed"
    with pytest.raises(LedgerError, match="only a rank test's reading says whether ties"):
        L.load_ledger(write_ledger(toy_ledger))
    del reading["ties"]
    reading["variable"] = "crs_grade"
    with pytest.raises(LedgerError, match="compares a\\(n\\) event, not a\\(n\\) variable"):
        L.load_ledger(write_ledger(toy_ledger))


def test_the_published_ledgers_use_only_evaluated_fields():
    for led in L.load_all():
        assert led.claims                     # loading checks every field
