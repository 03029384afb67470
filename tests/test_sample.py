"""Sampled cohorts: each satisfies every claim, the draw is reproducible, questions are checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cart_lib import ledger as L
from cart_lib.core import paths
from cart_lib.analysis import questions
from cart_lib.reconstruct import sample
from cart_lib.cohort import schema
from cart_lib.core.errors import CartError, LedgerError
from cart_lib.evaluate import Evaluator

STUDIES = paths.studies()


@pytest.mark.parametrize("study", STUDIES)
def test_every_stored_cohort_satisfies_every_claim(study):
    led = L.load(study)
    evaluator = Evaluator(led)
    tables = sample.load_tables(study)
    provenance = json.loads(paths.SAMPLES.joinpath(f"{study}.provenance.json").read_text())
    assert len(tables) == provenance["cohorts"]
    for k, table in enumerate(tables):
        for result in evaluator.evaluate(table):
            expected = "infeasible-as-printed" if result.claim.infeasible_as_printed else "match"
            assert result.status == expected, (k, result.claim.id, result.adopted.reproduced)


@pytest.mark.parametrize("study", STUDIES)
def test_stored_cohorts_are_distinct(study):
    led = L.load(study)
    keys = {sample.cohort_key(t, led) for t in sample.load_tables(study)}
    assert len(keys) == len(sample.load_tables(study))


def test_a_small_draw_is_reproducible_and_independent_of_jobs(tmp_path):
    one, info = sample.draw("hu2019", 12, seed=5, jobs=1)
    two, _ = sample.draw("hu2019", 12, seed=5, jobs=2)
    sample.write("hu2019", one, info, 5, tmp_path / "a")
    sample.write("hu2019", two, info, 5, tmp_path / "b")
    assert (tmp_path / "a" / "hu2019.csv.gz").read_bytes() == \
        (tmp_path / "b" / "hu2019.csv.gz").read_bytes()
    assert one["cohort"].nunique() == 12


@pytest.mark.parametrize("study", STUDIES)
def test_questions_are_computed_on_every_cohort(study):
    frame = questions.values(study)
    assert len(frame) == len(sample.load_tables(study))
    table = questions.summary(frame)
    assert (table["min"] <= table["median"]).all() and (table["median"] <= table["max"]).all()


def test_questions_files_are_not_ledgers():
    assert paths.studies() == STUDIES


def test_a_bad_questions_file_is_refused_naming_file_question_and_field(tmp_path):
    path = tmp_path / "zhang2020.questions.yaml"
    path.write_text("study: zhang2020\nquestions:\n  - id: os\n    asks: survival\n"
                    "    statistic: km_survival\n    endpoint: overall_survival\n")
    with pytest.raises(LedgerError) as info:
        questions.load("zhang2020", path)
    message = str(info.value)
    assert str(path) in message and "questions: os" in message and "needs at" in message
    path.write_text("study: zhang2020\nquestions:\n  - id: os\n    asks: survival\n"
                    "    statistic: at_risk\n    endpoint: overall_survival\n"
                    "    at: {claim: post_hsct_os, role: mean}\n")
    with pytest.raises(LedgerError) as info:
        questions.load("zhang2020", path)
    assert "field 'at.role'" in str(info.value) and "prints no 'mean'" in str(info.value)


def test_km_survival_matches_lifelines():
    from lifelines import KaplanMeierFitter
    rng = np.random.default_rng(0)
    for _ in range(50):
        time = rng.integers(1, 60, 20).astype(float)
        event = rng.random(20) < 0.6
        day = float(rng.integers(0, 70))
        expected = 100 * KaplanMeierFitter().fit(time, event).survival_function_at_times(day).iloc[0]
        assert np.isclose(questions._km_survival(time, event, day), expected, rtol=1e-9)


def test_missing_sample_is_named(tmp_path):
    with pytest.raises(CartError, match="no sample yet"):
        sample.load_tables("hu2019", tmp_path / "nothing.csv.gz")


@pytest.mark.parametrize("study", STUDIES)
def test_redrawing_gives_the_committed_sample_byte_for_byte(study, tmp_path):
    """What `make data` does: the committed sample and its provenance come back unchanged."""
    provenance = json.loads(paths.SAMPLES.joinpath(f"{study}.provenance.json").read_text())
    frame, info = sample.draw(study, provenance["cohorts"], seed=provenance["seed"], jobs=2)
    sample.write(study, frame, info, provenance["seed"], tmp_path)
    for name in (f"{study}.csv.gz", f"{study}.provenance.json"):
        assert (tmp_path / name).read_bytes() == paths.SAMPLES.joinpath(name).read_bytes(), name


@pytest.fixture(scope="module")
def dask_cluster():
    """A two-worker dask.distributed cluster on this machine, one thread each."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        yield cluster


def test_a_draw_on_dask_is_the_local_draw_byte_for_byte(tmp_path, dask_cluster):
    """`sample --backend dask --scheduler ADDRESS` writes the local run's files, byte for byte."""
    from cart_lib import cli

    address = dask_cluster.scheduler_address
    assert cli.main(["sample", "--study", "hu2019", "--n", "32", "--seed", "3", "--quiet",
                     "--out", str(tmp_path / "local")]) == 0
    assert cli.main(["sample", "--study", "hu2019", "--n", "32", "--seed", "3", "--quiet",
                     "--backend", "dask", "--scheduler", address,
                     "--out", str(tmp_path / "dask")]) == 0
    for name in ("hu2019.csv.gz", "hu2019.provenance.json"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_a_worker_with_other_inputs_refuses_the_chain(dask_cluster, monkeypatch):
    """A worker whose ledger, cohort or library differs from the client's draws nothing."""
    from distributed import Client

    real = sample.fingerprint
    monkeypatch.setattr(sample, "fingerprint",
                        lambda study: {**real(study), "ledger": "0" * 64})
    with Client(dask_cluster.scheduler_address) as client:
        with pytest.raises(sample.SampleError, match="another ledger than the client"):
            sample.draw("hu2019", 8, seed=0, backend="dask", scheduler=client)


def test_the_dask_backend_needs_a_scheduler():
    with pytest.raises(sample.SampleError, match="needs a scheduler"):
        sample.draw("hu2019", 8, backend="dask")
    with pytest.raises(sample.SampleError, match="unknown backend"):
        sample.draw("hu2019", 8, backend="spark")


def test_a_broken_sampled_cohort_is_named_by_file_cohort_patient_column_and_rule(tmp_path):
    """A sample is read with the cohort's codec and validated like a committed cohort."""
    from cart_lib.core.errors import CohortError

    frame = sample.load("hu2019")
    path = tmp_path / "hu2019.csv.gz"
    schema.write_cohort(frame, path)
    assert len(sample.load_tables("hu2019", path)) == frame["cohort"].nunique()
    # A relapse day in a patient without a relapse, in the third cohort.
    row = frame.index[(frame["cohort"] == 2) & ~frame["relapse"].fillna(False)][0]
    broken = frame.copy()
    broken.loc[row, "relapse_day"] = 100
    schema.write_cohort(broken, path)
    with pytest.raises(CohortError) as info:
        sample.load_tables("hu2019", path)
    error = info.value
    assert (error.file, error.cohort, error.patient, error.column) == \
        (str(path), 2, frame.loc[row, "patient_id"], "relapse_day")
    assert "relapse_day is empty unless relapse is true" in str(error)


def test_patient_ids_repeat_across_sampled_cohorts_but_not_within_one(tmp_path):
    from cart_lib.core.errors import CohortError

    frame = sample.load("hu2019")
    frame = frame[frame["cohort"] < 3].reset_index(drop=True)
    path = tmp_path / "hu2019.csv.gz"
    schema.write_cohort(frame, path)
    assert len(sample.load_tables("hu2019", path)) == 3
    broken = frame.copy()
    broken.loc[1, "patient_id"] = broken.loc[0, "patient_id"]
    schema.write_cohort(broken, path)
    with pytest.raises(CohortError, match=r"cohort 0, patient 'P01', column 'patient_id': "
                                          r"patient_id must be unique within its cohort"):
        sample.load_tables("hu2019", path)


def test_a_sample_writes_booleans_as_a_cohort_does():
    import gzip

    text = gzip.decompress(sample.sample_path("hu2019").read_bytes()).decode()
    header, first = text.splitlines()[:2]
    assert header.startswith("cohort,study,patient_id,")
    assert "True" not in text and "False" not in text and ",false," in first


def test_a_study_without_a_questions_file_asks_none(monkeypatch):
    toy = paths.ROOT / "tests" / "data" / "toy"
    monkeypatch.setattr(paths, "CLAIMS", toy / "claims")
    assert not paths.questions_path("toy").exists()
    spec, led = questions.load("toy")
    assert (spec.study, spec.questions, spec.findings, spec.curves) == ("toy", [], [], [])
    assert led.study == "toy"
    with pytest.raises(LedgerError, match="cannot read the questions"):
        questions.load("toy", toy / "claims" / "toy.questions.yaml")     # named, it must exist
