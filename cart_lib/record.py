"""The reconstructed patient record: the columns every cohort carries.

This is the single machine-readable statement of the record described in the
book's methods chapter. Day 0 is the day of CAR T-cell infusion; all times are
whole days since then. A study may add columns of its own (declared in its
ledger) but may not rename or drop these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Days in a month, for converting printed months into record days.
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Column:
    """One column of the patient record.

    Parameters
    ----------
    name : str
        Column name, exactly as in the CSV.
    dtype : {"str", "bool", "int", "float"}
        Value type; every column may be empty where the rule allows.
    description : str
        What the column holds, in the reader's vocabulary.
    allowed : tuple of str, optional
        Allowed values of a ``str`` column (empty is always allowed).
    bounds : tuple of float, optional
        Inclusive lower and upper bound of a numeric column.
    window_days : float, optional
        For an endpoint assessed within a window after infusion, its length.
    """

    name: str
    dtype: str
    description: str
    allowed: tuple[str, ...] | None = None
    bounds: tuple[float, float] | None = None
    window_days: float | None = None


COLUMNS: tuple[Column, ...] = (
    Column("study", "str", "study slug"),
    Column("patient_id", "str", "patient identifier, unique within the study"),
    Column("group", "str", "the study's own reporting group"),
    Column("car_source", "str", "origin of the CAR T cells",
           allowed=("autologous", "recipient-derived", "donor-derived")),
    Column("donor", "str", "HLA relation of the cell donor",
           allowed=("none", "matched-sibling", "haploidentical", "unrelated", "unknown")),
    Column("prior_hsct", "bool", "allogeneic transplant before CAR-T"),
    Column("age_years", "float", "age at infusion, years", bounds=(0, 120)),
    Column("dose_e5_per_kg", "float", "infused CAR T cells, 10^5 per kg", bounds=(0, 1e4)),
    Column("bm_blasts_pct", "float", "marrow blasts at T-cell collection, %", bounds=(0, 100)),
    Column("pb_blasts_pct", "float", "blood blasts at T-cell collection, %", bounds=(0, 100)),
    Column("manufacture_reason", "str", "why donor cells were used",
           allowed=("autologous-failed", "high-blasts")),
    Column("cr_d30", "bool", "complete remission (CR/CRi) within 30 days", window_days=30),
    Column("mrd_negative", "bool", "MRD-negative remission; empty unless cr_d30"),
    Column("crs_grade", "int", "cytokine release syndrome grade, 0 = none", bounds=(0, 5)),
    Column("neurotox_grade", "int", "neurotoxicity grade, 0 = none", bounds=(0, 5)),
    Column("agvhd", "bool", "acute GVHD after CAR-T"),
    Column("agvhd_site", "str", "organ of acute GVHD", allowed=("skin", "gut", "liver")),
    Column("cgvhd_at_collection", "bool", "chronic GVHD when T cells were collected"),
    Column("peak_expansion", "float", "peak CAR transgene copies per microgram genomic DNA",
           bounds=(0, 1e9)),
    Column("second_hsct", "bool", "bridged to a (further) allogeneic transplant"),
    Column("second_hsct_day", "int", "day of that transplant", bounds=(0, 10_000)),
    Column("relapse", "bool", "relapse after CR"),
    Column("relapse_day", "int", "day of relapse", bounds=(0, 10_000)),
    Column("death", "bool", "died"),
    Column("death_cause", "str", "cause of death",
           allowed=("relapse", "progression", "infection", "GVHD/infection", "arrhythmia",
                    "DIC", "CRS", "other")),
    Column("lost_to_followup", "bool", "lost to follow-up"),
    Column("last_contact_day", "int", "day of death, or of last contact if alive",
           bounds=(0, 10_000)),
)

COLUMN_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)


#: The record's cross-field rules, stated once, as (column, the flag it needs,
#: what it is where the flag is not true). ``cart_lib.cohort`` applies them
#: when it builds a cohort; ``cart_lib.schema`` checks them when it reads one.
NEEDS_FLAG: tuple[tuple[str, str, str], ...] = (
    ("mrd_negative", "cr_d30", "empty"),
    ("relapse", "cr_d30", "false"),        # no relapse without a remission
    ("relapse_day", "relapse", "empty"),
    ("second_hsct_day", "second_hsct", "empty"),
    ("death_cause", "death", "empty"),
    ("agvhd_site", "agvhd", "empty"),
)
#: Day columns: required where their event happened (the endpoints need
#: them), and never after ``last_contact_day``.
DAY_OF: dict[str, str] = {"relapse_day": "relapse", "second_hsct_day": "second_hsct"}
DAY_COLUMNS: tuple[str, ...] = tuple(DAY_OF)


def flag_rule(column: str, flag: str, otherwise: str) -> str:
    """The rule text of one ``NEEDS_FLAG`` entry, as error messages print it."""
    return (f"{column} is true only when {flag} is true" if otherwise == "false"
            else f"{column} is empty unless {flag} is true")
