"""Reconstructed cohorts: every claim holds, regeneration is byte for byte, failures are clear."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cart_lib import cli, ledger as L
from cart_lib.core import paths
from cart_lib.cohort import schema
from cart_lib.core.errors import CartError
from cart_lib.evaluate import Evaluator
from cart_lib.reconstruct import conflicting_claims, load_frame, load_table, reconstruct, write
from cart_lib.reconstruct.sample import state_of
from cart_lib.reconstruct.search import Search, SearchError

STUDIES = paths.studies()


@pytest.mark.parametrize("study", STUDIES)
def test_committed_cohort_satisfies_every_claim(study):
    led = L.load(study)
    for result in Evaluator(led).evaluate(load_table(study)):
        expected = "infeasible-as-printed" if result.claim.infeasible_as_printed else "match"
        assert result.status == expected, (result.claim.id, result.adopted.reproduced)


@pytest.mark.parametrize("study", STUDIES)
def test_fast_evaluators_agree_with_lifelines_and_scipy(study):
    led, table = L.load(study), load_table(study)
    slow, fast = Evaluator(led), Evaluator(led, fast=True)
    for claim in led.claims:
        for reading in claim.readings:
            a = slow.compute(claim, reading, table).values
            b = fast.compute(claim, reading, table).values
            assert a.keys() == b.keys()
            for role in a:
                assert np.isclose(a[role], b[role], rtol=1e-9, equal_nan=True), (claim.id, role)


@pytest.mark.parametrize("study", STUDIES)
def test_cohort_has_the_published_size_and_provenance(study):
    frame = load_frame(study)
    led = L.load(study)
    assert len(frame) == led.claim(led.size_claim).numbers()["count"].value
    provenance = json.loads(paths.cohort_path(study).with_suffix(".provenance.json").read_text())
    assert provenance["ledger_sha256"] == led.sha256, "cohort is stale: run make data"
    assert "not the trial's patient records" in provenance["notice"]


@pytest.mark.parametrize("study", STUDIES)
def test_regenerating_gives_the_committed_files_byte_for_byte(study, tmp_path):
    committed = paths.cohort_path(study)
    seed = json.loads(committed.with_suffix(".provenance.json").read_text())["seed"]
    write(reconstruct(study, seed=seed), tmp_path)
    assert (tmp_path / f"{study}.csv").read_bytes() == committed.read_bytes()
    assert (tmp_path / f"{study}.provenance.json").read_bytes() == \
        committed.with_suffix(".provenance.json").read_bytes()


def test_a_corrupted_cohort_is_refused_naming_patient_column_and_rule(tmp_path, monkeypatch):
    frame = load_frame("hu2019")
    first_cr = int(np.flatnonzero(frame["cr_d30"].fillna(False).to_numpy())[0])
    frame.loc[first_cr, "cr_d30"] = False
    frame.loc[first_cr, "relapse"] = True
    frame.loc[first_cr, "relapse_day"] = 40
    schema.write_cohort(frame, tmp_path / "hu2019.csv")
    monkeypatch.setattr(paths, "COHORTS", tmp_path)
    with pytest.raises(CartError) as info:
        load_frame("hu2019")
    message = str(info.value)
    assert f"patient '{frame.loc[first_cr, 'patient_id']}'" in message
    assert "column 'relapse'" in message and "only when cr_d30 is true" in message


def _conflicting_ledger(toy_ledger, write_ledger, tmp_path):
    toy_ledger["claims"] = toy_ledger["claims"][:2] + [
        {"id": "group_a", "printed": "all 10 in group a",
         "locator": {"source": "abstract", "paragraph": 1},
         "says": "everyone is in group a", "reads": ["count"], "precision": {"count": 1},
         "measure": {"population": "True", "event": "group == 'a'", "statistic": "count"}},
        {"id": "cr_again", "printed": "2 (20.0%)",
         "locator": {"source": "abstract", "paragraph": 2},
         "says": "remissions, as a second source prints them", "reads": ["count", "percent"],
         "precision": {"count": 1, "percent": 0.1},
         "measure": {"population": "group == 'a'", "event": "cr_d30", "statistic": "count"}},
        {"id": "crs", "printed": "3 patients", "locator": {"source": "abstract", "paragraph": 2},
         "says": "any CRS", "reads": ["count"], "precision": {"count": 1},
         "measure": {"population": "True", "event": "crs_grade >= 1", "statistic": "count"}},
    ]
    return L.load_ledger(write_ledger(toy_ledger))


def test_conflicting_claims_are_named(toy_ledger, write_ledger, tmp_path):
    led = _conflicting_ledger(toy_ledger, write_ledger, tmp_path)
    with pytest.raises(SearchError) as info:
        Search(led, seed=0, max_moves=20_000, attempt_moves=5_000).run()
    core, complete = conflicting_claims(led, info.value.claims, budget_moves=6_000)
    assert complete and set(core) == {"cr", "cr_again"}


def test_reconstruct_command_writes_nothing_when_claims_conflict(toy_ledger, write_ledger,
                                                                 tmp_path, monkeypatch, capsys):
    # The ledger's own arithmetic shows the conflict (9 and 2 remissions in one set): no search.
    _conflicting_ledger(toy_ledger, write_ledger, tmp_path)
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    out = tmp_path / "cohorts"
    status = cli.main(["reconstruct", "--study", "toy", "--out", str(out), "--quiet",
                       "--time-budget", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert err[0].startswith("error: toy: the printed figures cannot hold together")
    assert "no search was run: cr, cr_again:" in err[0] and "Nothing was written" in err[0]
    assert not out.exists()


def _unreachable_age(toy_ledger):
    toy_ledger["record"]["age_years"] = {"min": 1, "max": 80, "step": 1}
    toy_ledger["claims"] = toy_ledger["claims"][:2] + [{
        "id": "age", "printed": "median age 90 (85-95)",
        "locator": {"source": "abstract", "paragraph": 1}, "says": "age",
        "reads": ["median", "min", "max"], "precision": {"median": 1, "min": 1, "max": 1},
        "measure": {"population": "True", "statistic": "median", "variable": "age_years"}}]
    return toy_ledger


def test_a_search_that_runs_out_does_not_claim_infeasibility(toy_ledger, write_ledger,
                                                             tmp_path, monkeypatch, capsys):
    # A median age the ledger's domain cannot reach: no arithmetic shows it, the search fails.
    write_ledger(_unreachable_age(toy_ledger))
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    status = cli.main(["reconstruct", "--study", "toy", "--out", str(tmp_path / "out"), "--quiet",
                       "--time-budget", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert err[0].startswith("error: toy: no cohort found: the claims were not met together "
                             "within 3 s (the time budget; ")
    assert "does not prove that none exists" in err[0] and "cannot hold" not in err[0]
    # Narrowing the claims down has the same 3 s: under load it may stop before it is done.
    assert ("did not meet together (not proven impossible): age" in err[0]
            or "not met together (not proven impossible; the time ran out before narrowing them "
               "down): age" in err[0])
    assert "Nothing was written" in err[0] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("study", STUDIES)
def test_a_move_is_refused_early_only_when_computing_every_claim_would_refuse_it(study):
    # Search.losses_within stops once a move's rise in loss must reach the Metropolis
    # threshold; it must never stop on a move that the full computation would accept, and
    # when it does not stop it must give the full computation's losses.
    search = Search(L.load(study), seed=0)
    space, rng = search.space, np.random.default_rng(2)
    state = state_of(search, load_table(study))          # every claim met, then drifting
    table = space.table(state)
    losses = search.losses(table, range(len(search.objectives)))
    columns = [c for c in space.columns if c != "group"]
    stopped = 0
    for _ in range(300):
        column = columns[int(rng.integers(len(columns)))]
        trial = {k: v.copy() for k, v in state.items()}
        trial[column][int(rng.integers(space.size))] = rng.integers(len(space.grids[column].values))
        candidate = space.table(trial)
        which = search.objectives_of[column]
        full = search.losses(candidate, which)
        delta = sum(full.values()) - sum(losses[i] for i in which)
        for limit in (0.05, 0.5, 2.0, math.inf):
            within = search.losses_within(candidate, which, losses, limit)
            if within is None:
                stopped += 1
                assert delta >= limit - 1e-9, (column, limit, delta)
            else:
                assert within == {i: full[i] for i in within} and within.keys() == set(which)
        if rng.random() < 0.3:                            # drift, so that some claims are unmet
            state, table = trial, candidate
            losses.update(full)
    assert stopped > 100


@pytest.mark.parametrize("study", STUDIES)
def test_a_move_rebuilds_the_same_cohort_as_a_full_build(study):
    # Space.update rebuilds only what a move can alter; it must equal Space.table of the new state.
    search = Search(L.load(study), seed=0)
    space, rng = search.space, np.random.default_rng(1)
    state = space.random_state(rng)
    table = space.table(state)
    columns = [c for c in space.columns if c != "group"]
    for _ in range(500):
        moved = list(rng.choice(columns, size=int(rng.integers(1, 4)), replace=False))
        for column in moved:
            patients = rng.choice(space.size, size=int(rng.integers(1, 3)), replace=False)
            state[column][patients] = rng.integers(len(space.grids[column].values), size=len(patients))
        table = space.update(table, state, set(moved))
        full = space.table(state)
        assert table.keys() == full.keys()
        for name in full:
            assert table[name].tobytes() == full[name].tobytes() or \
                list(table[name]) == list(full[name]), (moved, name)


def test_a_percentage_no_count_can_print_is_refused_before_any_search(toy_ledger, write_ledger,
                                                                       tmp_path, monkeypatch,
                                                                       capsys):
    # Thirteen patients in group a; "23.07%" is 3/13 cut off, never rounded.
    toy_ledger["groups"] = {g: {"treatment": "CAR-T", "car_source": "autologous", "donor": "none",
                                "prior_hsct": False}
                            for g in ("a", "b")}
    toy_ledger["claims"] = [toy_ledger["claims"][0] | {"printed": "13 patients"}, {
        "id": "group_a", "printed": "all 13 in group a",
        "locator": {"source": "abstract", "paragraph": 1}, "says": "group a",
        "reads": ["count"], "precision": {"count": 1},
        "measure": {"population": "True", "event": "group == 'a'", "statistic": "count"}}, {
        "id": "cr", "printed": "23.07% in remission",
        "locator": {"source": "abstract", "paragraph": 1}, "says": "remissions",
        "reads": ["percent"], "precision": {"percent": 0.01},
        "measure": {"population": "group == 'a'", "event": "cr_d30", "statistic": "count"}}]
    write_ledger(toy_ledger)
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    status = cli.main(["reconstruct", "--study", "toy", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err
    assert "no search was run" in err and "cr (percent): no k/13 prints as 23.07% under every " \
        "rounding convention; 3/13 does when truncated" in err
    assert not (tmp_path / "out").exists()
    toy_ledger["claims"][2]["measure"]["rounding"] = "truncate"
    write_ledger(toy_ledger)
    assert cli.main(["reconstruct", "--study", "toy", "--out", str(tmp_path / "out"),
                     "--quiet"]) == 0


def test_a_search_that_reaches_its_move_limit_says_so_and_proves_nothing(toy_ledger,
                                                                          write_ledger):
    led = L.load_ledger(write_ledger(_unreachable_age(toy_ledger)))
    with pytest.raises(SearchError) as info:
        Search(led, seed=0, max_moves=3_000, attempt_moves=1_000).run()
    assert "no cohort found: the claims were not met together within 3,000 moves (the move " \
           "limit; " in str(info.value)
    assert not info.value.proven and "age" in info.value.claims


def test_without_a_size_claim_the_cohort_is_its_groups_together(toy_ledger, write_ledger,
                                                                tmp_path, monkeypatch, capsys):
    del toy_ledger["size_claim"]
    count = {"locator": {"source": "abstract", "paragraph": 1}, "reads": ["count"],
             "precision": {"count": 1}}
    toy_ledger["claims"] = [
        count | {"id": "n_a", "printed": "6 in a", "says": "a",
                 "measure": {"population": "True", "event": "group == 'a'", "statistic": "count"}},
        count | {"id": "n_b", "printed": "4 in b", "says": "b",
                 "measure": {"population": "True", "event": "group == 'b'", "statistic": "count"}},
        toy_ledger["claims"][1] | {"printed": "5 (83.3%)"}]
    assert Search(L.load_ledger(write_ledger(toy_ledger)), seed=0).space.size == 10
    toy_ledger["claims"] = toy_ledger["claims"][::2]          # group b's size is printed nowhere
    write_ledger(toy_ledger)
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    status = cli.main(["reconstruct", "--study", "toy", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err
    assert err.endswith("field 'size_claim': no size_claim, and no printed figure fixes the size "
                        "of group(s) 'b': name a claim that counts the whole cohort as "
                        "size_claim, or add a count of each such group (for example event "
                        "\"group == 'b'\" in population \"True\")")
    assert not (tmp_path / "out").exists()
