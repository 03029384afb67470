"""Confidence intervals papers print, against R, and the claims that state them."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from cart_lib import cohort as cohort_mod
from conftest import STUDY_DTYPES
from cart_lib.stats import intervals
from cart_lib import ledger as L
from cart_lib.core.errors import LedgerError
from cart_lib.evaluate import Evaluator
from cart_lib.stats.inversion import feasible_proportions

# R 4.2: binom.test(k, n)$conf.int; prop.test(k, n, correct = FALSE)$conf.int;
# Wald p -/+ qnorm(0.975) * sqrt(p (1 - p) / n); qbeta(c(.025, .975), k + .5, n - k + .5);
# Agresti-Coull with n + z^2 and (k + z^2 / 2) / (n + z^2). statsmodels clips Wald and
# Agresti-Coull at 0 and 1, where R's formulas give 1.0355 (15/17) and -0.0455 (0/9).
PROPORTIONS = {
    (3, 13): {"clopper-pearson": (0.050381073491, 0.538131539234),
              "wilson": (0.081795287185, 0.502563759467),
              "wald": (0.001738536322, 0.459799925217),
              "jeffreys": (0.069656668640, 0.497372121975),
              "agresti-coull": (0.074987092291, 0.509371954361)},
    (15, 17): {"clopper-pearson": (0.635590837899, 0.985420683160),
               "wilson": (0.656636494051, 0.967120226236),
               "wald": (0.729196475309, 1.0),
               "jeffreys": (0.673157987342, 0.974725405109),
               "agresti-coull": (0.644094997321, 0.979661722966)},
    (0, 9): {"clopper-pearson": (0.0, 0.336267116880),
             "wilson": (0.0, 0.299145048420),
             "jeffreys": (0.000053064053, 0.237610098633),
             "agresti-coull": (0.0, 0.344640268655)},
}


@pytest.mark.parametrize("kn, method", [(kn, m) for kn, ms in PROPORTIONS.items() for m in ms])
def test_proportion_intervals_match_r(kn, method):
    assert_allclose(intervals.proportion_ci(*kn, 0.95, method), PROPORTIONS[kn][method],
                    atol=1e-9)


# R's aml data (survival package), both arms: survfit(Surv(time, status) ~ 1, aml,
# conf.type = ...); summary(fit, times = c(12, 30)) and summary(fit)$table.
AML_TIME = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
AML_EVENT = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
AML_AT = {  # conf.type: (S(12), lower, upper), (S(30), lower, upper), median CI
    "plain": ((0.739130434783, 0.559675079560, 0.918585790005),
              (0.441683919945, 0.227032447132, 0.656335392757), (18, 34)),
    "log": ((0.739130434783, 0.579799217968, 0.942246527232),
            (0.441683919945, 0.271675995392, 0.718078477475), (18, 45)),
    "log-log": ((0.739130434783, 0.509209438754, 0.873375781698),
                (0.441683919945, 0.227381168463, 0.637092687460), (13, 34)),
}


@pytest.mark.parametrize("kind", intervals.KM_INTERVALS)
def test_kaplan_meier_intervals_match_r(kind):
    at12, at30, median_ci = AML_AT[kind]
    assert_allclose(intervals.km_at(AML_TIME, AML_EVENT, 12, 0.95, kind), at12, atol=1e-9)
    assert_allclose(intervals.km_at(AML_TIME, AML_EVENT, 30, 0.95, kind), at30, atol=1e-9)
    assert intervals.km_median_ci(AML_TIME, AML_EVENT, 0.95, kind) == median_ci


def test_a_landmark_past_the_last_time_is_not_defined():
    assert all(x != x for x in intervals.km_at([1, 2], [1, 0], 5))


# --- claims ----------------------------------------------------------------------------------


def _claim(id_, printed, reads, precision, measure):
    return {"id": id_, "printed": printed, "locator": {"source": "abstract", "paragraph": 1},
            "says": id_, "reads": reads, "precision": precision, "measure": measure}


def _aml_ledger(toy_ledger, write_ledger, extra):
    toy_ledger["record"].update({"death": {}, "last_contact_day": {"min": 0, "max": 400,
                                                                   "step": 1}})
    toy_ledger["claims"] = toy_ledger["claims"][:2] + extra
    return L.load_ledger(write_ledger(toy_ledger))


def _aml_table():
    table = cohort_mod.empty(len(AML_TIME), STUDY_DTYPES)
    table["group"][:] = ["a"] * 11 + ["b"] * 12
    table["death"][:] = AML_EVENT
    table["last_contact_day"][:] = AML_TIME
    return table


def test_a_landmark_rate_and_a_median_with_their_intervals_are_claims(toy_ledger, write_ledger):
    led = _aml_ledger(toy_ledger, write_ledger, [
        _claim("os_30", "44.2% (95% CI 27.2-71.8%)", ["percent", "level", "ci_low", "ci_high"],
               {"percent": 0.1, "level": 1, "ci_low": 0.1, "ci_high": 0.1},
               {"population": "True", "statistic": "km_landmark", "endpoint": "overall_survival",
                "at": 30, "ci": "log"}),
        _claim("os_median", "27 (95% CI 13-34)", ["median", "level", "ci_low", "ci_high"],
               {"median": 1, "level": 1, "ci_low": 1, "ci_high": 1},
               {"population": "True", "statistic": "km_median", "endpoint": "overall_survival",
                "ci": "log-log"}),
        _claim("early_deaths", "5/13 (38.5%; 95% CI 17.7-64.5%)",
               ["count", "denominator", "percent", "level", "ci_low", "ci_high"],
               {"count": 1, "denominator": 1, "percent": 0.1, "level": 1, "ci_low": 0.1,
                "ci_high": 0.1},
               {"population": "group == 'b' or last_contact_day == 9", "event": "death and "
                "last_contact_day < 12", "statistic": "proportion_ci", "ci": "wilson"}),
    ])
    table = _aml_table()
    ev = Evaluator(led)
    for cid in ("os_30", "os_median", "early_deaths"):
        result = ev.claim_result(led.claim(cid), table)
        assert result.adopted.matched, (cid, result.adopted.computed)
    # The same figures under another interval do not print as printed.
    toy_ledger["claims"][-1]["measure"]["ci"] = "jeffreys"
    toy_ledger["claims"][-2]["measure"]["ci"] = "log"
    toy_ledger["claims"][-3]["measure"]["ci"] = "plain"
    led = L.load_ledger(write_ledger(toy_ledger))
    for cid in ("os_30", "os_median", "early_deaths"):
        assert not Evaluator(led).claim_result(led.claim(cid), table).adopted.matched, cid


def test_a_percentage_printed_truncated_is_a_claim(toy_ledger, write_ledger):
    # 3/13 = 23.0769...%: "23.07%" prints it truncated, not rounded (23.08%).
    claim = _claim("cr_trunc", "3 (23.07%)", ["count", "percent"],
                   {"count": 1, "percent": 0.01},
                   {"population": "group == 'b'", "event": "cr_d30", "statistic": "count"})
    led = _aml_ledger(toy_ledger, write_ledger, [claim])
    table = _aml_table()
    table["group"][:] = ["a"] * 10 + ["b"] * 13
    table["cr_d30"][:] = [0] * 10 + [1] * 3 + [0] * 10
    assert not Evaluator(led).claim_result(led.claim("cr_trunc"), table).adopted.matched
    claim["measure"]["rounding"] = "truncate"
    led = _aml_ledger(toy_ledger, write_ledger, [claim])
    assert Evaluator(led).claim_result(led.claim("cr_trunc"), table).adopted.matched


def test_inversion_lists_the_counts_each_interval_method_admits():
    reads = (("percent", 23.1, 0.1), ("ci_low", 8.2, 0.1), ("ci_high", 50.3, 0.1))
    assert (3, 13) in feasible_proportions(reads, 0.95, 13, "wilson")
    assert (3, 13) not in feasible_proportions(reads, 0.95, 13, "clopper-pearson")


@pytest.mark.parametrize("measure, message", [
    ({"statistic": "proportion_ci", "event": "cr_d30", "ci": "exact"},
     "'exact' is not a proportion interval"),
    ({"statistic": "proportion_ci", "event": "cr_d30"}, "needs 'ci'"),
    ({"statistic": "km_landmark", "endpoint": "overall_survival", "at": 1, "unit": "years"},
     "the figure prints an interval: name its method"),
    ({"statistic": "km_landmark", "endpoint": "overall_survival", "at": 1, "ci": "wilson"},
     "'wilson' is not a Kaplan-Meier interval"),
    ({"statistic": "km_landmark", "endpoint": "overall_survival", "ci": "log"}, "needs 'at'"),
])
def test_an_interval_without_a_known_method_is_refused(toy_ledger, write_ledger, measure,
                                                      message):
    measure = {"population": "True", **measure}
    claim = _claim("rate", "43% (95% CI 28-57%)", ["percent", "level", "ci_low", "ci_high"],
                   {"percent": 1, "level": 1, "ci_low": 1, "ci_high": 1}, measure)
    toy_ledger["record"].update({"death": {}, "last_contact_day": {"min": 0, "max": 400,
                                                                   "step": 1}})
    toy_ledger["claims"].append(claim)
    with pytest.raises(LedgerError, match=message):
        L.load_ledger(write_ledger(toy_ledger))


# --- cumulative incidence -------------------------------------------------------------------

# R 4.2, cmprsk 2.2-11: timepoints(cuminc(time, status, cencode = 0), times): the estimate
# and Gray's variance of cause 1 ("1 1") and of cause 2 ("1 2", here as cause 1 with the
# codes swapped).
CIF_SMALL = ([2, 3, 3, 5, 6, 8, 9, 12], [1, 2, 1, 0, 1, 2, 0, 1], {
    2: ((0.125, 0.015625), (0.0, 0.0)),
    3: ((0.25, 0.0271045918367347), (0.125, 0.0159438775510204)),
    6: ((0.40625, 0.0413743622448980), (0.125, 0.0159438775510204)),
    8: ((0.40625, 0.0413743622448980), (0.28125, 0.0385066787131519)),
})
# set.seed(1); tt <- sample(1:25, 40, TRUE); ss <- sample(0:2, 40, TRUE, c(.3, .4, .3))
CIF_TIED = ([25, 4, 7, 1, 2, 23, 11, 14, 18, 19, 1, 21, 21, 10, 22, 14, 10, 7, 9, 15, 21, 5, 9,
             25, 14, 5, 5, 2, 10, 25, 12, 15, 1, 20, 3, 6, 10, 10, 6, 15],
            [2, 2, 0, 1, 2, 0, 2, 2, 0, 2, 1, 1, 1, 1, 2, 2, 2, 0, 1, 2, 1, 2, 1, 2, 0, 1, 0, 1,
             0, 1, 1, 2, 0, 0, 1, 0, 0, 2, 0, 1], {
    5: ((0.127027027027027, 0.00289753174168768), (0.077027027027027, 0.00187762393609064)),
    10: ((0.218866943866944, 0.00492683525773503), (0.138253638253638, 0.00345343632149979)),
    20: ((0.288955301455301, 0.00643779019369949), (0.352143970893971, 0.00795355343849418)),
})


@pytest.mark.parametrize("data", [CIF_SMALL, CIF_TIED], ids=["small", "tied"])
def test_cumulative_incidence_and_grays_variance_match_cmprsk(data):
    time, status, expected = data
    swapped = [{1: 2, 2: 1}.get(s, s) for s in status]
    for at, (cause1, cause2) in expected.items():
        assert_allclose(intervals.aalen_johansen(time, status, at), cause1, atol=1e-12)
        assert_allclose(intervals.aalen_johansen(time, swapped, at), cause2, atol=1e-12)


def test_the_log_log_interval_of_a_cumulative_incidence():
    f, v = intervals.aalen_johansen(*CIF_TIED[:2], 10)
    _, low, high = intervals.cumulative_incidence(*CIF_TIED[:2], 10, 0.95, "log-log")
    # On the log(-log F) scale the interval is symmetric, with half-width z sd / |F log F|.
    half = 1.959963984540054 * v ** 0.5 / abs(f * math.log(f))
    assert_allclose([math.log(-math.log(high)), math.log(-math.log(low))],
                    [math.log(-math.log(f)) - half, math.log(-math.log(f)) + half], atol=1e-12)


def _endpoint_ledger(toy_ledger, write_ledger, endpoints, measure):
    toy_ledger["record"].update({"death": {}, "relapse": {}, "relapse_day": {"min": 0, "max": 400,
                                                                             "step": 1},
                                 "last_contact_day": {"min": 0, "max": 400, "step": 1}})
    toy_ledger["endpoints"] = endpoints
    toy_ledger["claims"] = toy_ledger["claims"][:2] + [_claim(
        "cir", "25% (95% CI 1-60%)", ["percent", "level", "ci_low", "ci_high"],
        {"percent": 1, "level": 1, "ci_low": 1, "ci_high": 1}, measure)]
    return L.load_ledger(write_ledger(toy_ledger))


CIR = {"says": "relapse; death in remission competes",
       "events": [{"when": "relapse", "day": "relapse_day"}],
       "competing": [{"when": "death and not relapse", "day": "last_contact_day"}]}
CIR_MEASURE = {"population": "True", "statistic": "cumulative_incidence", "endpoint": "cir",
               "at": 100, "ci": "log-log"}


def test_a_declared_endpoint_gives_times_and_competing_events(toy_ledger, write_ledger):
    led = _endpoint_ledger(toy_ledger, write_ledger, {"cir": CIR}, CIR_MEASURE)
    table = cohort_mod.empty(5, STUDY_DTYPES)
    table["cr_d30"][:] = [1, 1, 1, 0, 1]
    table["relapse"][:] = [1, 0, 1, 0, 0]
    table["relapse_day"][:] = [50, math.nan, 80, math.nan, math.nan]
    table["death"][:] = [1, 1, 0, 1, 0]
    table["last_contact_day"][:] = [90, 60, 200, 20, 300]
    ev = Evaluator(led)
    time, status = ev.endpoint_status("cir", table)
    assert time.tolist() == [50, 60, 80, 20, 300] and status.tolist() == [1, 2, 1, 2, 0]
    time, event = ev.endpoint("cir", table)           # Kaplan-Meier: competing censors
    assert event.tolist() == [True, False, True, False, False]
    computed = ev.compute(led.claim("cir"), led.claim("cir").adopted, table)
    # Competing at 20, relapse at 50, competing at 60, relapse at 80:
    # F(100) = 4/5 * 1/4 + (4/5 * 3/4 * 2/3) * 1/2 = 0.4.
    assert computed.values["percent"] == pytest.approx(100 * (1 / 4 * 4 / 5 + 1 / 2 * 3 / 5 * 2 / 3))


@pytest.mark.parametrize("endpoints, measure, message", [
    ({"cir": CIR}, {**CIR_MEASURE, "endpoint": "cif"}, "unknown endpoint 'cif'"),
    ({"overall_survival": CIR}, {**CIR_MEASURE, "endpoint": "overall_survival"},
     "the record already defines this endpoint"),
    ({"cir": {**CIR, "events": [{"when": "relapse", "day": "death_cause"}]}}, CIR_MEASURE,
     "'death_cause' is not a numeric column"),
    ({"cir": {**CIR, "events": [{"when": "relapsed", "day": "relapse_day"}]}}, CIR_MEASURE,
     r"unknown column\(s\) \['relapsed'\]"),
    ({"cir": CIR}, {**CIR_MEASURE, "ci": "log"}, "'log' is not a cumulative incidence interval"),
])
def test_a_bad_declared_endpoint_is_refused(toy_ledger, write_ledger, endpoints, measure,
                                            message):
    with pytest.raises(LedgerError, match=message):
        _endpoint_ledger(toy_ledger, write_ledger, endpoints, measure)
