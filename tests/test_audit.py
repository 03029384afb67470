"""The consistency audit: checks that must hold on the ledgers and fail on wrong toy ledgers."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from cart_lib.evaluate import audit
from cart_lib import ledger as L
from cart_lib.core import paths
from cart_lib.core.errors import LedgerError

STUDIES = paths.studies()


def _count_claim(cid, printed, population, event=None, reads=("count",)):
    measure = {"population": population, "statistic": "count"}
    if event:
        measure["event"] = event
    precision = {r: (0.1 if r == "percent" else 1) for r in reads}
    return {"id": cid, "printed": printed, "locator": {"source": "abstract", "paragraph": 1},
            "says": cid, "reads": list(reads), "precision": precision, "measure": measure}


@pytest.mark.parametrize("study", STUDIES)
def test_every_check_of_the_adopted_readings_holds(study):
    frame = audit.arithmetic_frame(L.load(study))
    assert len(frame) and (frame["holds"] == "yes").all(), frame[frame["holds"] != "yes"]


def test_group_counts_adding_up_are_found(toy_ledger, write_ledger):
    toy_ledger["claims"] += [_count_claim("n_a", "6 in a", "True", "group == 'a'"),
                             _count_claim("n_b", "4 in b", "True", "group == 'b'")]
    facts = audit.CountFacts(L.load_ledger(write_ledger(toy_ledger)))
    sums = [c for c in facts.checks if c.kind == "adds up"]
    assert [c.holds for c in sums] == [True]
    assert "6 + 4 = 10" in sums[0].statement


def test_group_counts_that_do_not_add_up_fail(toy_ledger, write_ledger):
    toy_ledger["claims"] += [_count_claim("n_a", "6 in a", "True", "group == 'a'"),
                             _count_claim("n_b", "5 in b", "True", "group == 'b'")]
    facts = audit.CountFacts(L.load_ledger(write_ledger(toy_ledger)))
    failed = [c for c in facts.checks if not c.holds]
    assert failed and failed[0].kind == "adds up" and set(failed[0].claims) == {"total", "n_a", "n_b"}


def test_a_percentage_that_does_not_match_its_count_fails(toy_ledger, write_ledger):
    # 'cr' prints 9 (90.0%) of group a; with 10 in group a that holds, with 9 it does not.
    toy_ledger["claims"].append(_count_claim("n_a", "9 in a", "True", "group == 'a'"))
    facts = audit.CountFacts(L.load_ledger(write_ledger(toy_ledger)))
    [check] = [c for c in facts.checks if c.kind == "percentage"]
    assert not check.holds and check.statement.startswith("9/9 = 100.0%")


def test_a_subgroup_larger_than_its_group_fails(toy_ledger, write_ledger):
    toy_ledger["claims"] += [_count_claim("crs", "4 with CRS", "True", "crs_grade >= 1"),
                             _count_claim("severe", "5 severe", "True", "severe_crs")]
    facts = audit.CountFacts(L.load_ledger(write_ledger(toy_ledger)))
    failed = [c for c in facts.checks if not c.holds]
    assert [c.kind for c in failed] == ["subset"] and set(failed[0].claims) == {"severe", "crs"}


def test_a_partition_derives_the_unprinted_part(toy_ledger, write_ledger):
    toy_ledger["claims"].append(_count_claim("n_a", "6 in a", "True", "group == 'a'"))
    facts = audit.CountFacts(L.load_ledger(write_ledger(toy_ledger)))
    assert facts.size_of("group == 'b'") == 4


def test_the_follow_up_literal_reading_conflicts_with_the_survival_range():
    led = L.load("zhang2020")
    claim = led.claim("follow_up")
    literal = next(r for r in claim.readings if r.id == "post-hsct")
    failed = audit.failed_checks(led, {claim.id: literal})
    assert [c.claims for c in failed] == [("follow_up", "post_hsct_os")]
    assert audit.failed_checks(led) == []


def test_every_ambiguity_gets_a_verdict_for_every_reading():
    for study in STUDIES:
        led = L.load(study)
        verdicts = audit.reading_verdicts(led)
        expected = {(c.id, r.id) for c in led.claims if len(c.readings) > 1 for r in c.readings}
        assert {(v.claim, v.reading) for v in verdicts} == expected


def test_inversion_pins_the_severe_crs_table():
    facts = audit.CountFacts(L.load("hu2019"))
    assert facts.size_of("group == 'autoCAR'", "severe_crs") == 8
    assert facts.size_of("group == 'RD-alloCAR'", "severe_crs") == 1
    assert facts.size_of("group == 'DD-alloCAR'", "severe_crs") is None


def test_bounds():
    assert audit.frechet_bounds(4, 9, 4) == (0, 4)
    assert audit.frechet_bounds(8, 10, 5) == (3, 5)
    assert audit.km_followed_beyond_median(3, 20) == 3


def test_summarise_samples_marks_pinned_quantities():
    frame = pd.DataFrame({"deaths": [6, 6, 6], "os_1y": [30.0, 25.0, float("nan")]})
    out = audit.summarise_samples(frame)
    assert out.loc["deaths", "pinned"] == "yes" and out.loc["os_1y", "pinned"] == ""
    assert out.loc["os_1y", "cohorts"] == 2 and out.loc["os_1y", "min"] == 25.0


def test_a_slip_must_name_an_existing_claim(toy_ledger, write_ledger):
    toy_ledger["slips"] = [{"printed": "parents", "means": "patients", "claim": "nothing",
                            "locator": {"source": "abstract", "paragraph": 1}, "why": "typo"}]
    with pytest.raises(LedgerError, match="slips"):
        L.load_ledger(write_ledger(toy_ledger))


# ---------------------------------------------------------------- feasibility from the ledger alone

def _figure(cid, printed, reads, precision, measure):
    return {"id": cid, "printed": printed, "locator": {"source": "abstract", "paragraph": 1},
            "says": cid, "reads": reads, "precision": precision, "measure": measure}


def _thirteen_in_a(toy_ledger, write_ledger, *claims):
    """A toy study of 20 patients, 13 of them in group a (so 7 in group b), with ``claims``."""
    toy_ledger["claims"] = [toy_ledger["claims"][0] | {"printed": "20 patients"},
                            _count_claim("n_a", "13 in a", "True", "group == 'a'"), *claims]
    return L.load_ledger(write_ledger(toy_ledger))


def _named(led):
    return [c.named for c in audit.failed_checks(led, figures=True)]


def _remission(printed, reads, precision, **extra):
    return _figure("cr", printed, reads, precision,
                   {"population": "group == 'a'", "event": "cr_d30", "statistic": "count"} | extra)


def test_a_percentage_alone_is_checked_at_the_known_denominator_under_its_convention(
        toy_ledger, write_ledger):
    # 3/13 = 23.0769...%: 23.08% rounded, 23.07% truncated; 2/13 = 15.38%, 4/13 = 30.77%.
    claim = _remission("23.07% in remission", ["percent"], {"percent": 0.01})
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim)) == [
        "cr (percent): no k/13 prints as 23.07% under every rounding convention; "
        "3/13 does when truncated"]
    claim["measure"]["rounding"] = "half-up"
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim)) == [
        "cr (percent): no k/13 prints as 23.07% rounding half up; 3/13 does when truncated"]
    claim["measure"]["rounding"] = "truncate"
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim)) == []


def test_a_count_and_percentage_name_the_convention_and_the_counts_that_would_print(
        toy_ledger, write_ledger):
    claim = _remission("3 (23.07%)", ["count", "percent"], {"count": 1, "percent": 0.01})
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim)) == [
        "cr (count, percent): 3/13 = 23.08% against printed 23.07% (under every rounding "
        "convention); 3/13 does when truncated"]
    # 30.8% is 4/13 (30.77%), under any convention; 3/13 is 23.1% under all.
    claim = _remission("3 (30.8%)", ["count", "percent"], {"count": 1, "percent": 0.1})
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim)) == [
        "cr (count, percent): 3/13 = 23.1% against printed 30.8% (under every rounding "
        "convention); 3/13 prints so under no convention, 4/13 does"]
    # 25.0%: 3/13 = 23.08%, 4/13 = 30.77%: no count of 13 comes near.
    claim = _remission("3 (25.0%)", ["count", "percent"], {"count": 1, "percent": 0.1})
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim))[0].endswith(
        "; 3/13 prints so under no convention, and no k/13 does")


def test_a_count_larger_than_its_printed_denominator_is_named(toy_ledger, write_ledger):
    claim = _remission("14 of 13", ["count", "denominator"], {"count": 1, "denominator": 1})
    named = _named(_thirteen_in_a(toy_ledger, write_ledger, claim))
    assert "cr (count, denominator): count 14 within its denominator 13" in named


def test_an_interval_is_checked_at_the_known_count_and_denominator(toy_ledger, write_ledger):
    # 3/13: Clopper-Pearson 5.04-53.81%, Wilson 8.18-50.26% (R: binom.test, prop.test(correct = FALSE)).
    def interval(printed, statistic="exact_ci", **extra):
        return _figure("cr", printed, ["percent", "level", "ci_low", "ci_high"],
                       {"percent": 0.1, "level": 1, "ci_low": 0.1, "ci_high": 0.1},
                       {"population": "group == 'a'", "event": "cr_d30",
                        "statistic": statistic} | extra)

    assert _named(_thirteen_in_a(toy_ledger, write_ledger,
                                 interval("23.1% (95% CI 5.0–53.8%)"))) == []
    [problem] = _named(_thirteen_in_a(toy_ledger, write_ledger,
                                      interval("23.1% (95% CI 8.2–50.3%)")))
    assert problem.startswith(
        "cr (percent, ci_low, ci_high): no k/13 prints as '23.1% (95% CI 8.2–50.3%)' with the "
        "clopper-pearson interval under every rounding convention (3/13 gives 23.1% "
        "(5.0–53.8%)); 3/13 does with the wilson interval")
    assert _named(_thirteen_in_a(toy_ledger, write_ledger,
                                 interval("23.1% (95% CI 8.2–50.3%)", "proportion_ci",
                                          ci="wilson"))) == []


def test_an_interval_of_unknown_denominator_is_tried_up_to_the_cohort(toy_ledger, write_ledger):
    # Group b's count of remissions is unknown, and so is the size of the remission-free
    # patients; 15/17 (63.6-98.5%) needs 17 patients, more than the 20 - 13 in group b but
    # within the whole cohort of 20.
    claim = _figure("cr", "88.2% (95% CI 63.6–98.5%)", ["percent", "level", "ci_low", "ci_high"],
                    {"percent": 0.1, "level": 1, "ci_low": 0.1, "ci_high": 0.1},
                    {"population": "crs_grade >= 1", "event": "cr_d30", "statistic": "exact_ci"})
    led = _thirteen_in_a(toy_ledger, write_ledger, claim)
    assert _named(led) == []
    [check] = [c for c in audit.CountFacts(led).figure_checks() if c.kind == "interval"]
    assert check.statement.startswith("some k/n with n up to 20 patients prints")
    toy_ledger["claims"][0]["printed"] = "16 patients"
    toy_ledger["claims"][1]["printed"] = "9 in a"
    led = L.load_ledger(write_ledger(toy_ledger))
    assert _named(led) == [
        "cr (percent, ci_low, ci_high): no k/n with n up to 16 patients prints as "
        "'88.2% (95% CI 63.6–98.5%)' with the clopper-pearson interval under every rounding "
        "convention; nor with another interval or convention"]


def test_a_p_value_is_checked_at_the_group_sizes_the_figures_fix(toy_ledger, write_ledger):
    # 8/17 vs 1/11 severe CRS: Fisher p = 0.049, the only such table (Hu 2019).
    toy_ledger["claims"] = [toy_ledger["claims"][0] | {"printed": "28 patients"},
                            _count_claim("n_a", "17 in a", "True", "group == 'a'"),
                            toy_ledger["claims"][2]]
    assert _named(L.load_ledger(write_ledger(toy_ledger))) == []
    for reading in toy_ledger["claims"][2]["readings"]:
        reading["adopted"] = reading["id"] == "chi2"
    [problem] = _named(L.load_ledger(write_ledger(toy_ledger)))
    assert problem == ("crs_p (p): no table of 17 vs 11 patients gives p = 0.049 under chi2; "
                       "fisher_exact does")


def test_every_problem_is_named_at_once(toy_ledger, write_ledger):
    claims = [_remission("23.07% in remission", ["percent"], {"percent": 0.01}),
              _figure("cr_b", "8 of 7", ["count", "denominator"], {"count": 1, "denominator": 1},
                      {"population": "group == 'b'", "event": "cr_d30", "statistic": "count"})]
    named = _named(_thirteen_in_a(toy_ledger, write_ledger, *claims))
    assert [n.split(":")[0] for n in named] == ["cr (percent)", "cr_b (count, denominator)"]


def test_a_claim_marked_infeasible_as_printed_is_checked_under_its_adopted_reading(
        toy_ledger, write_ledger):
    claim = {"id": "cr", "printed": "23.07% in remission",
             "locator": {"source": "abstract", "paragraph": 1}, "says": "remissions",
             "reads": ["percent"], "precision": {"percent": 0.01}, "question": "rounded?",
             "infeasible_as_printed": "no count of 13 rounds to 23.07%",
             "readings": [{"id": "rounded", "population": "group == 'a'", "event": "cr_d30",
                           "statistic": "count", "adopted": False},
                          {"id": "truncated", "population": "group == 'a'", "event": "cr_d30",
                           "statistic": "count", "rounding": "truncate", "literal": False}]}
    assert _named(_thirteen_in_a(toy_ledger, write_ledger, claim)) == []


@pytest.mark.parametrize("study", STUDIES)
def test_the_committed_studies_are_feasible_from_the_ledger_alone_in_well_under_a_second(study):
    from cart_lib.stats import inversion

    led = L.load(study)
    for cached in (inversion.feasible_proportions, inversion.feasible_tables,
                   audit._proportion_ci):
        cached.cache_clear()
    start = time.perf_counter()
    failed = audit.failed_checks(led, figures=True)
    elapsed = time.perf_counter() - start
    assert failed == [] and elapsed < 1.0, (failed, elapsed)


def test_the_cohort_size_is_the_sum_of_the_groups_without_a_size_claim(toy_ledger,
                                                                         write_ledger):
    del toy_ledger["size_claim"]
    toy_ledger["claims"] = [_count_claim("n_a", "6 in a", "True", "group == 'a'"),
                            _count_claim("n_b", "4 in b", "True", "group == 'b'")]
    assert audit.cohort_size(L.load_ledger(write_ledger(toy_ledger))) == 10
    toy_ledger["claims"] = toy_ledger["claims"][:1]
    with pytest.raises(LedgerError, match=r"size_claim.*no printed figure fixes the size of "
                                          r"group\(s\) 'b'"):
        audit.cohort_size(L.load_ledger(write_ledger(toy_ledger)))
