"""Timeline rules and stated facts: stated once, refused by the schema, kept by the search.

Each rule of the patient record gets a cohort that breaks it and the one-line
error it must end in; the normalisation that leaves events after death or
last contact unobserved; the ledger's facts, held like claims; and the
plausibility report on the committed cohorts and samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cart_lib import cohort as cohort_mod
from conftest import STUDY_DTYPES
from cart_lib import ledger as L
from cart_lib.core import paths
from cart_lib.core.errors import LedgerError
from cart_lib.core.expressions import Compiler
from cart_lib.reconstruct.plausibility import report
from cart_lib.core.record import COLUMN_NAMES, TIMELINE_RULE_IDS, timeline_rules
from cart_lib.cohort.schema import CohortError, read_cohort, write_cohort
from cart_lib.reconstruct.search import Search

STUDY, GROUPS = "toy", ["a", "b"]
RULES = timeline_rules(14)
STUDIES = paths.studies()

#: A plausible course for each patient: every timeline rule holds.
PATIENTS = [
    # remission, relapse on day 120, death from relapse on day 200
    dict(patient_id="P01", cr_d30=True, hsct_after_car=False, relapse=True, relapse_day=120,
         death=True, death_cause="relapse", lost_to_followup=False, last_contact_day=200),
    # remission, transplant on day 45, alive
    dict(patient_id="P02", cr_d30=True, hsct_after_car=True, hsct_after_car_day=45,
         relapse=False, death=False, lost_to_followup=False, last_contact_day=400),
    # no remission, died of progression on day 20
    dict(patient_id="P03", cr_d30=False, hsct_after_car=False, relapse=False, death=True,
         death_cause="progression", lost_to_followup=False, last_contact_day=20),
    # remission, transplant on day 60, relapse on day 150, lost to follow-up alive
    dict(patient_id="P04", cr_d30=True, hsct_after_car=True, hsct_after_car_day=60,
         relapse=True, relapse_day=150, death=False, lost_to_followup=True,
         last_contact_day=180),
]


@pytest.fixture
def cohort() -> pd.DataFrame:
    rows = []
    for p in PATIENTS:
        row = dict.fromkeys([*COLUMN_NAMES, *STUDY_DTYPES])
        row.update(study=STUDY, group="a", treatment="CAR-T", car_source="autologous",
                   donor="none", prior_hsct=False, **p)
        rows.append(row)
    return pd.DataFrame(rows)


def read(frame: pd.DataFrame, path: Path, rules=RULES):
    write_cohort(frame, path)
    return read_cohort(path, STUDY, GROUPS, STUDY_DTYPES, rules=rules, compiler=Compiler())


def broken(cohort, patient, **values) -> pd.DataFrame:
    frame = cohort.copy()
    row = frame.index[frame["patient_id"] == patient][0]
    for column, value in values.items():
        frame[column] = frame[column].astype(object)
        frame.at[row, column] = value
    return frame


def test_the_plausible_cohort_is_read(cohort, tmp_path):
    assert len(read(cohort, tmp_path / "toy.csv")) == 4


@pytest.mark.parametrize("rule, patient, values, column", [
    ("remission_assessed", "P02", {"last_contact_day": 10, "hsct_after_car": False,
                                   "hsct_after_car_day": None, "death": True,
                                   "death_cause": "infection"}, "cr_d30"),
    ("followed_until_assessment", "P02", {"last_contact_day": 3, "cr_d30": False,
                                          "hsct_after_car": False, "hsct_after_car_day": None},
     "last_contact_day"),
    ("relapse_after_remission", "P01", {"relapse_day": 14}, "relapse_day"),
    ("relapse_before_death", "P01", {"relapse_day": 200}, "relapse_day"),
    ("transplant_before_death", "P01", {"hsct_after_car": True, "hsct_after_car_day": 200,
                                        "relapse": False, "relapse_day": None,
                                        "death_cause": "infection"}, "hsct_after_car_day"),
    ("relapse_not_on_transplant_day", "P04", {"relapse_day": 60}, "relapse_day"),
    ("transplant_in_remission", "P04", {"hsct_after_car_day": 160}, "hsct_after_car_day"),
    ("transplant_in_remission", "P03", {"hsct_after_car": True, "hsct_after_car_day": 10,
                                        "death_cause": "infection"}, "hsct_after_car_day"),
    ("disease_death_after_failure", "P01", {"relapse": False, "relapse_day": None,
                                            "death_cause": "progression"}, "death_cause"),
    ("relapse_death_needs_relapse", "P03", {"death_cause": "relapse"}, "death_cause"),
    ("gvhd_assessed", "P03", {"agvhd": True, "last_contact_day": 10}, "agvhd"),
    ("gvhd_death_after_assessment", "P03", {"death_cause": "GVHD/infection",
                                            "last_contact_day": 9}, "death_cause"),
])
def test_a_cohort_breaking_a_timeline_rule_ends_in_one_line(cohort, tmp_path, rule, patient,
                                                            values, column):
    assert rule in TIMELINE_RULE_IDS
    with pytest.raises(CohortError) as info:
        read(broken(cohort, patient, **values), tmp_path / "toy.csv")
    message = str(info.value)
    says = next(r.says for r in RULES if r.id == rule)
    assert message.startswith(f"{tmp_path / 'toy.csv'}: patient {patient!r}, "
                              f"column {column!r}: {says} (rule {rule})")
    # A relapse on the day of a transplant also breaks "a transplant before any relapse".
    assert message.endswith(f"(rule {rule})") or rule == "relapse_not_on_transplant_day"
    assert "\n" not in message


def test_every_timeline_rule_has_a_breaking_cohort_above():
    tested = {p[0] for p in test_a_cohort_breaking_a_timeline_rule_ends_in_one_line
              .pytestmark[0].args[1]}
    assert tested == set(TIMELINE_RULE_IDS)


def test_lost_to_followup_means_alive(cohort, tmp_path):
    with pytest.raises(CohortError, match="death and lost_to_followup are not both true"):
        read(broken(cohort, "P03", lost_to_followup=True), tmp_path / "toy.csv")


def test_events_after_death_or_last_contact_are_not_observed():
    table = cohort_mod.empty(4, STUDY_DTYPES)
    table["cr_d30"][:] = 1.0
    table["relapse"][:] = 1.0
    table["relapse_day"][:] = [50, 100, 100, 120]
    table["hsct_after_car"][:] = 1.0
    table["hsct_after_car_day"][:] = [40, 40, 60, 200]
    table["death"][:] = [1.0, 1.0, 0.0, 0.0]
    table["last_contact_day"][:] = [100, 100, 100, 150]
    cohort_mod.normalize(table)
    # P1: both before death; P2: relapse on the day of death; P3 alive: relapse on the
    # day of last contact is seen; P4: transplant after last contact is not.
    np.testing.assert_array_equal(table["relapse"], [1, 0, 1, 1])
    np.testing.assert_array_equal(table["relapse_day"], [50, np.nan, 100, 120])
    np.testing.assert_array_equal(table["hsct_after_car"], [1, 1, 1, 0])
    np.testing.assert_array_equal(table["hsct_after_car_day"], [40, 40, 60, np.nan])


def test_a_waived_rule_is_not_checked(cohort, tmp_path):
    frame = broken(cohort, "P04", hsct_after_car_day=160)
    read(frame, tmp_path / "toy.csv", rules=timeline_rules(14, waived=("transplant_in_remission",)))


# --- the ledger: facts, waivers, the earliest assessment day -------------------------------


def _with_outcomes(toy_ledger):
    toy_ledger["record"].update({
        "relapse": {}, "relapse_day": {"min": 15, "max": 400, "step": 1},
        "hsct_after_car": {}, "hsct_after_car_day": {"min": 30, "max": 300, "step": 1},
        "death": {}, "agvhd": {},
        "death_cause": {"values": ["relapse", "infection", "progression"]},
        "last_contact_day": {"min": 0, "max": 400, "step": 1}})
    return toy_ledger


FACT = {"id": "bridged_in_remission", "sentence": "two patients in CR were bridged",
        "locator": {"source": "abstract", "paragraph": 1},
        "says": "the patients bridged to a transplant were in remission",
        "population": "hsct_after_car", "holds": "cr_d30 and group == 'a'"}


def test_a_fact_is_held_like_a_claim_by_the_search(toy_ledger, write_ledger):
    toy_ledger = _with_outcomes(toy_ledger)
    toy_ledger["facts"] = [FACT]
    toy_ledger["claims"] = toy_ledger["claims"][:1] + [       # ten patients, 6 in group a
        {"id": "group_a", "printed": "6 in group a",
         "locator": {"source": "abstract", "paragraph": 1}, "says": "group a",
         "reads": ["count"], "precision": {"count": 1},
         "measure": {"population": "True", "event": "group == 'a'", "statistic": "count"}},
        {"id": "bridged", "printed": "3 bridged", "locator": {"source": "abstract", "paragraph": 1},
         "says": "transplants after CAR-T", "reads": ["count"], "precision": {"count": 1},
         "measure": {"population": "True", "event": "hsct_after_car", "statistic": "count"}}]
    led = L.load_ledger(write_ledger(toy_ledger))
    assert [r.id for r in led.cohort_rules()][-1] == "bridged_in_remission"
    result = Search(led, seed=1, max_moves=200_000).run()
    frame = cohort_mod.to_frame(result.table, STUDY_DTYPES)
    rows = report(led, [result.table])
    assert (rows["breaking"] == 0).all(), rows
    bridged = frame[frame["hsct_after_car"].fillna(False)]
    assert len(bridged) == 3 and bridged["cr_d30"].all() and (bridged["group"] == "a").all()


def test_a_cohort_breaking_a_fact_names_it(toy_ledger, write_ledger, cohort, tmp_path):
    toy_ledger = _with_outcomes(toy_ledger)
    toy_ledger["facts"] = [FACT]
    led = L.load_ledger(write_ledger(toy_ledger))
    frame = broken(cohort, "P02", group="b")
    with pytest.raises(CohortError) as info:
        read(frame, tmp_path / "toy.csv", rules=led.cohort_rules())
    assert str(info.value).endswith("patient 'P02', column 'cr_d30': the patients bridged to a "
                                    "transplant were in remission (fact bridged_in_remission)")


def test_rules_about_columns_a_study_does_not_record_do_not_apply(toy_ledger, write_ledger):
    led = L.load_ledger(write_ledger(toy_ledger))     # records cr_d30 and crs_grade only
    assert led.cohort_rules() == ()
    led = L.load_ledger(write_ledger(_with_outcomes(toy_ledger)))
    assert [r.id for r in led.cohort_rules()] == list(TIMELINE_RULE_IDS)


CONSTRAINT = {"id": "followed_a_year", "says": "living patients were followed at least 300 days",
              "why": "enrolment closed a year before the data cut-off",
              "population": "not death", "holds": "last_contact_day >= 300"}


def test_a_plausibility_constraint_is_held_by_the_search_and_the_schema(
        toy_ledger, write_ledger, cohort, tmp_path):
    toy_ledger = _with_outcomes(toy_ledger)
    toy_ledger["constraints"] = [CONSTRAINT]
    toy_ledger["claims"] = toy_ledger["claims"][:1] + [
        {"id": "deaths", "printed": "4 died", "locator": {"source": "abstract", "paragraph": 1},
         "says": "deaths", "reads": ["count"], "precision": {"count": 1},
         "measure": {"population": "True", "event": "death", "statistic": "count"}}]
    led = L.load_ledger(write_ledger(toy_ledger))
    rule = led.cohort_rules()[-1]
    assert (rule.id, rule.source) == ("followed_a_year", "constraint")
    result = Search(led, seed=1, max_moves=200_000).run()
    table = result.table
    alive = ~(table["death"] == 1.0)
    assert alive.any() and (table["last_contact_day"][alive] >= 300).all()
    assert (report(led, [table])["breaking"] == 0).all()
    frame = cohort.copy()
    frame["death"] = False
    frame["death_cause"] = None
    frame["last_contact_day"] = 200
    with pytest.raises(CohortError, match=r"living patients were followed at least 300 days "
                                          r"\(constraint followed_a_year\)"):
        read(frame, tmp_path / "toy.csv", rules=led.cohort_rules())


@pytest.mark.parametrize("change, field, rule", [
    (lambda d: d.update(constraints=[CONSTRAINT | {"id": "total"}]), "constraints[0].id",
     "repeats a claim"),
    (lambda d: d.update(constraints=[{k: v for k, v in CONSTRAINT.items() if k != "why"}]),
     "constraints[0].why", "Field required"),
    (lambda d: d["rules"].pop("earliest_assessment_day"), "rules.earliest_assessment_day",
     "Field required"),
    (lambda d: d["rules"].update(waive={"no_such_rule": "why"}), "rules.waive.no_such_rule",
     "not a timeline rule"),
    (lambda d: d.update(facts=[FACT | {"id": "total"}]), "facts[0].id", "repeats a claim"),
    (lambda d: d.update(facts=[FACT | {"holds": "cr_d31"}]), "facts[0].holds",
     "unknown column(s) ['cr_d31']"),
])
def test_bad_rules_and_facts_are_refused(toy_ledger, write_ledger, change, field, rule):
    change(toy_ledger)
    with pytest.raises(LedgerError) as info:
        L.load_ledger(write_ledger(toy_ledger))
    assert f"field '{field}'" in str(info.value) and rule in str(info.value)


# --- the committed data ------------------------------------------------------------------


@pytest.mark.parametrize("study", STUDIES)
def test_the_committed_cohort_breaks_no_rule_or_fact(study):
    from cart_lib.reconstruct import load_table
    rows = report(L.load(study), [load_table(study, rules=False)])
    assert (rows["breaking"] == 0).all(), rows[rows["breaking"] > 0].to_string()


@pytest.mark.parametrize("study", STUDIES)
def test_no_sampled_cohort_breaks_a_rule_or_fact(study):
    from cart_lib.reconstruct.sample import load_tables
    rows = report(L.load(study), load_tables(study))
    assert (rows["breaking"] == 0).all(), rows[rows["breaking"] > 0].to_string()


@pytest.mark.parametrize("study", STUDIES)
def test_every_study_states_the_facts_of_its_text(study):
    led = L.load(study)
    assert led.facts, f"{study} states no fact"
    for fact in led.facts:
        assert fact.sentence and fact.locator.source in led.sources
