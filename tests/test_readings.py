"""Searches under the alternative readings no check decides (data/derived/<study>.readings.json)."""

from __future__ import annotations

import hashlib
import json

import pytest

from cart_lib.evaluate import audit
from cart_lib.core import paths
from cart_lib import ledger as L
from cart_lib.evaluate import Evaluator
from cart_lib.reconstruct import (load_readings, load_table, open_readings, readings_path,
                                  with_reading)
from cart_lib.reconstruct.search import Search

STUDIES = paths.studies()


@pytest.mark.parametrize("study", STUDIES)
def test_every_open_reading_was_searched_on_the_committed_data(study):
    record = json.loads(readings_path(study).read_text())
    led = L.load(study)
    assert record["ledger_sha256"] == led.sha256
    assert record["start_cohort_sha256"] == hashlib.sha256(
        paths.cohort_path(study).read_bytes()).hexdigest()
    searched = [(r["claim"], r["reading"]) for r in record["readings"]]
    assert searched == open_readings(led, load_table(study))


@pytest.mark.parametrize("study", STUDIES)
def test_a_reading_found_by_search_is_found_again_and_its_cohort_is_plausible(study):
    led = L.load(study)
    for (claim_id, reading_id), found in load_readings(study).items():
        if not found["found"] or found["moves"] > 150_000:
            continue
        claims = [with_reading(c, reading_id) if c.id == claim_id else c for c in led.claims]
        result = Search(led, seed=found["seed"], claims=claims).run()
        assert result.iterations == found["moves"]
        evaluator = Evaluator(led)
        assert evaluator.reading_result(led.claim(claim_id),
                                        next(r for r in led.claim(claim_id).readings
                                             if r.id == reading_id), result.table).matched
        from cart_lib.reconstruct.plausibility import report
        assert (report(led, [result.table])["breaking"] == 0).all()


def test_the_audit_takes_its_verdicts_from_the_searches():
    for study in STUDIES:
        led = L.load(study)
        searched = load_readings(study)
        verdicts = {(v.claim, v.reading): v for v in
                    audit.reading_verdicts(led, load_table(study), Evaluator(led), searched)}
        for key, found in searched.items():
            assert verdicts[key].verdict == ("feasible" if found["found"] else "not found")


def test_with_reading_adopts_another_reading():
    claim = L.load("zhang2020").claim("post_hsct_os")
    other = with_reading(claim, "simple")
    assert claim.adopted.id == "kaplan-meier" and other.adopted.id == "simple"
    assert [r.id for r in other.readings] == [r.id for r in claim.readings]
