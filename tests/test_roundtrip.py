"""Round trip: a survival-heavy study printed from a known cohort is reconstructed from its ledger.

The ledger (``tests/roundtrip.py``) prints what a paper would about a cohort
drawn at random: counts, Kaplan-Meier medians with ranges, one-year survival
with its interval, a log-rank p-value with its direction and a cumulative
incidence with a competing event. The truth meets every figure; the search,
from the ledger alone, must find a cohort that meets every figure too, keeps
every timeline rule and plausibility constraint, and that R computes alike.
"""

from __future__ import annotations

import pytest
import yaml

import roundtrip
from cart_lib import cohort as cohort_mod
from cart_lib import ledger as L
from cart_lib.analysis import rscript
from cart_lib.cohort import schema
from cart_lib.evaluate import Evaluator
from cart_lib.reconstruct.plausibility import report
from cart_lib.reconstruct.search import Search
from test_rscript import lines_by_claim, r_available, run_r  # noqa: F401 (fixture)

TRUTHS = (3, 5, 8)


def _ledger(tmp_path, truth: int) -> L.Ledger:
    path = tmp_path / "roundtrip.yaml"
    path.write_text(yaml.safe_dump(roundtrip.ledger(roundtrip.truth(truth)), sort_keys=False))
    return L.load_ledger(path)


@pytest.mark.parametrize("truth", TRUTHS)
def test_the_known_cohort_meets_every_figure_printed_from_it(tmp_path, truth):
    led = _ledger(tmp_path, truth)
    table = roundtrip.truth(truth)
    assert [r.claim.id for r in Evaluator(led).evaluate(table) if r.status != "match"] == []
    assert (report(led, [table])["breaking"] == 0).all()


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roundtrip")
    led = _ledger(folder, 5)
    return led, Search(led, seed=0, time_budget=300).run().table, folder


def test_the_search_finds_a_cohort_from_the_ledger_alone(found):
    led, table, _ = found
    results = Evaluator(led).evaluate(table)
    assert [r.claim.id for r in results if r.status != "match"] == []
    assert (report(led, [table])["breaking"] == 0).all()
    alive = ~(table["death"] == 1.0)
    assert (table["last_contact_day"][alive] >= 360).all()       # the constraint


def test_r_computes_the_found_cohort_alike(found, r_available):
    led, table, folder = found
    csv = folder / "roundtrip.csv"
    schema.write_cohort(cohort_mod.to_frame(table), csv)
    out = run_r(rscript.write(led, folder / "roundtrip.R"), csv)
    lines = lines_by_claim(out.stdout)
    assert out.returncode == 0, out.stdout + out.stderr
    assert {c.id for c in led.claims} == {k for k, v in lines.items() if v["status"] == "MATCH"}
