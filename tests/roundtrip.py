"""A survival-heavy study made from a known cohort, for round-trip acceptance tests.

:func:`truth` draws a cohort of two arms (13 and 15 patients) with remissions,
relapses, deaths and censoring inside an enrolment window; :func:`ledger`
prints what a paper would print about it (counts, Kaplan-Meier medians in
months with their ranges, one-year survival with its interval, a log-rank
p-value with its direction, the one-year cumulative incidence of relapse),
each computed by the library and rounded half up. Every figure of that ledger
is met by the truth, so a search from the ledger alone must find a cohort
that meets them all.
"""

from __future__ import annotations

import math

import numpy as np

from cart_lib import cohort as cohort_mod
from cart_lib.core import printed
from cart_lib.measures.km_median import flat_at_half
from cart_lib.stats import intervals, statistics

SIZES = {"a": 13, "b": 15}
SOURCE = {"a": "donor-derived", "b": "recipient-derived"}
#: Median survival (days) of each arm, and the enrolment window that censors the living.
MEDIAN_DAYS = {"a": 150, "b": 420}
FOLLOW_UP = (360, 900)


def truth(seed: int = 3) -> cohort_mod.Table:
    """A cohort with every timeline rule of the record kept (relapse after day 30, and so on)."""
    rng = np.random.default_rng(seed)
    n = sum(SIZES.values())
    table = cohort_mod.empty(n)
    groups = [g for g, k in SIZES.items() for _ in range(k)]
    table["patient_id"][:] = [f"P{i + 1:02d}" for i in range(n)]
    table["study"][:] = "roundtrip"
    table["group"][:] = groups
    table["treatment"][:] = "CAR-T"
    table["car_source"][:] = [SOURCE[g] for g in groups]
    table["donor"][:] = "none"
    table["prior_hsct"][:] = 0.0
    for i, g in enumerate(groups):
        death_day = math.ceil(rng.exponential(MEDIAN_DAYS[g] / math.log(2))) + 20
        censor_day = int(rng.integers(*FOLLOW_UP))
        dies = death_day <= censor_day
        last = death_day if dies else censor_day
        responder = rng.random() < (0.6 if g == "a" else 0.85)
        relapse_day = int(rng.integers(35, max(36, last - 5))) if responder and \
            last > 45 and rng.random() < 0.4 else None
        table["cr_d30"][i] = float(responder)
        table["relapse"][i] = float(relapse_day is not None) if responder else 0.0
        table["relapse_day"][i] = relapse_day if relapse_day is not None else np.nan
        table["death"][i] = float(dies)
        table["death_cause"][i] = ("relapse" if relapse_day is not None else "progression"
                                   if not responder else "infection") if dies else None
        table["last_contact_day"][i] = last
    return cohort_mod.normalize(table)


def _claim(cid, text, reads, precision, **measure):
    return {"id": cid, "printed": text, "locator": {"source": "abstract", "paragraph": 1},
            "says": cid, "reads": reads, "precision": precision, "measure": measure}


def _fmt(value: float, decimals: int) -> str:
    return printed.fmt(value, decimals)


def ledger(table: cohort_mod.Table) -> dict:
    """The ledger a paper about ``table`` would print (a dict, ready for YAML)."""
    groups = table["group"]
    last, death = table["last_contact_day"], table["death"] == 1.0
    month = 365.25 / 12
    claims = [_claim("total", f"{len(groups)} patients", ["count"], {"count": 1},
                     population="True", statistic="count")]
    for g in SIZES:
        arm = groups == g
        k = int((table["cr_d30"][arm] == 1.0).sum())
        claims.append(_claim(f"n_{g}", f"{int(arm.sum())} in arm {g}", ["count"], {"count": 1},
                             population="True", event=f"group == '{g}'", statistic="count"))
        claims.append(_claim(f"cr_{g}", f"{k}/{int(arm.sum())} ({_fmt(100 * k / arm.sum(), 1)}%)",
                             ["count", "denominator", "percent"],
                             {"count": 1, "denominator": 1, "percent": 0.1},
                             population=f"group == '{g}'", event="cr_d30", statistic="count"))
        time, event = last[arm], death[arm]
        assert not flat_at_half(*statistics.km_steps(time, event))
        median = statistics.km_median(time, event) / month
        claims.append(_claim(
            f"os_median_{g}", f"{_fmt(median, 1)} months ({_fmt(time.min() / month, 1)}-"
            f"{_fmt(time.max() / month, 1)})", ["median", "min", "max"],
            {"median": 0.1, "min": 0.1, "max": 0.1}, population=f"group == '{g}'",
            statistic="km_median", endpoint="overall_survival", unit="months"))
        s, low, high = intervals.km_at(time, event, 365.25, 0.95, "log-log")
        claims.append(_claim(
            f"os_1y_{g}", f"{_fmt(100 * s, 0)}% (95% CI {_fmt(100 * low, 0)}-{_fmt(100 * high, 0)}%)",
            ["percent", "level", "ci_low", "ci_high"],
            {"percent": 1, "level": 1, "ci_low": 1, "ci_high": 1},
            population=f"group == '{g}'", statistic="km_landmark", endpoint="overall_survival",
            at=1, unit="years", ci="log-log"))
    a, b = groups == "a", groups == "b"
    p = statistics.logrank_p(last[a], death[a], last[b], death[b])
    excess = statistics.logrank_observed_minus_expected(last[a], death[a], last[b], death[b])
    claims.append(_claim("os_logrank", f"p = {_fmt(p, 3)}", ["p"], {"p": 0.001},
                         population="True", groups=["group == 'a'", "group == 'b'"],
                         statistic="p_value", test="logrank", endpoint="overall_survival",
                         direction="first_higher" if excess > 0 else "first_lower"))
    relapse = table["relapse"] == 1.0
    cir_time = np.where(relapse, table["relapse_day"], last)
    cir_status = np.where(relapse, 1, np.where(death, 2, 0))
    f, low, high = intervals.cumulative_incidence(cir_time, cir_status, 365.25, 0.95, "log-log")
    claims.append(_claim(
        "cir_1y", f"{_fmt(100 * f, 0)}% (95% CI {_fmt(100 * low, 0)}-{_fmt(100 * high, 0)}%)",
        ["percent", "level", "ci_low", "ci_high"],
        {"percent": 1, "level": 1, "ci_low": 1, "ci_high": 1}, population="True",
        statistic="cumulative_incidence", endpoint="relapse_incidence", at=1, unit="years",
        ci="log-log"))
    return {
        "study": "roundtrip", "title": "A study made from a known cohort",
        "reference": {"authors": "Doe J", "title": "Round trip", "journal": "Nowhere",
                      "year": 2000},
        "sources": {"abstract": "printed by tests/roundtrip.py"},
        "design": "two arms, survival printed as a paper would", "size_claim": "total",
        "groups": {g: {"treatment": "CAR-T", "car_source": SOURCE[g], "donor": "none",
                       "prior_hsct": False} for g in SIZES},
        "record": {"cr_d30": {}, "relapse": {}, "relapse_day": {"min": 31, "max": 900, "step": 1},
                   "death": {}, "death_cause": {"values": ["relapse", "progression", "infection"]},
                   "last_contact_day": {"min": 1, "max": 900, "step": 1}},
        "rules": {"lfs_non_responder": "assessment", "earliest_assessment_day": 14,
                  "response_window_days": 30, "why": "made up"},
        "endpoints": {"relapse_incidence": {
            "says": "relapse; death without relapse competes",
            "events": [{"when": "relapse", "day": "relapse_day"}],
            "competing": [{"when": "death and not relapse", "day": "last_contact_day"}]}},
        "constraints": [{"id": "followed_a_year", "why": "enrolment closed a year before the "
                         "data cut-off", "says": "living patients followed at least a year",
                         "population": "not death", "holds": "last_contact_day >= 360"}],
        "claims": claims,
    }
