"""The cohort CSV: one encoding, and one clear error per broken rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cart_lib.cohort import schema
from cart_lib.core.errors import CartError
from functools import partial

from cart_lib import ledger as L
from cart_lib.cohort import schema
from cart_lib.cohort.schema import CohortError
from conftest import MINIMAL, STUDY_COLUMNS

#: The toy study's record: the core and the study columns the book's studies declare.
COLUMNS = L.Ledger.model_validate(MINIMAL | {"columns": STUDY_COLUMNS | {
    "bm_blasts_pct": {"dtype": "float", "description": "marrow blasts, %", "min": 0, "max": 100,
                      "after": "dose_e5_per_kg"},
    "pb_blasts_pct": {"dtype": "float", "description": "blood blasts, %", "min": 0, "max": 100},
    "manufacture_reason": {"dtype": "str", "description": "why donor cells were used",
                           "allowed": ["autologous-failed", "high-blasts"]},
    "cgvhd_at_collection": {"dtype": "bool", "description": "chronic GVHD at collection",
                            "after": "agvhd_site"}}}).columns_of_record()
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
read_cohort = partial(schema.read_cohort, columns=COLUMNS)
validate = partial(schema.validate, columns=COLUMNS)
write_cohort = partial(schema.write_cohort, columns=COLUMNS)

STUDY, GROUPS = "toy", ["a", "b"]

#: Identity and required columns, then the record's other columns, for each patient.
PATIENTS = [
    # complete remission, MRD-negative, relapse, death from relapse
    dict(study="toy", treatment="CAR-T", patient_id="P01", group="a", car_source="autologous", donor="none",
         prior_hsct=False, age_years=12.5, dose_e5_per_kg=1.0, bm_blasts_pct=0.1,
         pb_blasts_pct=33.333333333333336, cr_d30=True, mrd_negative=True, crs_grade=2,
         neurotox_grade=0, agvhd=False, cgvhd_at_collection=None, peak_expansion=12345.678,
         hsct_after_car=False, relapse=True, relapse_day=120, death=True, death_cause="relapse",
         lost_to_followup=False, last_contact_day=200),
    # remission, bridged to a second transplant, acute GVHD of the skin, alive
    dict(study="toy", treatment="CAR-T", patient_id="P02", group="a", car_source="donor-derived",
         donor="matched-sibling", prior_hsct=True, age_years=34.0, dose_e5_per_kg=5e-07,
         manufacture_reason="autologous-failed", cr_d30=True, mrd_negative=False, crs_grade=3,
         neurotox_grade=1, agvhd=True, agvhd_site="skin", cgvhd_at_collection=False,
         hsct_after_car=True, hsct_after_car_day=45, relapse=False, death=False,
         lost_to_followup=False, last_contact_day=400),
    # no remission, died of infection
    dict(study="toy", treatment="CAR-T", patient_id="P03", group="b", car_source="donor-derived",
         donor="haploidentical", prior_hsct=True, age_years=8.0, bm_blasts_pct=85.0,
         manufacture_reason="high-blasts", cr_d30=False, crs_grade=4, neurotox_grade=2,
         agvhd=False, hsct_after_car=False, death=True, death_cause="infection",
         lost_to_followup=False, last_contact_day=60),
    # only what may never be empty
    dict(study="toy", treatment="CAR-T", patient_id="P04", group="b", car_source="recipient-derived",
         donor="none", prior_hsct=True),
]


@pytest.fixture
def cohort() -> pd.DataFrame:
    """A valid four-patient cohort, as a plain frame with empties as None."""
    return pd.DataFrame([{name: p.get(name) for name in COLUMN_NAMES} for p in PATIENTS])


@pytest.fixture
def csv_path(tmp_path: Path, cohort: pd.DataFrame) -> Path:
    """The valid cohort written to ``toy.csv``."""
    path = tmp_path / "toy.csv"
    write_cohort(cohort, path)
    return path


def refused(path: Path, extra: dict[str, str] | None = None) -> CohortError:
    """Read ``path``, expecting a CohortError, and return it."""
    with pytest.raises(CohortError) as info:
        read_cohort(path, STUDY, GROUPS, extra)
    return info.value


def corrupt(cohort: pd.DataFrame, path: Path, patient: str, **values) -> Path:
    """Write the cohort with some values of one patient changed."""
    frame = cohort.copy()
    row = frame.index[frame["patient_id"] == patient][0]
    for column, value in values.items():
        frame[column] = frame[column].astype(object)
        frame.at[row, column] = value
    write_cohort(frame, path)
    return path


def edit_cell(path: Path, row: int, column: str, text: str) -> Path:
    """Replace the text of one cell (``row`` 1-based, header excluded) in a written CSV."""
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[lines[0].split(",").index(column)] = text
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_names(error: CohortError, path: Path, patient: str | None, column: str,
                 rule: str) -> None:
    """The message names the file, the patient, the column and the rule, on one line."""
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    if patient is not None:
        assert f"patient '{patient}'" in message
        assert error.patient == patient
    assert f"column '{column}'" in message
    assert error.column == column
    assert rule in message
    assert "pandera" not in message.lower() and "SchemaError" not in message


# --- the valid cohort ----------------------------------------------------------------------


def test_valid_cohort_reads_with_nullable_dtypes(csv_path):
    frame = read_cohort(csv_path, STUDY, GROUPS)
    assert list(frame.columns) == list(COLUMN_NAMES)
    expected = {"bool": "boolean", "int": "Int64", "float": "Float64", "str": "string"}
    for column in COLUMNS:
        assert str(frame[column.name].dtype) == expected[column.dtype], column.name
    assert frame.loc[0, "relapse_day"] == 120
    assert frame.loc[1, "agvhd_site"] == "skin"
    assert frame.loc[3, ["age_years", "cr_d30", "crs_grade", "death_cause"]].isna().all()
    assert isinstance(frame.index, pd.RangeIndex)


def test_cohort_error_is_a_cart_error():
    assert issubclass(CohortError, CartError)


# --- structure and values ------------------------------------------------------------------


def test_missing_column(csv_path):
    lines = csv_path.read_text().splitlines()
    index = lines[0].split(",").index("agvhd_site")
    csv_path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(","))
                                           if i != index) for line in lines) + "\n")
    error = refused(csv_path)
    assert str(error) == f"{csv_path}: column 'agvhd_site': missing column"


def test_unknown_column(cohort, csv_path):
    write_cohort(cohort.assign(favourite_colour="blue"), csv_path)
    error = refused(csv_path)
    assert_names(error, csv_path, None, "favourite_colour", "unknown column")


def test_declared_study_column_is_read_with_its_dtype(cohort, csv_path):
    write_cohort(cohort.assign(cd19_negative=[False, None, True, None]), csv_path)
    frame = read_cohort(csv_path, STUDY, GROUPS, extra={"cd19_negative": "bool"})
    assert list(frame.columns) == [*COLUMN_NAMES, "cd19_negative"]
    assert frame["cd19_negative"].dtype == "boolean"
    assert frame["cd19_negative"].tolist() == [False, pd.NA, True, pd.NA]


def test_declared_study_column_missing(csv_path):
    error = refused(csv_path, extra={"cd19_negative": "bool"})
    assert_names(error, csv_path, None, "cd19_negative", "missing column")


def test_bad_bool_text(csv_path):
    error = refused(edit_cell(csv_path, 2, "cr_d30", "maybe"))
    assert_names(error, csv_path, "P02", "cr_d30", "'maybe' is not a boolean")


def test_int_column_refuses_decimals(csv_path):
    error = refused(edit_cell(csv_path, 1, "relapse_day", "120.5"))
    assert_names(error, csv_path, "P01", "relapse_day", "'120.5' is not a whole number")


def test_float_column_refuses_text(csv_path):
    error = refused(edit_cell(csv_path, 3, "age_years", "eight"))
    assert_names(error, csv_path, "P03", "age_years", "'eight' is not a number")


def test_out_of_bounds_grade(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P03", crs_grade=7))
    assert_names(error, csv_path, "P03", "crs_grade", "crs_grade must be between 0 and 5")
    assert "(got 7)" in str(error)


def test_value_not_allowed(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P02", donor="cousin"))
    assert_names(error, csv_path, "P02", "donor", "donor must be one of")


def test_required_column_empty(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P04", car_source=None))
    assert_names(error, csv_path, "P04", "car_source", "car_source must not be empty")


def test_duplicate_patient_id(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P03", patient_id="P02"))
    assert_names(error, csv_path, "P02", "patient_id", "must be unique within the study")
    assert error.row == 3   # the repeat, not the first occurrence


def test_wrong_study(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P02", study="other"))
    assert_names(error, csv_path, "P02", "study", "study must be 'toy'")


def test_unknown_group(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P04", group="c"))
    assert_names(error, csv_path, "P04", "group", "group must be one of the study's groups")


# --- cross-field rules ---------------------------------------------------------------------


@pytest.mark.parametrize("patient, values, column, rule", [
    ("P03", {"mrd_negative": True}, "mrd_negative",
     "mrd_negative is empty unless cr_d30 is true"),
    ("P03", {"relapse": True, "relapse_day": 30}, "relapse",
     "relapse is true only when cr_d30 is true"),
    ("P02", {"relapse_day": 90}, "relapse_day",
     "relapse_day is empty unless relapse is true"),
    ("P01", {"relapse_day": None}, "relapse_day",
     "relapse_day is required when relapse is true"),
    ("P01", {"hsct_after_car_day": 90}, "hsct_after_car_day",
     "hsct_after_car_day is empty unless hsct_after_car is true"),
    ("P02", {"hsct_after_car_day": None}, "hsct_after_car_day",
     "hsct_after_car_day is required when hsct_after_car is true"),
    ("P02", {"death_cause": "infection"}, "death_cause",
     "death_cause is empty unless death is true"),
    ("P01", {"agvhd_site": "gut"}, "agvhd_site",
     "agvhd_site is empty unless agvhd is true"),
    ("P01", {"relapse_day": 201}, "relapse_day",
     "relapse_day is not after last_contact_day"),
    ("P02", {"hsct_after_car_day": 401}, "hsct_after_car_day",
     "hsct_after_car_day is not after last_contact_day"),
    ("P03", {"lost_to_followup": True}, "lost_to_followup",
     "death and lost_to_followup are not both true"),
    ("P03", {"last_contact_day": None}, "last_contact_day",
     "last_contact_day is given whenever death is true"),
])
def test_cross_field_rule(cohort, csv_path, patient, values, column, rule):
    error = refused(corrupt(cohort, csv_path, patient, **values))
    assert_names(error, csv_path, patient, column, rule)
    assert "more violation" not in str(error)


def test_day_on_last_contact_day_is_fine(cohort, csv_path):
    read_cohort(corrupt(cohort, csv_path, "P01", relapse_day=200), STUDY, GROUPS)


def test_first_violation_in_row_order_and_count_of_the_rest(cohort, csv_path):
    frame = cohort.copy()
    frame.loc[3, "group"] = "c"                               # row 4
    frame["agvhd_site"] = frame["agvhd_site"].astype(object)
    frame.loc[0, "agvhd_site"] = "gut"                        # row 1
    frame.loc[2, "crs_grade"] = 9                             # row 3
    write_cohort(frame, csv_path)
    error = refused(csv_path)
    assert_names(error, csv_path, "P01", "agvhd_site", "agvhd_site is empty unless agvhd")
    assert str(error).endswith("(and 2 more violations)")
    assert error.more == 2


def test_validate_in_memory_keeps_index_and_types(cohort):
    cohort.index = [10, 20, 30, 40]
    frame = validate(cohort, STUDY, GROUPS)
    assert list(frame.index) == [10, 20, 30, 40]
    assert frame.loc[20, "hsct_after_car_day"] == 45
    assert frame["crs_grade"].dtype == "Int64"
    cohort.loc[30, "crs_grade"] = 2.5
    with pytest.raises(CohortError, match=r"^<cohort>: patient 'P03', column 'crs_grade': "
                                          r"2\.5 is not a whole number$"):
        validate(cohort, STUDY, GROUPS)


def test_no_pandera_report_reaches_the_user(cohort, csv_path):
    error = refused(corrupt(cohort, csv_path, "P02", group="zz", crs_grade=6))
    assert error.__cause__ is None and error.__suppress_context__ is False
    assert error.__context__ is None
    assert len(str(error).splitlines()) == 1


# --- the encoding --------------------------------------------------------------------------


def test_csv_conventions(csv_path):
    data = csv_path.read_bytes()
    assert b"\r" not in data and data.endswith(b"\n")
    lines = data.decode("utf-8").split("\n")
    assert lines[0] == ",".join(COLUMN_NAMES)
    row = dict(zip(COLUMN_NAMES, lines[1].split(",")))
    assert row["prior_hsct"] == "false" and row["cr_d30"] == "true"
    assert row["crs_grade"] == "2" and row["relapse_day"] == "120"
    assert row["age_years"] == "12.5" and row["dose_e5_per_kg"] == "1.0"
    assert row["pb_blasts_pct"] == "33.333333333333336"
    assert row["agvhd_site"] == "" and row["cgvhd_at_collection"] == ""
    assert dict(zip(COLUMN_NAMES, lines[2].split(",")))["dose_e5_per_kg"] == "5e-07"


def test_round_trip_is_identical(cohort, csv_path, tmp_path):
    first = read_cohort(csv_path, STUDY, GROUPS)
    pd.testing.assert_frame_equal(first, validate(cohort, STUDY, GROUPS))
    again = tmp_path / "again.csv"
    write_cohort(first, again)
    assert again.read_bytes() == csv_path.read_bytes()
    pd.testing.assert_frame_equal(read_cohort(again, STUDY, GROUPS), first)


def test_writing_twice_gives_identical_bytes(cohort, csv_path):
    before = csv_path.read_bytes()
    write_cohort(cohort, csv_path)
    assert csv_path.read_bytes() == before


def test_column_order_record_then_study(cohort, csv_path):
    shuffled = cohort.assign(note="x, \"quoted\"")[["note", *reversed(COLUMN_NAMES)]]
    write_cohort(shuffled, csv_path)
    assert csv_path.read_text().splitlines()[0] == ",".join([*COLUMN_NAMES, "note"])
    frame = read_cohort(csv_path, STUDY, GROUPS, extra={"note": "str"})
    assert frame["note"].tolist() == ['x, "quoted"'] * 4


def test_failing_encode_leaves_existing_file_untouched(cohort, csv_path):
    before = csv_path.read_bytes()
    bad = cohort.copy()
    bad["death"] = bad["death"].astype(object)
    bad.loc[1, "death"] = "maybe"
    with pytest.raises(CohortError, match=r"patient 'P02', column 'death': 'maybe' is not"):
        write_cohort(bad, csv_path)
    with pytest.raises(CohortError, match=r"column 'relapse': missing column"):
        write_cohort(cohort.drop(columns="relapse"), csv_path)
    assert csv_path.read_bytes() == before
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["toy.csv"]


def test_failing_disk_write_leaves_existing_file_untouched(cohort, csv_path, monkeypatch):
    before = csv_path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(schema.os, "fsync", broken_fsync)
    with pytest.raises(CohortError, match=r"cannot write: No space left on device"):
        write_cohort(cohort.assign(age_years=1.0), csv_path)
    assert csv_path.read_bytes() == before
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["toy.csv"]


def test_unreadable_files(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(CohortError, match=r"nope\.csv: cannot read"):
        read_cohort(missing, STUDY, GROUPS)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(",".join(COLUMN_NAMES) + "\ntoy,P01,a\n")
    with pytest.raises(CohortError, match=r"ragged\.csv: patient 'P01': 3 fields where the "
                                          r"header has \d+$"):
        read_cohort(ragged, STUDY, GROUPS)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("caf\u00e9".encode("latin-1"))
    with pytest.raises(CohortError, match=r"latin\.csv: not UTF-8 text"):
        read_cohort(latin, STUDY, GROUPS)
