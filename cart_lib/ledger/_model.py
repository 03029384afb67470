"""The claims ledger: every number a study printed, typed and traceable.

One YAML file per study under ``data/claims/``. Each claim holds a figure
exactly as printed, where it was printed, what it measures (a *reading*:
population, variable, statistic, method) and the precision it was printed
at. A figure whose meaning the text leaves open carries several readings, one
of them adopted, each with the reason for or against it.

Loading goes through pydantic models for structure and through
:func:`check_ledger` for meaning; either way a malformed ledger ends in one
:class:`~cart_lib.core.errors.LedgerError` naming the file, the claim and the field.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..core import expressions, paths, printed
from ..core.errors import LedgerError
from ..stats.group_tests import RANK_TESTS, TEST_INPUT, Test
from ..measures import MEASURES, Measure, Statistic
from ..core.record import (APPLIES_TO, COLUMN_NAMES, COLUMNS, DAYS_PER_MONTH,
                           ENDPOINT_COLUMNS, REMISSION, TIMELINE_RULE_IDS, Column, Rule,
                           needs_flag, timeline_rules, treatment_rule)

#: libyaml's safe loader where PyYAML was built with it (ten times faster), else the pure one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Endpoint(str, Enum):
    """Time-to-event endpoints, derived from the record by the rules in :mod:`cart_lib.core.record`."""

    overall_survival = "overall_survival"
    leukemia_free_survival = "leukemia_free_survival"
    follow_up = "follow_up"   #: reverse Kaplan-Meier: time to last contact, death censored


UNITS = {"days": 1.0, "months": DAYS_PER_MONTH, "years": 365.25}
#: Fields every reading may give: its name, its kind and the reader's notes.
_DESCRIPTIVE = {"id", "statistic", "method", "adopted", "literal", "why"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Locator(_Strict):
    """Where a figure was printed: the source and its paragraph (1-based)."""

    source: str
    paragraph: int = Field(ge=1)
    sentence: int | None = Field(default=None, ge=1)

    def __str__(self) -> str:
        out = f"{self.source}, paragraph {self.paragraph}"
        return out + (f", sentence {self.sentence}" if self.sentence else "")


class Reading(_Strict):
    """One way of computing a printed figure from the patient record.

    Attributes
    ----------
    id : str
        Name of the reading, unique within its claim.
    population : str
        Expression selecting the patients the figure is about.
    statistic : Statistic
        What is computed.
    event, variable, endpoint : str, optional
        What is counted (an expression), measured (a column or variable) or
        timed (an endpoint: the record's ``overall_survival``,
        ``leukemia_free_survival`` or ``follow_up``, or one the ledger declares
        under ``endpoints``), as the statistic needs.
    each : str, optional
        For counts: every counted patient also satisfies this expression.
    groups : list of str, optional
        For tests: expressions selecting each group compared, two or more.
        Pearson's chi-square (``chi2``), the log-rank test and
        ``kruskal_wallis`` compare k >= 2 groups (a three-arm study lists
        three); every other test compares exactly two, and more is refused.
        One arm against all the others is two groups, for example
        ``groups: ["group == 'a'", "group != 'a'"]`` (the record's ``group``
        is never empty, so ``!=`` selects every other patient).
    test : Test, optional
        The test behind a p-value.
    direction : {"first_higher", "first_lower"}, optional
        Which of two groups the text says has the higher rate or values
        (refused with more than two groups).
    comparator : {"<", "<=", ">", ">="}, optional
        For bounds: how each value relates to the printed bound.
    ties : {"forbidden", "allowed"}
        For rank tests: whether values may be tied across the compared
        groups. Forbidden unless the reading says why they are allowed (for
        example, grades); an exact p-value with ties is then computed by a
        method exact under ties.
    rounding : {"half-up", "half-even", "truncate"}, optional
        The convention the figure needs to print as printed. Omitted, the
        figure must print so under every convention: it may not lie on a
        rounding tie. Give one only when the counts force the figure onto a
        tie (say so in ``why``).
    defines : str, optional
        For definitions: the column or ledger variable whose window is printed.
    ci : str, optional
        The confidence interval's method: for ``proportion_ci``, one of
        ``clopper-pearson``, ``wilson``, ``wald``, ``jeffreys``,
        ``agresti-coull``; for Kaplan-Meier figures, the Greenwood interval
        ``plain``, ``log`` or ``log-log`` (R's ``conf.type``). Required when
        the figure prints an interval whose method the statistic does not fix;
        when the text does not say, list the methods as readings.
    at : float, optional
        For a survival rate at a landmark: the time, in ``unit``.
    unit : {"days", "months", "years"}, optional
        Unit of printed times, converted to record days.
    method : str, optional
        The method in the reader's words, where the source implies one.
    adopted : bool
        Whether the book adopts this reading (exactly one per claim).
    literal : bool
        Whether this is a plain reading of the printed words (not a re-interpretation).
    why : str, optional
        Why this reading is adopted, or what speaks against it.
    """

    id: str = "plain"
    population: str | None = None
    statistic: Statistic
    event: str | None = None
    variable: str | None = None
    endpoint: str | None = None
    each: str | None = None
    groups: list[str] | None = Field(default=None, min_length=2)
    test: Test | None = None
    direction: Literal["first_higher", "first_lower"] | None = None
    comparator: Literal["<", "<=", ">", ">="] | None = None
    ties: Literal["forbidden", "allowed"] = "forbidden"
    rounding: Literal["half-up", "half-even", "truncate"] | None = None
    defines: str | None = None
    ci: str | None = None
    at: float | None = Field(default=None, gt=0)
    unit: Literal["days", "months", "years"] | None = None
    method: str | None = None
    adopted: bool = True
    literal: bool = True
    why: str | None = None

    def expressions(self) -> dict[str, str]:
        """The reading's expressions, by field name."""
        out = {k: getattr(self, k) for k in ("population", "event", "variable", "each")
               if getattr(self, k)}
        for i, group in enumerate(self.groups or []):
            out[f"groups[{i}]"] = group
        return out

    @property
    def scale(self) -> float:
        """Record days per printed unit."""
        return UNITS[self.unit or "days"]

    @property
    def measure(self) -> Measure:
        """The statistic's entry in the registry (:mod:`cart_lib.measures`)."""
        return MEASURES[self.statistic.value]


class Claim(_Strict):
    """One printed figure of a study.

    Attributes
    ----------
    id : str
        Stable identifier, unique within the study.
    printed : str
        The figure exactly as printed.
    locator : Locator
        Where it was printed.
    says : str
        One line, in the book's own words, on what the figure states.
    reads : list of str
        The role of each number in ``printed``, in order.
    precision : dict of str to float
        The printed resolution of each number, by role.
    readings : list of Reading
        The ways of computing the figure; exactly one adopted.
    question : str, optional
        For several readings: what the text leaves open.
    infeasible_as_printed : str, optional
        Why no literal reading of the figure can hold (checked by claim inversion).
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    printed: str = Field(min_length=1)
    locator: Locator
    says: str = Field(min_length=1)
    reads: list[str] = []
    precision: dict[str, float] = {}
    readings: list[Reading] = Field(min_length=1)
    question: str | None = None
    infeasible_as_printed: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _single_measure(cls, data: Any) -> Any:
        # A claim with one reading may give it inline as ``measure``.
        if isinstance(data, dict) and "measure" in data:
            if "readings" in data:
                raise ValueError("give either 'measure' or 'readings', not both")
            data = dict(data)
            data["readings"] = [data.pop("measure")]
        return data

    @cached_property
    def adopted(self) -> Reading:
        """The reading the book adopts."""
        return next(r for r in self.readings if r.adopted)

    def numbers(self) -> dict[str, printed.Token]:
        """The printed numbers, by role."""
        return self._numbers

    @cached_property
    def _numbers(self) -> dict[str, printed.Token]:
        return dict(zip(self.reads, printed.tokens(self.printed)))

    @cached_property
    def targets(self) -> tuple[tuple[str, float, float, float, float], ...]:
        """Each role read but ``bound``: (role, printed value, step, low, high) of its rounding interval."""
        convention = self.adopted.rounding
        return tuple((role, tok.value, self.precision[role],
                      *printed.interval(tok.value, self.precision[role], convention))
                     for role, tok in self.numbers().items() if role != "bound")

    def holds_for(self) -> dict[str, tuple[float, float]]:
        """For each role, the interval of true values that print as printed."""
        return {role: printed.rounding_interval(tok.value, self.precision[role],
                                                self.adopted.rounding)
                for role, tok in self.numbers().items()}


class Variable(_Strict):
    """A named expression a study's claims share (e.g. ``severe_crs``)."""

    expr: str | None = None
    column: str | None = None
    window_days: float | None = None
    description: str

    @model_validator(mode="after")
    def _expr_or_column(self) -> Variable:
        if (self.expr is None) == (self.column is None):
            raise ValueError("give exactly one of 'expr' (a new variable) or 'column' "
                             "(a note on a record column)")
        return self


class Domain(_Strict):
    """The values the search may give a column the study reports.

    A column a study reports gets a domain; every other column stays empty.
    Give ``values`` for a categorical column, ``min``/``max``/``step`` for a
    numeric one (``log`` spaces the grid evenly in log10, ``step`` then in
    log10 units), nothing for a boolean. ``where`` restricts the column to
    the patients it applies to (an expression over the group's attributes);
    the others have it empty.
    """

    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    log: bool = False
    where: str | None = None

    @model_validator(mode="after")
    def _numeric_grid(self) -> Domain:
        numeric = (self.min, self.max, self.step)
        if any(v is not None for v in numeric) and not all(v is not None for v in numeric):
            raise ValueError("a numeric domain needs min, max and step")
        if self.values is not None and self.min is not None:
            raise ValueError("give either values or a numeric grid, not both")
        if self.min is not None and (self.max < self.min or self.step <= 0):
            raise ValueError("a numeric domain needs min <= max and step > 0")
        return self

    def grid(self, dtype: str) -> np.ndarray:
        """The values a column of record dtype ``dtype`` with this domain may take, in order.

        The one reading of a domain, which the search, the sampler, the audit
        and the questions share: ``0.0, 1.0`` for a boolean; the listed
        values (an object array) for text; for a number, ``min``, ``min +
        step``, ... up to ``max``, or with ``log`` that grid in log10 with each
        value kept to 4 significant digits, rounded to 10 decimals so that
        ``0.1 + 0.2`` is ``0.3``.

        Examples
        --------
        >>> Domain(min=0, max=1, step=0.25).grid("float").tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> Domain(min=100, max=1000, step=0.5, log=True).grid("float").tolist()
        [100.0, 316.2, 1000.0]
        >>> Domain(values=["skin", "gut"]).grid("str").tolist(), Domain().grid("bool").tolist()
        (['skin', 'gut'], [0.0, 1.0])
        """
        if dtype == "bool":
            return np.array([0.0, 1.0])
        if dtype == "str":
            return np.array(self.values, dtype=object)
        if self.log:
            low, high = math.log10(self.min), math.log10(self.max)
            count = int(round((high - low) / self.step)) + 1
            steps = np.array([float(f"{10 ** (low + self.step * k):.4g}") for k in range(count)])
        else:
            count = int(round((self.max - self.min) / self.step)) + 1
            steps = self.min + self.step * np.arange(count)
        return np.round(steps, 10)


class StudyColumn(_Strict):
    """A column a study adds to the patient record (``columns:``).

    Attributes
    ----------
    dtype : {"str", "bool", "int", "float"}
    description : str
        What the column holds, in the reader's vocabulary.
    allowed : list of str, optional
        The values a text column may hold (empty is always allowed).
    min, max : float, optional
        Inclusive bounds of a numeric column.
    required : bool
        Never empty: the column needs a domain in ``record:`` or a value fixed
        by every group.
    needs : str, optional
        A boolean column this one depends on: empty unless that flag is true.
    window_days : float, optional
        For a column assessed within a window after infusion, its length (a
        ``definition`` claim may print it).
    after : str, optional
        The column it follows in the cohort file; by default the study column
        declared before it, and the first one follows the record's last.
    """

    dtype: Literal["str", "bool", "int", "float"]
    description: str
    allowed: list[str] | None = Field(default=None, min_length=1)
    min: float | None = None
    max: float | None = None
    required: bool = False
    needs: str | None = None
    window_days: float | None = Field(default=None, gt=0)
    after: str | None = None

    @model_validator(mode="after")
    def _fits_dtype(self) -> StudyColumn:
        if self.allowed is not None and self.dtype != "str":
            raise ValueError("only a text column lists allowed values")
        if (self.min is not None or self.max is not None) and self.dtype not in ("int", "float"):
            raise ValueError("only a numeric column has min and max")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("min must not exceed max")
        return self

    def column(self, name: str) -> Column:
        """The column as the record states it (:class:`cart_lib.core.record.Column`)."""
        bounds = None if self.min is None and self.max is None else \
            (-math.inf if self.min is None else self.min, math.inf if self.max is None else self.max)
        return Column(name, self.dtype, self.description,
                      tuple(self.allowed) if self.allowed else None, bounds, self.window_days,
                      self.required, self.needs)


class Reference(_Strict):
    """Bibliographic reference of the study."""

    authors: str
    title: str
    journal: str
    year: int
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    url: str | None = None
    note: str | None = None


class Rules(_Strict):
    """Endpoint rules a study's text implies, stated once per ledger.

    Attributes
    ----------
    response_window_days : float
        The window, in days after infusion, within which remission (``cr_d30``)
        is assessed; a ``definition`` claim of ``cr_d30`` prints it.
    lfs_non_responder : {"assessment", "day0"}
        When a patient who never reached CR has their leukaemia-free-survival
        event: ``assessment``, at the end of the response window or at death
        or last contact if earlier; ``day0``, at infusion.
    earliest_assessment_day : int
        The first day after infusion at which a remission can be assessed:
        a patient last seen before it cannot be in remission, and a relapse
        or a transplant in remission comes after it.
    waive : dict of str to str
        Timeline rules of the record (:data:`cart_lib.core.record.TIMELINE_RULE_IDS`)
        this study's adopted readings do not follow, each with the reason.
    why : str
        Why the study's figures imply these rules.
    """

    response_window_days: float = Field(gt=0)
    lfs_non_responder: Literal["assessment", "day0"] = "assessment"
    earliest_assessment_day: int = Field(ge=0)
    waive: dict[str, str] = {}
    why: str


class EndpointEvent(_Strict):
    """One kind of event that ends a declared endpoint: who had it, and on which day."""

    when: str = Field(min_length=1)
    day: str | float


class DeclaredEndpoint(_Strict):
    """A time-to-event endpoint a study defines (``endpoints:``), beyond the record's own.

    The time runs from ``start`` to the first of the ``events`` or the
    ``competing`` events, or to last contact. For example event-free survival
    (``events``: no remission on day 30, relapse, death), or the cumulative
    incidence of relapse with death in remission competing.

    Attributes
    ----------
    says : str
        What the endpoint measures, in the reader's words.
    events : list of EndpointEvent
        The events of interest: ``when`` an expression, ``day`` a day
        column or a fixed day.
    competing : list of EndpointEvent
        Events that preclude them (for cumulative incidence); a Kaplan-Meier
        figure of the endpoint censors them.
    start : float
        The day its clock starts (0, the infusion, by default).
    """

    says: str = Field(min_length=1)
    events: list[EndpointEvent] = Field(min_length=1)
    competing: list[EndpointEvent] = []
    start: float = 0.0

    def names(self) -> set[str]:
        """The names its expressions and day columns read (ledger variables unexpanded)."""
        out = {"last_contact_day"}
        for kind in (*self.events, *self.competing):
            out |= expressions.names(kind.when)
            if isinstance(kind.day, str):
                out.add(kind.day)
        return out


def _held(item, source: str) -> Rule:
    """A fact or a constraint as a rule of the cohort; errors name the first column it holds of."""
    names = sorted(expressions.names(item.holds))
    return Rule(item.id, item.says, item.population, item.holds,
                names[0] if names else "patient_id", source=source)


class Fact(_Strict):
    """A fact the study's text states in words rather than numbers, held like a claim.

    Every patient of ``population`` satisfies ``holds`` (for example, the
    patients bridged to a transplant were in remission).

    Attributes
    ----------
    id : str
        Stable identifier, unique among the study's claims and facts.
    sentence : str
        The words of the text the fact rests on, quoted.
    locator : Locator
        Where they were printed.
    says : str
        The fact in the book's own words.
    population : str
        Expression: the patients the fact is about.
    holds : str
        Expression each of them satisfies.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    sentence: str = Field(min_length=1)
    locator: Locator
    says: str = Field(min_length=1)
    population: str
    holds: str

    def rule(self) -> Rule:
        """The fact as a rule of the cohort (:class:`cart_lib.core.record.Rule`)."""
        return _held(self, "fact")


class Constraint(_Strict):
    """A plausibility constraint the ledger adds, held like a fact, with the reason for it.

    Unlike a fact, the text does not state it: it rules out cohorts that meet
    the printed figures only in ways no study could produce, for example
    living patients all censored within days of infusion under a printed
    median survival. Every patient of ``population`` satisfies ``holds``.

    Attributes
    ----------
    id : str
        Stable identifier, unique among the study's claims, facts and constraints.
    says : str
        The constraint in the book's own words.
    why : str
        Why it holds for this study (its design, enrolment window, follow-up).
    population, holds : str
        Expressions, as for a fact.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    says: str = Field(min_length=1)
    why: str = Field(min_length=1)
    population: str
    holds: str

    def rule(self) -> Rule:
        """The constraint as a rule of the cohort (:class:`cart_lib.core.record.Rule`)."""
        return _held(self, "constraint")


class NotClaim(_Strict):
    """A number in the source that is deliberately not a claim, and why."""

    printed: str
    why: str


class Slip(_Strict):
    """A printed word that must be a slip of the pen, and what it must mean.

    A slip changes no number: the ledger lists it so that a reader sees it
    was noticed and how the figure around it is read.

    Attributes
    ----------
    printed : str
        The words as printed, with enough context to find them.
    means : str
        What they must mean.
    locator : Locator
        Where they were printed.
    claim : str, optional
        The claim whose figure stands in the same words, if any.
    why : str
        Why the printed words cannot be meant literally.
    """

    printed: str = Field(min_length=1)
    means: str = Field(min_length=1)
    locator: Locator
    claim: str | None = None
    why: str = Field(min_length=1)


class Ledger(_Strict):
    """The claims ledger of one study."""

    study: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    reference: Reference
    sources: dict[str, str]
    design: str
    #: The claim counting the whole cohort; without one, the cohort is the sum of the groups'
    #: sizes, each fixed by the printed figures (:func:`cart_lib.audit.cohort_size`).
    size_claim: str | None = None
    groups: dict[str, dict[str, str | bool | float | None]] = Field(min_length=1)
    rules: Rules
    record: dict[str, Domain] = {}
    columns: dict[str, StudyColumn] = {}
    endpoints: dict[str, DeclaredEndpoint] = {}
    variables: dict[str, Variable] = {}
    not_claims: list[NotClaim] = []
    slips: list[Slip] = []
    facts: list[Fact] = []
    constraints: list[Constraint] = []
    claims: list[Claim] = Field(min_length=1)
    path: Path | None = None
    sha256: str | None = None

    def claim(self, claim_id: str) -> Claim:
        """The claim with this id."""
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"{self.study} has no claim {claim_id!r}")

    def endpoint_names(self) -> set[str]:
        """Every endpoint a reading may name: the record's and this study's."""
        return set(ENDPOINT_COLUMNS) | set(self.endpoints)

    def endpoint_columns(self, name: str) -> set[str]:
        """The record columns an endpoint reads, ledger variables expanded."""
        if name in ENDPOINT_COLUMNS:
            return set(ENDPOINT_COLUMNS[name])
        return expand_names(self.endpoints[name].names(), self)

    def compiler(self) -> expressions.Compiler:
        """An expression compiler that knows this study's variables."""
        return expressions.Compiler({k: v.expr for k, v in self.variables.items() if v.expr})

    @cached_property
    def _record_columns(self) -> tuple[Column, ...]:
        out = list(COLUMNS)
        previous = out[-1].name
        for name, declared in self.columns.items():
            anchor = declared.after or previous
            at = next((i for i, c in enumerate(out) if c.name == anchor), len(out) - 1)
            out.insert(at + 1, declared.column(name))
            previous = name
        return tuple(out)

    def columns_of_record(self) -> tuple[Column, ...]:
        """Every column of this study's cohort file, in file order: the record's and the study's.

        Each study column follows the column its ``after`` names, or the study
        column declared before it.
        """
        return self._record_columns

    def column_of(self, name: str) -> Column | None:
        """The column called ``name`` in this study's record, or None."""
        return next((c for c in self._record_columns if c.name == name), None)

    def dtypes(self) -> dict[str, str]:
        """Each column of the study's record and its dtype, in file order."""
        return {c.name: c.dtype for c in self._record_columns}

    def needs_flag(self) -> tuple[tuple[str, str, str], ...]:
        """The flag rules of the study's record (:func:`cart_lib.core.record.needs_flag`)."""
        return needs_flag(self._record_columns)

    @property
    def response_window_days(self) -> float:
        """The window, in days after infusion, within which a remission is assessed (a rule)."""
        return self.rules.response_window_days

    def window_days(self, name: str) -> float | None:
        """The window in days of a ledger variable or a column (None when it has none)."""
        variable = self.variables.get(name)
        if variable is not None:
            return variable.window_days
        if name == REMISSION:
            return self.response_window_days
        column = self.column_of(name)
        return column.window_days if column is not None else None

    def recorded(self) -> set[str]:
        """The record columns this study fills: those it searches and those its groups fix."""
        fixed = {c for attrs in self.groups.values() for c in attrs}
        return {"study", "patient_id", "group"} | fixed | set(self.record)

    def cohort_rules(self) -> tuple[Rule, ...]:
        """What every cohort of the study obeys besides its claims: the facts the text states,
        the ledger's plausibility constraints, and the record's timeline rules less those
        waived and those about a column the study does not record (a day never recorded
        constrains nothing)."""
        recorded = self.recorded()
        timeline = [r for r in timeline_rules(self.rules.earliest_assessment_day,
                                              tuple(self.rules.waive))
                    if expressions.names(r.population) | expressions.names(r.holds) <= recorded]
        return (*timeline, *(f.rule() for f in self.facts),
                *(c.rule() for c in self.constraints))


# --------------------------------------------------------------------------- checks

def _known_names(ledger: Ledger) -> set[str]:
    return set(COLUMN_NAMES) | set(ledger.columns) | set(ledger.variables)


def check_claim(claim: Claim, ledger: Ledger, file: str) -> None:
    """Check one claim's meaning; raise :class:`LedgerError` on the first fault."""

    def fail(field: str, rule: str) -> None:
        raise LedgerError(file, claim.id, field, rule)

    tokens = printed.tokens(claim.printed)
    if len(tokens) != len(claim.reads):
        fail("printed", f"the figure {claim.printed!r} holds {len(tokens)} number(s) "
                        f"({', '.join(t.text for t in tokens) or 'none'}) but 'reads' names "
                        f"{len(claim.reads)}: {claim.reads}")
    if len(set(claim.reads)) != len(claim.reads):
        fail("reads", f"a role appears twice in {claim.reads}")
    if set(claim.precision) != set(claim.reads):
        fail("precision", f"precision must give one step per role read {sorted(claim.reads)}, "
                          f"it gives {sorted(claim.precision)}")
    for role, token in zip(claim.reads, tokens):
        step = claim.precision[role]
        if printed.decimals_of(step) is None:
            fail(f"precision.{role}", f"step {step} is not a power of ten")
        if printed.decimals_of(step) != token.decimals:
            fail(f"precision.{role}", f"step {step} contradicts the printed {token.text!r}, "
                                      f"which has {token.decimals} decimal(s) (step {token.step})")
        if role in claim.adopted.measure.percent_roles and not token.percent:
            if role != "ci_low":   # '63.6–98.5%' prints the sign once for both bounds
                fail("reads", f"role {role!r} is a percentage but {token.text!r} has no '%'")

    adopted = [r for r in claim.readings if r.adopted]
    if len(adopted) != 1:
        fail("readings", f"exactly one reading must be adopted, found {len(adopted)}")
    if len(claim.readings) > 1 and not claim.question:
        fail("question", "a claim with several readings must say what the text leaves open")
    ids = [r.id for r in claim.readings]
    if len(set(ids)) != len(ids):
        fail("readings", f"reading ids repeat: {ids}")
    known = _known_names(ledger)
    for r in claim.readings:
        prefix = f"readings[{r.id}]"
        measure = r.measure
        for need in measure.required:
            if getattr(r, need) is None:
                fail(f"{prefix}.{need}", f"statistic '{r.statistic.value}' needs '{need}'")
        extra = set(claim.reads) - measure.roles
        if extra:
            fail("reads", f"statistic '{r.statistic.value}' cannot read {sorted(extra)}; "
                          f"it reads {sorted(measure.roles) or 'no number'}")
        allowed = set(measure.required) | measure.optional | _DESCRIPTIVE
        for name in sorted(r.model_fields_set - allowed):
            fail(f"{prefix}.{name}", f"statistic '{r.statistic.value}' does not use '{name}'; "
                                     f"a field the library does not evaluate is refused")
        if r.test is not None and getattr(r, TEST_INPUT[r.test]) is None:
            fail(f"{prefix}.{TEST_INPUT[r.test]}",
                 f"test '{r.test.value}' compares a(n) {TEST_INPUT[r.test]}; give one")
        if r.test is not None:
            for name in sorted({"event", "variable", "endpoint"} - {TEST_INPUT[r.test]}):
                if getattr(r, name) is not None:
                    fail(f"{prefix}.{name}", f"test '{r.test.value}' compares a(n) "
                                             f"{TEST_INPUT[r.test]}, not a(n) {name}")
        if "ties" in r.model_fields_set and r.test not in RANK_TESTS:
            fail(f"{prefix}.ties", "only a rank test's reading says whether ties are allowed")
        if not measure.takes_groups and r.groups:
            fail(f"{prefix}.groups", f"statistic '{r.statistic.value}' takes one population, "
                                     f"not groups")
        for field, text in r.expressions().items():
            problem = expressions.names_problem(
                text, known, "unknown column(s) {names}: not in the patient record, the "
                             "study's columns or its variables")
            if problem:
                fail(f"{prefix}.{field}", problem)
        if r.endpoint is not None and r.endpoint not in ledger.endpoint_names():
            fail(f"{prefix}.endpoint", f"unknown endpoint {r.endpoint!r}: the record has "
                                       f"{sorted(ENDPOINT_COLUMNS)}, the ledger declares "
                                       f"{sorted(ledger.endpoints) or 'none'}")
        for name, problem in measure.problems(claim, r, ledger):
            fail(f"{prefix}.{name}", problem)


def expand_names(used: set[str], ledger: Ledger) -> set[str]:
    """Column names behind a set of names, expanding ledger variables."""
    out: set[str] = set()
    stack = list(used)
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        var = ledger.variables.get(name)
        if var is None:
            out.add(name)
        elif var.expr:
            stack.extend(expressions.names(var.expr))
        else:
            out.add(var.column)
    return out


def check_ledger(ledger: Ledger, file: str) -> None:
    """Check a whole ledger's meaning; raise :class:`LedgerError` on the first fault."""
    seen: set[str] = set()
    for claim in ledger.claims:
        if claim.id in seen:
            raise LedgerError(file, claim.id, "id", "duplicate claim id")
        seen.add(claim.id)
    if ledger.size_claim is not None and ledger.size_claim not in seen:
        raise LedgerError(file, None, "size_claim", f"names no claim: {ledger.size_claim!r}")
    if ledger.size_claim is not None:
        claim = ledger.claim(ledger.size_claim)
        reading = claim.adopted
        whole = (reading.statistic.value == "count" and "count" in claim.reads
                 and (reading.population or "").strip() == "True"
                 and (reading.event or "True").strip() == "True" and reading.each is None)
        if not whole:
            counted = " and ".join(f"{name} {text!r}" for name, text in
                                   (("population", reading.population), ("event", reading.event))
                                   if text and text.strip() != "True") \
                or f"statistic '{reading.statistic.value}' reading {claim.reads}"
            raise LedgerError(file, claim.id, "size_claim",
                              f"the size claim must count the whole cohort (statistic count, "
                              f"population \"True\", no event), but it counts {counted}; name "
                              f"a claim that counts every patient, or omit size_claim to take "
                              f"the cohort's size from its groups' sizes")
    held = [("facts", i, f) for i, f in enumerate(ledger.facts)] + \
        [("constraints", i, c) for i, c in enumerate(ledger.constraints)]
    for section, i, fact in held:
        if fact.id in seen:
            raise LedgerError(file, fact.id, f"{section}[{i}].id",
                              "the id repeats a claim's, a fact's or a constraint's")
        seen.add(fact.id)
        for field in ("population", "holds"):
            problem = expressions.names_problem(getattr(fact, field), _known_names(ledger))
            if problem:
                raise LedgerError(file, fact.id, f"{section}[{i}].{field}", problem)
    for name in ledger.rules.waive:
        if name not in TIMELINE_RULE_IDS:
            raise LedgerError(file, None, f"rules.waive.{name}",
                              f"not a timeline rule of the record ({', '.join(TIMELINE_RULE_IDS)})")
    for i, slip in enumerate(ledger.slips):
        if slip.claim is not None and slip.claim not in seen:
            raise LedgerError(file, slip.claim, f"slips[{i}].claim",
                              f"names no claim: {slip.claim!r}")
    for name, var in ledger.variables.items():
        field = f"variables.{name}"
        if name in ledger.dtypes() and var.expr:
            raise LedgerError(file, None, field, "a variable may not shadow a record column")
        if var.column and var.column not in ledger.dtypes():
            raise LedgerError(file, None, f"{field}.column", f"unknown column {var.column!r}")
        problem = var.expr and expressions.names_problem(var.expr, _known_names(ledger))
        if problem:
            raise LedgerError(file, None, f"{field}.expr", problem)
    for name in ledger.columns:
        if name in COLUMN_NAMES:
            raise LedgerError(file, None, f"columns.{name}",
                              "a study may add columns, not redefine the record's")
    declared: set[str] = set(COLUMN_NAMES)
    for name, column in ledger.columns.items():
        if column.after is not None and column.after not in declared:
            raise LedgerError(file, None, f"columns.{name}.after",
                              f"{column.after!r} is not a record column or a study column "
                              f"declared before it")
        declared.add(name)
    for name, column in ledger.columns.items():
        if column.needs is not None:
            flag = ledger.column_of(column.needs)
            if flag is None or flag.dtype != "bool":
                raise LedgerError(file, None, f"columns.{name}.needs",
                                  f"{column.needs!r} is not a boolean column of the record or "
                                  f"the study")
    for column in ledger.columns_of_record():
        if not column.required or column.name in ("study", "patient_id", "group"):
            continue
        applies = APPLIES_TO.get(column.name)
        unfixed = [g for g, attrs in ledger.groups.items() if attrs.get(column.name) is None
                   and (applies is None or attrs.get("treatment") == applies)]
        if column.name not in ledger.record and unfixed:
            where = "declared in 'columns'" if column.name in ledger.columns else \
                "a column of the patient record"
            rule = f"{column.name} is required ({where})" + \
                (f" where treatment is {applies}" if applies else "")
            raise LedgerError(file, None, f"record.{column.name}",
                              f"{rule}, but it has no domain in 'record' and group(s) "
                              f"{unfixed} do not fix it")
    for group, attributes in ledger.groups.items():
        for column, treatment in APPLIES_TO.items():
            if attributes.get(column) is not None and attributes.get("treatment") != treatment:
                raise LedgerError(file, None, f"groups.{group}.{column}",
                                  f"{treatment_rule(column, treatment)}; the group's treatment "
                                  f"is {attributes.get('treatment')!r}")
    for group, attributes in ledger.groups.items():
        for column, value in attributes.items():
            spec = ledger.column_of(column)
            field = f"groups.{group}.{column}"
            if spec is None or column in ("study", "patient_id", "group"):
                raise LedgerError(file, None, field, "a group fixes record columns other than "
                                                     "study, patient_id and group")
            if spec.allowed and value not in spec.allowed:
                raise LedgerError(file, None, field, f"{value!r} is not one of {list(spec.allowed)}")
    for column, domain in ledger.record.items():
        field = f"record.{column}"
        spec = ledger.column_of(column)
        dtype = spec.dtype if spec else None
        if dtype is None or column in ("study", "patient_id", "group"):
            raise LedgerError(file, None, field, "not a column the search can fill")
        if dtype == "str" and not domain.values:
            raise LedgerError(file, None, field, "a text column needs 'values'")
        if dtype in ("int", "float") and domain.min is None:
            raise LedgerError(file, None, field, "a numeric column needs min, max and step")
        if dtype == "bool" and (domain.values or domain.min is not None):
            raise LedgerError(file, None, field, "a boolean column takes no values or grid")
        if spec and spec.allowed and domain.values:
            bad = sorted(set(domain.values) - set(spec.allowed))
            if bad:
                raise LedgerError(file, None, f"{field}.values", f"{bad} not allowed in {column}")
        if spec and spec.bounds and domain.min is not None:
            low, high = spec.bounds
            if domain.min < low or domain.max > high:
                raise LedgerError(file, None, field, f"the domain {domain.min:g} to "
                                                     f"{domain.max:g} leaves the bounds of "
                                                     f"{column} ({low:g} to {high:g})")
        if any(column in attrs for attrs in ledger.groups.values()):
            raise LedgerError(file, None, field, "fixed by a group; it cannot also be searched")
        if domain.where:
            fixed = {"group"} | {c for attrs in ledger.groups.values() for c in attrs}
            try:
                used = expressions.names(domain.where)
            except expressions.ExpressionError as exc:
                raise LedgerError(file, None, f"{field}.where", str(exc)) from None
            expanded = expand_names(used, ledger)
            if not expanded <= fixed:
                raise LedgerError(file, None, f"{field}.where",
                                  f"may name only the group and columns groups fix, "
                                  f"not {sorted(expanded - fixed)}")
    numeric = {c.name for c in ledger.columns_of_record() if c.dtype in ("int", "float")}
    for name, declared in ledger.endpoints.items():
        field = f"endpoints.{name}"
        if name in ENDPOINT_COLUMNS:
            raise LedgerError(file, None, field, "the record already defines this endpoint; "
                                                 "declare one under another name")
        kinds = [("events", i, k) for i, k in enumerate(declared.events)] + \
            [("competing", i, k) for i, k in enumerate(declared.competing)]
        for part, i, kind in kinds:
            problem = expressions.names_problem(kind.when, _known_names(ledger))
            if problem:
                raise LedgerError(file, None, f"{field}.{part}[{i}].when", problem)
            if isinstance(kind.day, str) and kind.day not in numeric:
                raise LedgerError(file, None, f"{field}.{part}[{i}].day",
                                  f"{kind.day!r} is not a numeric column of the record or "
                                  f"the study; give a day column or a number of days")
    try:
        compiler = ledger.compiler()
        for name in ledger.variables:
            if ledger.variables[name].expr:
                compiler.mask(name)
    except expressions.ExpressionError as exc:
        raise LedgerError(file, None, "variables", str(exc)) from None
    for claim in ledger.claims:
        check_claim(claim, ledger, file)


# --------------------------------------------------------------------------- loading

def field_path(loc: Iterable[Any]) -> str:
    """A validation error's location as a field path: ``claims[3].readings[0].event``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_ledger(path: str | Path) -> Ledger:
    """Read, validate and check a claims ledger.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    Ledger

    Raises
    ------
    LedgerError
        One message naming the file, the claim id and the field at fault.
    """
    path = Path(path)
    file = str(path.relative_to(paths.ROOT)) if path.is_relative_to(paths.ROOT) else str(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise LedgerError(file, None, None, f"cannot read the ledger ({exc.strerror})") from None
    try:
        raw = yaml.load(raw_bytes, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise LedgerError(file, None, None, f"not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise LedgerError(file, None, None, "a ledger is a mapping with 'study' and 'claims'")
    claims_raw = raw.get("claims")
    if isinstance(claims_raw, list):
        for i, item in enumerate(claims_raw):
            claim_id = item.get("id") if isinstance(item, dict) else None
            try:
                Claim.model_validate(item)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise LedgerError(file, str(claim_id or f"#{i + 1}"),
                                  field_path(err["loc"]) or None, err["msg"]) from None
    try:
        ledger = Ledger.model_validate({**raw, "path": path,
                                        "sha256": hashlib.sha256(raw_bytes).hexdigest()})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise LedgerError(file, None, field_path(err["loc"]) or None, err["msg"]) from None
    if ledger.study != path.stem:
        raise LedgerError(file, None, "study",
                          f"study {ledger.study!r} does not match the file name {path.stem!r}")
    check_ledger(ledger, file)
    return ledger


def load(study: str) -> Ledger:
    """Load the ledger of ``study`` from ``data/claims/``."""
    return load_ledger(paths.ledger_path(study))


def load_all() -> list[Ledger]:
    """Load every study's ledger, sorted by study."""
    return [load(s) for s in paths.studies()]
