"""Questions the abstracts leave open, asked of every sampled cohort.

A study's questions live beside its ledger, in
``data/claims/<study>.questions.yaml``: quantities a reader asks about that
the publication does not report (survival at a landmark, patients at risk
at the median, relapses before a day, CRS grades by donor), each computed on
every cohort of the committed sample (:mod:`cart_lib.reconstruct.sample`). The library
knows the kinds of quantity, never a study's.

:func:`values` gives one row per cohort and one column per quantity,
:func:`summary` their minimum, 2.5th percentile, median, 97.5th percentile
and maximum across the sample, and :func:`findings` the statements that hold
in every sampled cohort. A range over the sample is an inner bound of the
range over all consistent cohorts (see :mod:`cart_lib.reconstruct.sample` on how the
sample is not uniform), and a statement true in every sampled cohort is
robust in that sense, not proven.

The file may also ask for ``curves``: a survival endpoint's Kaplan-Meier
curve over a population, in each of the first ``limit`` sampled cohorts,
for a figure that sets them beside the committed cohort's (:func:`curves`).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .. import cohort as cohort_mod
from ..core import expressions, paths
from ..core.errors import LedgerError
from ..ledger import UNITS, Endpoint, Ledger, field_path, load as load_ledger


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Day(_Strict):
    """A day: a number with its unit, or a number the ledger prints (a claim's role)."""

    value: float | None = None
    unit: Literal["days", "months", "years"] = "days"
    claim: str | None = None
    role: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Day:
        if (self.value is None) == (self.claim is None):
            raise ValueError("give either 'value' (with 'unit') or 'claim' and 'role'")
        if self.claim is not None and self.role is None:
            raise ValueError("a day taken from a claim needs the 'role' of the number")
        return self


class Question(_Strict):
    """One quantity computed on every cohort.

    Attributes
    ----------
    id : str
        Identifier, unique in the file; findings refer to it.
    asks : str
        The question in the reader's words.
    statistic : {"count", "percent", "km_survival", "at_risk", "followed_beyond", "median", "min", "max"}
        ``count`` and ``percent``: patients of the population with the event
        (``count`` without an event: patients of the population);
        ``km_survival``: the Kaplan-Meier estimate of the endpoint at ``at``,
        in percent; ``at_risk``: patients of the population still at risk
        (time >= ``at``); ``followed_beyond``: patients of the population
        whose observed time exceeds ``at``; ``median``, ``min``, ``max``: of
        ``variable``.
    population, event : str, optional
        Expressions as in the ledger (default: every patient; no event).
    endpoint : Endpoint, optional
        For ``km_survival``, ``at_risk`` and ``followed_beyond``.
    variable : str, optional
        For ``median``, ``min``, ``max``.
    at : Day, optional
        For ``km_survival``, ``at_risk`` and ``followed_beyond``.
    by : list of str
        Columns to split the population by; one quantity per combination of
        their values (the values the ledger lets the column take).
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    asks: str = Field(min_length=1)
    statistic: Literal["count", "percent", "km_survival", "at_risk", "followed_beyond", "median",
                       "min", "max"]
    population: str | None = None
    event: str | None = None
    endpoint: Endpoint | None = None
    variable: str | None = None
    at: Day | None = None
    by: list[str] = []

    @model_validator(mode="after")
    def _needs(self) -> Question:
        needs = {"count": (), "percent": ("event",), "km_survival": ("endpoint", "at"),
                 "at_risk": ("endpoint", "at"), "followed_beyond": ("endpoint", "at"),
                 "median": ("variable",), "min": ("variable",),
                 "max": ("variable",)}[self.statistic]
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"statistic '{self.statistic}' needs {', '.join(missing)}")
        return self


class Finding(_Strict):
    """A statement over the quantities, checked on every cohort."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    says: str = Field(min_length=1)
    holds: str = Field(min_length=1)


class Curve(_Strict):
    """A survival curve drawn in each of the first ``limit`` sampled cohorts.

    Attributes
    ----------
    id : str
        Identifier, unique among the curves.
    says : str
        What the curve shows, in the reader's words.
    endpoint : str
        A time-to-event endpoint of the record or of the ledger.
    population : str, optional
        Expression selecting the patients (default: every patient).
    limit : int, optional
        Cohorts to draw, from the first (default: every one).
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    says: str = Field(min_length=1)
    endpoint: str
    population: str | None = None
    limit: int | None = Field(default=None, ge=1)


class Questions(_Strict):
    """The questions file of one study (a study without one asks none)."""

    study: str
    questions: list[Question] = []
    findings: list[Finding] = []
    curves: list[Curve] = []


def load(study: str, path: str | Path | None = None) -> tuple[Questions, Ledger]:
    """Read and check the questions file of ``study``.

    The file is optional: a study without ``<study>.questions.yaml`` asks no
    question (a ``path`` given must exist).

    Raises
    ------
    LedgerError
        One message naming the file, the question and the field at fault.
    """
    if path is None and not paths.questions_path(study).exists():
        return Questions(study=study), load_ledger(study)
    path = Path(path) if path is not None else paths.questions_path(study)
    file = str(path.relative_to(paths.ROOT)) if path.is_relative_to(paths.ROOT) else str(path)
    try:
        raw = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise LedgerError(file, None, None, f"cannot read the questions ({exc.strerror})") from None
    except yaml.YAMLError:
        raise LedgerError(file, None, None, "not valid YAML") from None
    if not isinstance(raw, dict):
        raise LedgerError(file, None, None, "a questions file is a mapping with 'questions'")
    for key, model in (("questions", Question), ("findings", Finding), ("curves", Curve)):
        for i, item in enumerate(raw.get(key) or []):
            try:
                model.model_validate(item)
            except ValidationError as exc:
                err = exc.errors()[0]
                name = item.get("id") if isinstance(item, dict) else None
                raise LedgerError(file, f"{key}: {name or f'#{i + 1}'}",
                                  field_path(err["loc"]) or None, err["msg"]) from None
    try:
        spec = Questions.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise LedgerError(file, None, field_path(err["loc"]) or None, err["msg"]) from None
    if spec.study != study:
        raise LedgerError(file, None, "study", f"names {spec.study!r}, not {study!r}")
    led = load_ledger(study)
    _check(spec, led, file)
    return spec, led


def _check(spec: Questions, led: Ledger, file: str) -> None:
    known = set(led.dtypes()) | set(led.variables)
    ids = set()
    for q in spec.questions:
        def fail(field: str, rule: str, q=q) -> None:
            raise LedgerError(file, f"questions: {q.id}", field, rule)
        if q.id in ids:
            fail("id", "duplicate question id")
        ids.add(q.id)
        for field in ("population", "event"):
            problem = getattr(q, field) and expressions.names_problem(getattr(q, field), known)
            if problem:
                fail(field, problem)
        if q.variable and q.variable not in known:
            fail("variable", f"unknown column {q.variable!r}")
        if q.at and q.at.claim:
            try:
                claim = led.claim(q.at.claim)
            except KeyError:
                fail("at.claim", f"the ledger has no claim {q.at.claim!r}")
            if q.at.role not in claim.numbers():
                fail("at.role", f"claim {claim.id!r} prints no {q.at.role!r}; it prints "
                                f"{sorted(claim.numbers())}")
        for k, column in enumerate(q.by):
            try:
                _levels(column, led)
            except ValueError as exc:
                fail(f"by[{k}]", str(exc))
    curve_ids = set()
    for c in spec.curves:
        def fail_curve(field: str, rule: str, c=c) -> None:
            raise LedgerError(file, f"curves: {c.id}", field, rule)
        if c.id in curve_ids:
            fail_curve("id", "duplicate curve id")
        curve_ids.add(c.id)
        if c.endpoint not in led.endpoint_names():
            fail_curve("endpoint", f"unknown endpoint {c.endpoint!r}; known: "
                                   f"{sorted(led.endpoint_names())}")
        problem = c.population and expressions.names_problem(c.population, known)
        if problem:
            fail_curve("population", problem)
    for f in spec.findings:
        problem = expressions.names_problem(
            f.holds, ids, "names no question: {names} (only questions without 'by')")
        if problem:
            raise LedgerError(file, f"findings: {f.id}", "holds", problem)


def _levels(column: str, led: Ledger) -> list:
    """The values a column may take in a cohort of this study, for splitting by it."""
    if column == "group":
        return list(led.groups)
    fixed = {attrs[column] for attrs in led.groups.values() if column in attrs}
    domain = led.record.get(column)
    dtype = getattr(led.column_of(column), "dtype", None)
    if domain is None and not fixed:
        raise ValueError(f"{column!r} is neither searched (record) nor fixed by a group")
    if domain is None:
        return sorted(fixed, key=str)
    if dtype == "bool":
        return [False, True]
    levels = domain.grid(dtype).tolist()
    if domain.log or len(levels) > 12:
        raise ValueError(f"{column!r} takes too many values to split by")
    return levels


def _day(q: Question, led: Ledger) -> float:
    if q.at.claim:
        claim = led.claim(q.at.claim)
        return claim.numbers()[q.at.role].value * claim.adopted.scale
    return q.at.value * UNITS[q.at.unit]


def _km_survival(time: np.ndarray, event: np.ndarray, day: float) -> float:
    """Kaplan-Meier estimate of survival at ``day``, in percent (nan without patients).

    The product is taken in exact fractions and rounded once, so that a
    survival of exactly one half is 50.0, not 50.00000000000001: a bound such
    as "at most 50% at one year, since the median is earlier" then holds in
    the sample exactly as it does on paper.

    >>> _km_survival(np.arange(1.0, 25.0), np.arange(24) < 12, 365)   # (23/24)(22/23)...(12/13)
    50.0
    """
    if not len(time):
        return np.nan
    survival = Fraction(1)
    for t in np.unique(time[event & (time <= day)]):
        at_risk = int(np.count_nonzero(time >= t))
        survival *= Fraction(at_risk - int(np.count_nonzero(event & (time == t))), at_risk)
    return float(100 * survival)


def _compute(q: Question, table: cohort_mod.Table, mask, led: Ledger, day: float | None) -> float:
    if q.statistic in ("count", "percent"):
        hit = mask & q_mask(q.event, table, led) if q.event else mask
        if q.statistic == "count":
            return float(np.count_nonzero(hit))
        n = np.count_nonzero(mask)
        return 100.0 * np.count_nonzero(hit) / n if n else np.nan
    if q.statistic in ("km_survival", "at_risk", "followed_beyond"):
        time, event = cohort_mod.endpoint(q.endpoint.value, table,
                                          led.rules.lfs_non_responder,
                                          led.response_window_days)
        time, event = time[mask], np.asarray(event, dtype=bool)[mask]
        if q.statistic == "at_risk":
            return float(np.count_nonzero(time >= day))
        if q.statistic == "followed_beyond":
            return float(np.count_nonzero(time > day))
        return _km_survival(time, event, day)
    values = table[q.variable][mask] if q.variable in table else \
        q_mask(q.variable, table, led)[mask].astype(float)
    values = values[~np.isnan(values)]
    if not len(values):
        return np.nan
    return float({"median": np.median, "min": np.min, "max": np.max}[q.statistic](values))


_COMPILERS: dict[str, expressions.Compiler] = {}


def q_mask(text: str | None, table: cohort_mod.Table, led: Ledger) -> np.ndarray:
    """Mask of an expression over a cohort, with the study's variables."""
    if text is None:
        return np.ones(len(table["patient_id"]), dtype=bool)
    compiler = _COMPILERS.setdefault(led.study, led.compiler())
    return compiler.mask(text)(table)


def _label(q: Question, levels: tuple) -> str:
    if not levels:
        return q.id
    shown = ", ".join(f"{c}={'%g' % v if isinstance(v, float) else v}" for c, v in zip(q.by, levels))
    return f"{q.id}[{shown}]"


def values(study: str, tables: list[cohort_mod.Table] | None = None) -> pd.DataFrame:
    """Every question's quantity on every cohort: one row per cohort, one column per quantity."""
    from ..reconstruct.sample import load_tables
    spec, led = load(study)
    tables = load_tables(study) if tables is None else tables
    columns: dict[str, list[float]] = {}
    for q in spec.questions:
        day = _day(q, led) if q.at else None
        combos = list(itertools.product(*(_levels(c, led) for c in q.by))) if q.by else [()]
        for levels in combos:
            out = []
            for table in tables:
                mask = q_mask(q.population, table, led)
                for column, level in zip(q.by, levels):
                    values_ = table[column]
                    mask = mask & (values_ == (float(level) if values_.dtype != object else level))
                out.append(_compute(q, table, mask, led, day))
            columns[_label(q, levels)] = out
    frame = pd.DataFrame(columns)
    frame.index.name = "cohort"
    return frame


def km_curve(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The steps of a Kaplan-Meier curve as lifelines draws it: times (from 0) and survival.

    >>> [a.tolist() for a in km_curve(np.array([2.0, 1.0, 3.0]), np.array([True, False, True]))]
    [[0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 0.5, 0.0]]
    """
    from lifelines import KaplanMeierFitter

    fitted = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, bool))
    steps = fitted.survival_function_.iloc[:, 0]
    return steps.index.to_numpy(dtype=float), steps.to_numpy(dtype=float)


def curves(study: str, tables: list[cohort_mod.Table] | None = None
           ) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Every curve the questions file asks for: by id, one :func:`km_curve` per sampled cohort."""
    from ..evaluate import Evaluator
    from ..reconstruct.sample import load_tables

    spec, led = load(study)
    tables = load_tables(study) if tables is None else tables
    evaluator = Evaluator(led)
    out = {}
    for c in spec.curves:
        steps = []
        for table in tables[:c.limit]:
            time, event = evaluator.endpoint(c.endpoint, table)
            keep = evaluator.mask(c.population, table)
            steps.append(km_curve(time[keep], np.asarray(event, bool)[keep]))
        out[c.id] = steps
    return out


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Minimum, 2.5th percentile, median, 97.5th percentile and maximum of each quantity."""
    return pd.DataFrame({"min": frame.min(), "p2.5": frame.quantile(0.025),
                         "median": frame.median(), "p97.5": frame.quantile(0.975),
                         "max": frame.max(), "cohorts": frame.notna().sum()})


def findings(study: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Statements true in every sampled cohort: declared findings, and quantities that never vary.

    Returns a frame with the statement, the share of cohorts where it holds,
    and whether it is robust (holds in all of them). Robust here means true
    across the sample, not proven for every consistent cohort.
    """
    spec, led = load(study)
    rows = []
    for f in spec.findings:
        compiler = expressions.Compiler()
        table = {c: frame[c].to_numpy(dtype=float) for c in frame.columns if "[" not in c}
        hold = compiler.mask(f.holds)(table)
        rows.append({"finding": f.id, "says": f.says, "holds_in": float(hold.mean()),
                     "robust": bool(hold.all())})
    for column in frame.columns:
        distinct = frame[column].dropna().unique()
        if len(distinct) == 1:
            rows.append({"finding": f"{column} is constant", "says": f"{column} = {distinct[0]:g} "
                         f"in every sampled cohort", "holds_in": 1.0, "robust": True})
    return pd.DataFrame(rows, columns=["finding", "says", "holds_in", "robust"])
