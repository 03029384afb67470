"""The patient record declared by the ledger: a small core, and the columns each study adds."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from cart_lib import cli, ledger as L
from cart_lib.cohort import schema
from cart_lib.core import paths
from cart_lib.core.errors import CohortError, LedgerError
from cart_lib.core.record import COLUMN_NAMES
from cart_lib.evaluate import Evaluator
from cart_lib.reconstruct import load_frame


def test_the_core_holds_no_study_column():
    for name in ("age_years", "crs_grade", "mrd_negative", "agvhd", "peak_expansion"):
        assert name not in COLUMN_NAMES
    for name in ("treatment", "car_source", "donor", "prior_hsct", "cr_d30", "last_contact_day"):
        assert name in COLUMN_NAMES


def test_study_columns_keep_their_place_among_the_core():
    led = L.load("zhang2020")
    names = [c.name for c in led.columns_of_record()]
    assert names[:8] == ["study", "patient_id", "group", "treatment", "car_source", "donor",
                         "prior_hsct", "age_years"]
    assert names[names.index("cr_d30") + 1] == "mrd_negative"
    assert names.index("agvhd_site") + 1 == names.index("hsct_after_car")
    assert led.column_of("agvhd_site").needs == "agvhd"


def test_a_dli_arm_loads_and_is_reconstructed(toy_ledger, write_ledger, tmp_path, monkeypatch):
    toy_ledger["groups"]["b"] = {"treatment": "DLI", "prior_hsct": True}
    count = {"locator": {"source": "abstract", "paragraph": 1}, "reads": ["count"],
             "precision": {"count": 1}}
    toy_ledger["claims"] = [toy_ledger["claims"][0], count | {
        "id": "dli", "printed": "4 given DLI", "says": "DLI arm",
        "measure": {"population": "True", "event": "group == 'b'", "statistic": "count"}},
        count | {"id": "cr", "printed": "3 in remission after DLI", "says": "remissions",
                 "measure": {"population": "group == 'b'", "event": "cr_d30",
                             "statistic": "count"}}]
    write_ledger(toy_ledger)
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    assert cli.main(["reconstruct", "--study", "toy", "--seed", "0", "--out",
                     str(tmp_path / "out"), "--quiet"]) == 0
    monkeypatch.setattr(paths, "COHORTS", tmp_path / "out")
    frame = load_frame("toy")
    dli = frame[frame["group"] == "b"]
    assert len(dli) and (dli["treatment"] == "DLI").all()
    assert dli["car_source"].isna().all() and dli["donor"].isna().all()
    assert (frame.loc[frame["group"] == "a", "car_source"] == "autologous").all()


def test_a_treatment_attribute_of_car_t_is_refused_on_another_arm(toy_ledger, write_ledger):
    toy_ledger["groups"]["b"] = {"treatment": "DLI", "car_source": "donor-derived",
                                 "prior_hsct": True}
    with pytest.raises(LedgerError, match=r"groups\.b\.car_source.*car_source is empty unless "
                                          r"treatment is CAR-T"):
        L.load_ledger(write_ledger(toy_ledger))


def test_a_required_column_without_a_domain_is_refused_at_load(toy_ledger, write_ledger):
    toy_ledger["columns"]["age_years"]["required"] = True
    path = write_ledger(toy_ledger)
    with pytest.raises(LedgerError) as caught:
        L.load_ledger(path)
    message = str(caught.value)
    assert str(path.name) in message and "record.age_years" in message
    assert "age_years is required (declared in 'columns')" in message
    assert "no domain in 'record'" in message
    toy_ledger["record"]["age_years"] = {"min": 1, "max": 80, "step": 1}
    L.load_ledger(write_ledger(toy_ledger))     # a domain satisfies it


def test_a_car_t_arm_without_its_cell_source_is_refused_at_load(toy_ledger, write_ledger):
    del toy_ledger["groups"]["a"]["car_source"]
    with pytest.raises(LedgerError, match=r"record\.car_source.*required .* where treatment is "
                                          r"CAR-T.*\['a'\]"):
        L.load_ledger(write_ledger(toy_ledger))


def _row(**values):
    row = {name: None for name in [*COLUMN_NAMES, "agvhd", "agvhd_site"]}
    row.update(study="toy", patient_id="P1", group="a", treatment="CAR-T",
               car_source="autologous", donor="none", prior_hsct=False, last_contact_day=40)
    return row | values


def test_a_column_that_needs_a_flag_is_empty_where_the_flag_is_false(toy_ledger, write_ledger):
    led = L.load_ledger(write_ledger(toy_ledger))
    columns = [c for c in led.columns_of_record() if c.name in (*COLUMN_NAMES, "agvhd",
                                                                   "agvhd_site")]
    ok = pd.DataFrame([_row(agvhd=True, agvhd_site="skin"), _row(patient_id="P2", agvhd=False)])
    schema.validate(ok, "toy", ["a", "b"], columns=columns, source="toy.csv")
    bad = pd.DataFrame([_row(agvhd=False, agvhd_site="gut")])
    with pytest.raises(CohortError) as caught:
        schema.validate(bad, "toy", ["a", "b"], columns=columns, source="toy.csv")
    message = str(caught.value)
    assert message.startswith("toy.csv: patient 'P1', column 'agvhd_site'")
    assert "agvhd_site is empty unless agvhd is true" in message


def test_a_study_column_needs_a_boolean_flag(toy_ledger, write_ledger):
    toy_ledger["columns"]["agvhd_site"]["needs"] = "crs_grade"
    with pytest.raises(LedgerError, match=r"columns\.agvhd_site\.needs"):
        L.load_ledger(write_ledger(toy_ledger))


def test_the_response_window_is_a_rule_of_the_ledger(toy_ledger, write_ledger):
    toy_ledger["claims"].append({
        "id": "cr_window", "printed": "within 30 days",
        "locator": {"source": "abstract", "paragraph": 1}, "says": "the window",
        "reads": ["value"], "precision": {"value": 1},
        "measure": {"statistic": "definition", "defines": "cr_d30", "unit": "days"}})
    table = {"patient_id": np.array(["P1", "P2"], dtype=object),
             "cr_d30": np.array([0.0, 0.0]), "relapse": np.array([np.nan, np.nan]),
             "relapse_day": np.array([np.nan, np.nan]), "death": np.array([0.0, 0.0]),
             "last_contact_day": np.array([100.0, 20.0])}
    windows = {}
    for days in (30, 28):
        toy_ledger["rules"]["response_window_days"] = days
        led = L.load_ledger(write_ledger(toy_ledger))
        evaluator = Evaluator(led)
        claim = led.claim("cr_window")
        figure = evaluator.compute(claim, claim.adopted, table)
        time, _ = evaluator.endpoint("leukemia_free_survival", table)
        windows[days] = (figure.values["value"], time.tolist())
    assert windows == {30: (30, [30, 20]), 28: (28, [28, 20])}
