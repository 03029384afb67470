"""The reconstructed patient record: the columns every cohort carries.

This is the single machine-readable statement of the core of the record
described in the book's methods chapter: who the patient is, what the arm
received, remission, relapse, transplant after treatment, death and follow-up.
Day 0 is the day of infusion; all times are whole days since then. Everything
else a study reports is a study column declared in its ledger (``columns:``,
:meth:`cart_lib.ledger.Ledger.columns_of_record`); a study may not rename or
drop these.
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
        For a column assessed within a window after infusion, its length.
    required : bool
        Never empty (where it applies: see :data:`APPLIES_TO`).
    needs : str, optional
        A boolean column this one depends on: empty unless that flag is true.
    """

    name: str
    dtype: str
    description: str
    allowed: tuple[str, ...] | None = None
    bounds: tuple[float, float] | None = None
    window_days: float | None = None
    required: bool = False
    needs: str | None = None


#: The remission column, whose assessment window is a rule of each study's ledger.
REMISSION = "cr_d30"

#: What an arm may have received: CAR T cells, or a treatment that is not CAR-T.
TREATMENTS: tuple[str, ...] = ("CAR-T", "DLI", "chemotherapy", "transplant")

COLUMNS: tuple[Column, ...] = (
    Column("study", "str", "study slug", required=True),
    Column("patient_id", "str", "patient identifier, unique within the study", required=True),
    Column("group", "str", "the study's own reporting group", required=True),
    Column("treatment", "str", "what the arm received",
           allowed=TREATMENTS, required=True),
    Column("car_source", "str", "origin of the CAR T cells, where the treatment is CAR-T",
           allowed=("autologous", "recipient-derived", "donor-derived"), required=True),
    Column("donor", "str", "HLA relation of the CAR T-cell donor, where the treatment is CAR-T",
           allowed=("none", "matched-sibling", "haploidentical", "unrelated", "unknown"),
           required=True),
    Column("prior_hsct", "bool", "allogeneic transplant before the treatment", required=True),
    Column(REMISSION, "bool", "complete remission (CR/CRi) within the study's assessment window"),
    Column("hsct_after_car", "bool",
           "allogeneic transplant after CAR-T (a second one after a prior transplant, "
           "else the first)"),
    Column("hsct_after_car_day", "int", "day of that transplant", bounds=(0, 10_000)),
    Column("relapse", "bool", "relapse after CR"),
    Column("relapse_day", "int", "day of relapse", bounds=(0, 10_000)),
    Column("death", "bool", "died"),
    Column("death_cause", "str", "cause of death",
           allowed=("relapse", "leukaemia", "progression", "infection", "GVHD", "GVHD/infection",
                    "arrhythmia", "DIC", "CRS", "other")),
    Column("lost_to_followup", "bool", "lost to follow-up"),
    Column("last_contact_day", "int", "day of death, or of last contact if alive",
           bounds=(0, 10_000)),
)

COLUMN_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

#: Treatment attributes that apply to one treatment only, as (column, treatment): given
#: (where required) for that treatment and empty for any other.
APPLIES_TO: dict[str, str] = {"car_source": "CAR-T", "donor": "CAR-T"}


def treatment_rule(column: str, treatment: str) -> str:
    """The rule text of one :data:`APPLIES_TO` entry, as error messages print it."""
    return f"{column} is empty unless treatment is {treatment}"

#: The endpoints every study has, derived from the record (``cart_lib.cohort``),
#: and the columns each reads. A ledger may declare more (``endpoints:``).
ENDPOINT_COLUMNS: dict[str, set[str]] = {
    "overall_survival": {"last_contact_day", "death"},
    "follow_up": {"last_contact_day", "death"},
    "leukemia_free_survival": {"last_contact_day", "death", "cr_d30", "relapse", "relapse_day"},
}
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)


#: The record's cross-field rules, stated once, as (column, the flag it needs,
#: what it is where the flag is not true). ``cart_lib.cohort`` applies them
#: when it builds a cohort; ``cart_lib.cohort.schema`` checks them when it reads one.
NEEDS_FLAG: tuple[tuple[str, str, str], ...] = (
    ("relapse", "cr_d30", "false"),        # no relapse without a remission
    ("relapse_day", "relapse", "empty"),
    ("hsct_after_car_day", "hsct_after_car", "empty"),
    ("death_cause", "death", "empty"),
)
#: Flags a true flag rules out, as (column, the flag): lost to follow-up means
#: alive at last contact. ``cart_lib.cohort`` makes the column false where the
#: flag is true; ``cart_lib.cohort.schema`` checks that both are not true.
EXCLUDED_BY: tuple[tuple[str, str], ...] = (
    ("lost_to_followup", "death"),
)


def needs_flag(columns: tuple[Column, ...] | list[Column]) -> tuple[tuple[str, str, str], ...]:
    """The flag rules of a record of ``columns``: :data:`NEEDS_FLAG`, then each other column's ``needs``.

    Examples
    --------
    >>> extra = Column("site", "str", "where", needs="death")
    >>> needs_flag([*COLUMNS, extra])[-1]
    ('site', 'death', 'empty')
    """
    core = {column for column, _, _ in NEEDS_FLAG}
    return (*NEEDS_FLAG, *((c.name, c.needs, "empty") for c in columns
                           if c.needs and c.name not in core))


def exclusion_rule(column: str, flag: str) -> str:
    """The rule text of one ``EXCLUDED_BY`` entry, as error messages print it."""
    return f"{flag} and {column} are not both true"


#: Day columns: required where their event happened (the endpoints need
#: them), and never after ``last_contact_day``.
DAY_OF: dict[str, str] = {"relapse_day": "relapse", "hsct_after_car_day": "hsct_after_car"}
DAY_COLUMNS: tuple[str, ...] = tuple(DAY_OF)


def flag_rule(column: str, flag: str, otherwise: str) -> str:
    """The rule text of one ``NEEDS_FLAG`` entry, as error messages print it."""
    return (f"{column} is true only when {flag} is true" if otherwise == "false"
            else f"{column} is empty unless {flag} is true")


# ------------------------------------------------------------------ timeline rules

@dataclass(frozen=True)
class Rule:
    """A statement about every patient of a cohort: each patient of ``population`` satisfies ``holds``.

    The record's timeline rules (:func:`timeline_rules`) and a ledger's stated
    facts (:class:`cart_lib.ledger.Fact`) take this one form, so the cohort
    schema, the search, the sampler and the plausibility report read them
    alike. Both expressions are in the ledger's expression language
    (:mod:`cart_lib.core.expressions`), where a comparison with an empty value is
    false.

    Parameters
    ----------
    id : str
        A name, unique among a study's rules and facts.
    says : str
        The rule in words, as error messages and the book print it.
    population : str
        Expression: the patients the rule is about.
    holds : str
        Expression every one of them satisfies.
    column : str
        The column an error message names.
    source : str
        ``record`` for a timeline rule of the patient record, ``fact`` for a
        fact the study's text states in words, ``constraint`` for a
        plausibility constraint its ledger adds.
    """

    id: str
    says: str
    population: str
    holds: str
    column: str
    source: str = "record"


#: Causes of death that are the leukaemia itself.
DISEASE_DEATHS: tuple[str, ...] = ("relapse", "leukaemia", "progression")

#: Causes of death that are graft-versus-host disease, alone or with infection.
GVHD_DEATHS: tuple[str, ...] = ("GVHD", "GVHD/infection")

#: The timeline rules of the patient record, with ``{assessment_day}`` standing
#: for a study's earliest response assessment (a ledger rule).
_TIMELINE: tuple[Rule, ...] = (
    Rule("remission_assessed",
         "a remission only in a patient followed until it could be assessed "
         "(last contact on or after {assessment})",
         "cr_d30", "last_contact_day >= {assessment_day}", "cr_d30"),
    Rule("followed_until_assessment",
         "a living patient, lost to follow-up or not, was followed at least until a response "
         "could be assessed ({assessment})",
         "not death", "last_contact_day >= {assessment_day}", "last_contact_day"),
    Rule("relapse_after_remission",
         "a relapse only after a remission, once it could be assessed (after {assessment})",
         "relapse", "cr_d30 and relapse_day > {assessment_day}", "relapse_day"),
    Rule("relapse_before_death", "a relapse comes before death, not on its day",
         "relapse and death", "relapse_day < last_contact_day", "relapse_day"),
    Rule("transplant_before_death",
         "a transplant after CAR-T comes before death, not on its day",
         "hsct_after_car and death", "hsct_after_car_day < last_contact_day",
         "hsct_after_car_day"),
    Rule("relapse_not_on_transplant_day",
         "a relapse and a transplant after CAR-T fall on different days",
         "relapse and hsct_after_car", "relapse_day != hsct_after_car_day", "relapse_day"),
    Rule("transplant_in_remission",
         "a transplant after CAR-T happens in remission (after {assessment}) "
         "and before any relapse",
         "hsct_after_car",
         "cr_d30 and hsct_after_car_day > {assessment_day} "
         "and (not relapse or hsct_after_car_day < relapse_day)",
         "hsct_after_car_day"),
    Rule("disease_death_after_failure",
         "a death from relapse, leukaemia or progression is in a patient who never reached "
         "remission or who relapsed",
         f"death and death_cause in {list(DISEASE_DEATHS)}", "not cr_d30 or relapse",
         "death_cause"),
    Rule("relapse_death_needs_relapse", "a death 'from relapse' needs a relapse",
         "death and death_cause == 'relapse'", "relapse", "death_cause"),
    Rule("gvhd_assessed",
         "acute GVHD only in a patient followed until it could be assessed "
         "(last contact on or after {assessment})",
         "agvhd", "last_contact_day >= {assessment_day}", "agvhd"),
    Rule("gvhd_death_after_assessment",
         "a death from GVHD comes after GVHD could be assessed (after {assessment})",
         f"death and death_cause in {list(GVHD_DEATHS)}", "last_contact_day > {assessment_day}",
         "death_cause"),
)
#: Ids of the timeline rules, in order.
TIMELINE_RULE_IDS: tuple[str, ...] = tuple(r.id for r in _TIMELINE)


def timeline_rules(assessment_day: int | None, waived: tuple[str, ...] = ()) -> tuple[Rule, ...]:
    """The record's timeline rules for a study whose earliest response assessment is ``assessment_day``.

    Parameters
    ----------
    assessment_day : int or None
        The earliest day after infusion at which a remission can be assessed;
        None gives the rules as words for any study (``A`` in expressions).
    waived : tuple of str
        Rules the study's ledger waives (with its reason there).

    Examples
    --------
    >>> rules = timeline_rules(14)
    >>> rules[0].says
    'a remission only in a patient followed until it could be assessed (last contact on or after day 14)'
    >>> rules[0].holds
    'last_contact_day >= 14'
    >>> "transplant_in_remission" in [r.id for r in timeline_rules(14)]
    True
    >>> "transplant_in_remission" in [r.id for r in timeline_rules(14, ("transplant_in_remission",))]
    False
    """
    if assessment_day is None:
        words = {"assessment": "the earliest assessment day", "assessment_day": "A"}
    else:
        words = {"assessment": f"day {int(assessment_day)}", "assessment_day": int(assessment_day)}
    return tuple(Rule(r.id, r.says.format(**words), r.population.format(**words),
                      r.holds.format(**words), r.column, r.source)
                 for r in _TIMELINE if r.id not in waived)
