"""Claim inversion: what printed p-values and intervals admit, checked against hand counts."""

from __future__ import annotations

import pytest

from cart_lib import ledger as L
from cart_lib.stats.inversion import (check_infeasible_as_printed, feasible_proportions,
                                      feasible_tables, feasible_tables_any_split, feasible_u,
                                      invert_reading)
from cart_lib.ledger import Test
from cart_lib.reconstruct import load_table


def test_severe_crs_p_admits_exactly_one_split():
    """p = 0.049, two-sided Fisher, fewer severe CRS after RD-alloCAR: only 8/17 vs 1/11."""
    assert feasible_tables(Test.fisher_exact, "first_higher", 0.049, 0.001, 17, 11) == \
        ((8, 9, 1, 10),)


def test_without_the_direction_a_mirror_split_also_fits():
    both = feasible_tables(Test.fisher_exact, None, 0.049, 0.001, 17, 11)
    assert set(both) == {(8, 9, 1, 10), (9, 8, 10, 1)}


@pytest.mark.parametrize("test", [Test.fisher_exact, Test.chi2, Test.chi2_yates])
def test_p_022_fits_no_table_of_the_14_allocar_patients(test):
    for direction in ("first_lower", "first_higher", None):
        assert feasible_tables_any_split(test, direction, 0.022, 0.001, 14) == ()


def test_p_022_fits_an_uncorrected_chi_square_on_11_patients():
    assert feasible_tables_any_split(Test.fisher_exact, None, 0.022, 0.001, 11) == ()
    assert set(feasible_tables_any_split(Test.chi2, "first_lower", 0.022, 0.001, 11)) == {
        (0, 4, 5, 2), (0, 5, 4, 2), (2, 4, 5, 0), (2, 5, 4, 0)}


def test_expansion_p_pins_u():
    assert feasible_u(Test.mannwhitney_exact, "first_higher", 0.007, 0.001, 17, 11) == (150,)


def test_exact_intervals_pin_count_and_denominator():
    reads = (("percent", 88.2, 0.1), ("ci_low", 63.6, 0.1), ("ci_high", 98.5, 0.1))
    assert feasible_proportions(reads, 0.95, 17) == ((15, 17),)
    reads = (("percent", 100.0, 1.0), ("ci_low", 71.5, 0.1), ("ci_high", 100.0, 1.0))
    assert feasible_proportions(reads, 0.95, 11) == ((11, 11),)


def test_the_ledger_marks_infeasible_claims_truthfully():
    led = L.load("hu2019")
    table = load_table("hu2019")
    claim = led.claim("cgvhd_early_relapse_p")
    fast = [r for r in claim.readings if r.test is not Test.boschloo_exact]
    inversions = [invert_reading(claim, r, led, table) for r in fast]
    assert not any(i.fits for i in inversions if i.literal)
    assert [i.reading for i in inversions if i.fits] == ["chi-square-recorded"]
    assert check_infeasible_as_printed(led, inversions) == []


def test_an_unmarked_claim_with_no_fitting_literal_reading_is_reported():
    led = L.load("hu2019")
    table = load_table("hu2019")
    claim = led.claim("cgvhd_early_relapse_p")
    unmarked = claim.model_copy(update={"infeasible_as_printed": None})
    patched = led.model_copy(update={"claims": [unmarked]})
    inversions = [invert_reading(unmarked, r, patched, table) for r in unmarked.readings
                  if r.test is not Test.boschloo_exact]
    problems = check_infeasible_as_printed(patched, inversions)
    assert problems and "no literal reading fits" in problems[0]


def test_invert_works_from_the_ledger_alone_before_any_cohort(tmp_path, monkeypatch, capsys):
    import shutil

    from cart_lib import cli
    from cart_lib.core import paths
    shutil.copy(paths.ledger_path("hu2019"), tmp_path / "hu2019.yaml")
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    monkeypatch.setattr(paths, "COHORTS", tmp_path / "cohorts")     # no cohort there
    assert cli.main(["invert", "--study", "hu2019"]) == 0
    out = capsys.readouterr().out
    assert "no cohort yet; group sizes from the printed figures alone" in out
    # The sizes the abstract prints fix the severe-CRS table under Fisher's test, as with a cohort.
    assert "fisher [adopted, literal] fisher_exact, 17 vs 11 (total 28): 1 feasible [(8, 9, 1, 10)]" \
        in out
    assert "plain [adopted, literal] Clopper-Pearson exact interval, denominators 1 to 17: " \
        "1 feasible [(15, 17)]" in out


def test_a_logrank_p_value_is_listed_with_why_it_is_not_inverted(toy_ledger, write_ledger):
    from cart_lib.evaluate import audit
    toy_ledger["record"].update({"death": {}, "last_contact_day": {"min": 0, "max": 400,
                                                                   "step": 1}})
    toy_ledger["claims"].append({
        "id": "os_p", "printed": "p = 0.02", "locator": {"source": "abstract", "paragraph": 1},
        "says": "survival differs", "reads": ["p"], "precision": {"p": 0.01},
        "measure": {"population": "True", "groups": ["group == 'a'", "group == 'b'"],
                    "statistic": "p_value", "test": "logrank", "endpoint": "overall_survival"}})
    led = L.load_ledger(write_ledger(toy_ledger))
    found = {(c.id, r.id): (inv, why) for c, r, inv, why in audit.invert_from_ledger(led)}
    inv, why = found[("os_p", "plain")]
    assert inv is None and "log-rank p-value depends on every patient's time" in why
