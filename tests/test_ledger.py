"""The claims ledgers of both studies, and the refusal of malformed ledgers."""

from __future__ import annotations

import pytest

from cart_lib import ledger as L
from cart_lib.core import paths
from cart_lib.core.errors import LedgerError
from cart_lib.core.printed import tokens, rounds_to

STUDIES = paths.studies()


# ----------------------------------------------------------------- the real ledgers

@pytest.mark.parametrize("study", STUDIES)
def test_ledger_loads(study):
    led = L.load(study)
    assert led.study == study
    assert led.claim(led.size_claim).adopted.statistic is L.Statistic.count


def test_both_ledgers_hold_every_printed_figure():
    counts = {s: len(L.load(s).claims) for s in STUDIES}
    # zhang2020 prints far more single-patient and subgroup figures than hu2019.
    assert counts["hu2019"] == 16
    assert counts["zhang2020"] >= 55


@pytest.mark.parametrize("study", STUDIES)
def test_printed_percentages_agree_with_printed_counts(study):
    """Where a figure prints count, denominator and percent, the three agree at the printed precision."""
    for claim in L.load(study).claims:
        n = claim.numbers()
        if {"count", "denominator", "percent"} <= n.keys():
            share = 100 * n["count"].value / n["denominator"].value
            assert rounds_to(share, n["percent"].value, claim.precision["percent"]), claim.id


def test_a_published_interval_is_read_with_its_level():
    claim = L.load("hu2019").claim("cr_autocar")
    assert claim.holds_for()["ci_low"] == (63.55, 63.65)
    assert claim.numbers()["level"].value == 95


@pytest.mark.parametrize("study", STUDIES)
def test_ambiguous_claims_carry_a_question_and_one_adopted_reading(study):
    for claim in L.load(study).claims:
        if len(claim.readings) > 1:
            assert claim.question
            assert sum(r.adopted for r in claim.readings) == 1
            assert all(r.why for r in claim.readings), claim.id


def test_infeasible_as_printed_claims_adopt_a_reading_that_is_not_literal():
    for study in STUDIES:
        for claim in L.load(study).claims:
            if claim.infeasible_as_printed:
                assert not claim.adopted.literal, claim.id


# ------------------------------------------------------------------- bad input

def _error(write_ledger, content) -> LedgerError:
    with pytest.raises(LedgerError) as info:
        L.load_ledger(write_ledger(content))
    return info.value


def test_a_valid_toy_ledger_loads(toy_ledger, write_ledger):
    assert len(L.load_ledger(write_ledger(toy_ledger)).claims) == 3


def test_missing_field(toy_ledger, write_ledger):
    del toy_ledger["claims"][1]["says"]
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "says")
    assert "toy.yaml" in str(err) and "Field required" in str(err)


def test_unknown_statistic(toy_ledger, write_ledger):
    toy_ledger["claims"][1]["measure"]["statistic"] = "mean"
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "readings[0].statistic")


def test_unknown_test(toy_ledger, write_ledger):
    toy_ledger["claims"][2]["readings"][1]["test"] = "t_test"
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "readings[1].test")


def test_duplicate_id(toy_ledger, write_ledger):
    toy_ledger["claims"][2]["id"] = "cr"
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "id")
    assert "duplicate" in err.rule


def test_printed_figure_that_does_not_parse(toy_ledger, write_ledger):
    toy_ledger["claims"][1]["printed"] = "nine in remission"
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "printed")
    assert "holds 1 number(s)" in err.rule


def test_precision_that_contradicts_the_printed_figure(toy_ledger, write_ledger):
    toy_ledger["claims"][1]["precision"]["percent"] = 1
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "precision.percent")
    assert "contradicts the printed '90.0'" in err.rule


def test_precision_missing_a_role(toy_ledger, write_ledger):
    del toy_ledger["claims"][1]["precision"]["count"]
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "precision")


def test_population_with_unknown_column(toy_ledger, write_ledger):
    toy_ledger["claims"][1]["measure"]["population"] = "arm == 'a'"
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "readings[plain].population")
    assert "unknown column(s) ['arm']" in err.rule


def test_expression_outside_the_grammar(toy_ledger, write_ledger):
    toy_ledger["claims"][1]["measure"]["event"] = "__import__('os').system('true')"
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("cr", "readings[plain].event")


def test_role_the_statistic_cannot_read(toy_ledger, write_ledger):
    toy_ledger["claims"][2]["reads"] = ["median"]
    toy_ledger["claims"][2]["precision"] = {"median": 0.001}
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "reads")


def test_two_adopted_readings(toy_ledger, write_ledger):
    toy_ledger["claims"][2]["readings"][1]["adopted"] = True
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "readings")


def test_several_readings_without_a_question(toy_ledger, write_ledger):
    del toy_ledger["claims"][2]["question"]
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "question")


def test_test_without_its_input(toy_ledger, write_ledger):
    del toy_ledger["claims"][2]["readings"][0]["event"]
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("crs_p", "readings[fisher].event")


def test_study_that_does_not_match_the_file_name(toy_ledger, write_ledger):
    toy_ledger["study"] = "other"
    err = _error(write_ledger, toy_ledger)
    assert err.field == "study"


def test_size_claim_that_names_no_claim(toy_ledger, write_ledger):
    toy_ledger["size_claim"] = "nobody"
    assert _error(write_ledger, toy_ledger).field == "size_claim"


@pytest.mark.parametrize("measure, counted", [
    ({"population": "group == 'a'", "statistic": "count"}, "population \"group == 'a'\""),
    ({"population": "True", "event": "cr_d30", "statistic": "count"}, "event 'cr_d30'"),
])
def test_a_size_claim_that_does_not_count_the_whole_cohort_is_refused(toy_ledger, write_ledger,
                                                                       measure, counted):
    toy_ledger["claims"][0]["measure"] = measure
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("total", "size_claim")
    assert err.rule.startswith("the size claim must count the whole cohort") and counted in err.rule


def test_a_ledger_without_a_size_claim_loads(toy_ledger, write_ledger):
    del toy_ledger["size_claim"]
    assert L.load_ledger(write_ledger(toy_ledger)).size_claim is None


def test_variable_cycle(toy_ledger, write_ledger):
    toy_ledger["variables"]["a"] = {"expr": "b", "description": "x"}
    toy_ledger["variables"]["b"] = {"expr": "a", "description": "x"}
    err = _error(write_ledger, toy_ledger)
    assert err.field == "variables" and "refers to itself" in err.rule


def test_unknown_field_is_refused(toy_ledger, write_ledger):
    toy_ledger["claims"][0]["precison"] = {"count": 1}
    err = _error(write_ledger, toy_ledger)
    assert (err.claim, err.field) == ("total", "precison")


def test_not_yaml(write_ledger):
    err = _error(write_ledger, "study: toy\nclaims: [\n")
    assert err.claim is None and "not valid YAML at line" in err.rule


def test_missing_file(tmp_path):
    with pytest.raises(LedgerError, match="cannot read the ledger"):
        L.load_ledger(tmp_path / "absent.yaml")


def test_error_message_is_one_line_naming_file_claim_and_field(toy_ledger, write_ledger):
    toy_ledger["claims"][1]["precision"]["percent"] = 1
    message = str(_error(write_ledger, toy_ledger))
    assert "\n" not in message
    assert message.startswith(str(write_ledger(toy_ledger)) + ": claim 'cr', field 'precision.percent': ")


def test_tokens_of_every_real_claim_match_its_reads():
    for study in STUDIES:
        for claim in L.load(study).claims:
            assert len(tokens(claim.printed)) == len(claim.reads), claim.id
