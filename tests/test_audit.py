"""The consistency audit: checks that must hold on the ledgers and fail on wrong toy ledgers."""

from __future__ import annotations

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
