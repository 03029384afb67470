"""The file of patients, one codec for cohorts and samples, and the validation of its rows.

A reconstructed cohort is one CSV per study under ``data/cohorts/``, one row
per patient, with the columns of the study's record
(:meth:`cart_lib.ledger.Ledger.columns_of_record`: the core of
:data:`cart_lib.core.record.COLUMNS` and the study's own columns) in file order. A sample of many consistent
cohorts (``data/samples/<study>.csv.gz``, :mod:`cart_lib.reconstruct.sample`) is the same
table for each cohort, stacked, with a first column ``cohort`` numbering them
(:data:`COHORT_INDEX`), gzip-compressed. This module is the only place that
reads or writes either file, so the encoding is written down once:

- UTF-8, ``\\n`` line endings, a header row, no index column but ``cohort``
  in a sample;
- a path ending in ``.gz`` is gzip-compressed with no file name and no time
  stamp, so the same table always gives the same bytes;
- an empty field is an empty (missing) value, in every column;
- booleans are ``true`` / ``false``;
- integers are written without decimals (``12``);
- floats are written with :func:`repr`, the shortest text that reads back to
  the same float (``0.1``, ``12.5``, ``30.0``, ``1e-07``), so writing, reading
  and writing again gives identical values and identical bytes;
- text is written as is, quoted by the :mod:`csv` rules only where needed.

Reading returns pandas nullable dtypes: ``bool`` -> ``boolean``, ``int`` ->
``Int64``, ``float`` -> ``Float64``, ``str`` -> ``string``.

Validation runs through :mod:`pandera` (column presence, types, allowed values,
bounds, the study slug, unique patient ids, the study's groups, the columns
that may not be empty, and the cross-field rules of the record) and ends, when
anything is wrong, in one :class:`CohortError` naming the file, the patient,
the column and the rule; no pandera report reaches the user. Each cohort of a
sample is held to the same rules as a committed cohort (its patient ids unique
within it); the error then names the cohort too. The whole stacked table is
validated at once, and text is parsed column by column, so that reading a
thousand cohorts takes a fraction of a second.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..core.errors import CohortError
from ..core.expressions import Compiler
from ..core.record import (APPLIES_TO, COLUMN_BY_NAME, COLUMNS, DAY_COLUMNS, DAY_OF, EXCLUDED_BY,
                           Column, Rule, exclusion_rule, flag_rule, needs_flag, treatment_rule)

__all__ = ["COHORT_INDEX", "CROSS_FIELD", "CohortError", "PANDAS_DTYPES", "REQUIRED",
           "cross_field", "read_cohort", "rule_violations", "validate", "write_cohort"]

#: The pandas nullable dtype each record dtype is read into.
PANDAS_DTYPES: dict[str, str] = {"bool": "boolean", "int": "Int64", "float": "Float64",
                                 "str": "string"}

#: The first column of a sample: which of its cohorts a row belongs to (0, 1, ...).
COHORT_INDEX = "cohort"

#: Columns of the record's core that may never be empty (treatment attributes of one
#: treatment, :data:`cart_lib.core.record.APPLIES_TO`, only where it applies).
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf)")


# ---------------------------------------------------------------------------
# violations


@dataclass(frozen=True)
class _Violation:
    """One broken rule, with what is needed to sort and report it."""

    row: int | None        # 0-based position, None for a whole-file problem
    column: str | None
    rule: str
    order: int = 0         # tie-breaker: column position, then check position

    def key(self) -> tuple[int, int]:
        return (-1 if self.row is None else self.row, self.order)


def _raise_first(violations: list[_Violation], source: str, labels: Sequence[str | None],
                 cohorts: Sequence[int | None] | None = None) -> None:
    """Raise a :class:`CohortError` for the first violation in row order, if any.

    ``cohorts``: in a sample, the cohort of each row, named in the message.
    """
    if not violations:
        return
    first = min(violations, key=_Violation.key)
    patient = labels[first.row] if first.row is not None else None
    row = first.row + 1 if first.row is not None else None
    cohort = cohorts[first.row] if cohorts is not None and first.row is not None else None
    raise CohortError(source, patient, first.column, first.rule, row=row, cohort=cohort,
                      more=len(violations) - 1)


# ---------------------------------------------------------------------------
# values: one parser per record dtype, used for reading and for writing


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return isinstance(value, str) and value == ""


def _show(value: Any) -> str:
    """The value as the user would type it, quoted."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _parse(value: Any, dtype: str) -> tuple[Any, str | None]:
    """Parse one cell: ``(value, None)``, ``(None, None)`` if empty, or ``(None, why)``."""
    if _is_missing(value):
        return None, None
    if dtype == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value), None
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true", None
        return None, f"{_show(value)} is not a boolean (true, false or empty)"
    if dtype == "int":
        if isinstance(value, (bool, np.bool_)):
            return None, f"{_show(value)} is not a whole number"
        if isinstance(value, (int, np.integer)):
            return int(value), None
        if isinstance(value, (float, np.floating)) and math.isfinite(value) \
                and float(value).is_integer():
            return int(value), None
        if isinstance(value, str) and _INT_TEXT.fullmatch(value):
            return int(value), None
        return None, f"{_show(value)} is not a whole number"
    if dtype == "float":
        if isinstance(value, (bool, np.bool_)):
            return None, f"{_show(value)} is not a number"
        if isinstance(value, (int, float, np.integer, np.floating)):
            return float(value), None
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
            return float(value), None
        return None, f"{_show(value)} is not a number"
    if dtype == "str":
        if isinstance(value, str):
            return value, None
        return None, f"{_show(value)} is not text"
    raise ValueError(f"unknown record dtype {dtype!r}")


def _encode(value: Any, dtype: str) -> str:
    """The CSV text of a value already parsed as ``dtype`` (``None`` is empty)."""
    if value is None:
        return ""
    if dtype == "bool":
        return "true" if value else "false"
    if dtype == "int":
        return str(value)
    if dtype == "float":
        return repr(float(value))
    return value


def _parse_column(values: Sequence[Any], dtype: str) -> tuple[pd.api.extensions.ExtensionArray,
                                                                 dict[int, str]]:
    """Parse one column with :func:`_parse`: its nullable array, and why each bad cell is bad.

    A column of CSV text (every cell a ``str``, as read from a file) has few
    distinct values however many rows it has (a sample of a thousand
    cohorts): each distinct text is parsed once. Other values (Python or numpy
    scalars, where ``1``, ``1.0`` and ``True`` are equal but not alike) are
    parsed one by one.
    """
    text = np.asarray(values, dtype=object)
    if len(text) and pd.api.types.infer_dtype(text, skipna=False) == "string":
        codes, distinct = pd.factorize(text)
        parsed = [_parse(value, dtype) for value in distinct]
        array = pd.array([value for value, _ in parsed], dtype=PANDAS_DTYPES[dtype]).take(codes)
        broken = np.array([why is not None for _, why in parsed])
        return array, {int(i): parsed[codes[i]][1] for i in np.flatnonzero(broken[codes])}
    parsed, bad = [], {}
    for i, raw in enumerate(values):
        value, why = _parse(raw, dtype)
        if why is not None:
            bad[i] = why
        parsed.append(value)
    return pd.array(parsed, dtype=PANDAS_DTYPES[dtype]), bad


def _infer_dtype(series: pd.Series) -> str | None:
    """Record dtype of a study column in a frame being written (None: per value)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "int"
    if pd.api.types.is_float_dtype(series.dtype):
        return "float"
    if pd.api.types.is_string_dtype(series.dtype) and not series.dtype == object:
        return "str"
    return None


def _value_dtype(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return "str"


def _labels(frame: pd.DataFrame) -> list[str | None]:
    """Patient id of each row, as the user would read it, or None where there is none."""
    if "patient_id" not in frame.columns or not isinstance(frame["patient_id"], pd.Series):
        return [None] * len(frame)
    return [v if isinstance(v, str) and v != "" else None for v in frame["patient_id"].tolist()]


# ---------------------------------------------------------------------------
# the columns a cohort must have


def _record(extra: dict[str, str] | None, columns: Sequence[Column] | None,
            source: str) -> list[Column]:
    """Every expected column: ``columns`` as given, else the record's core then ``extra``."""
    if columns is not None:
        names = {c.name for c in columns}
        for name in extra or {}:
            if name in names:
                raise CohortError(source, None, name,
                                  "a study may add columns, not redefine the record's")
        return [*columns, *(Column(name, dtype, "a study column")
                            for name, dtype in (extra or {}).items())]
    spec = _columns(extra, source)
    return [COLUMN_BY_NAME.get(name) or Column(name, dtype, "a study column")
            for name, dtype in spec.items()]


def _columns(extra: dict[str, str] | None, source: str) -> dict[str, str]:
    """Every expected column with its record dtype: the record's, then the study's."""
    spec = {c.name: c.dtype for c in COLUMNS}
    for name, dtype in (extra or {}).items():
        if name in spec:
            raise CohortError(source, None, name,
                              "a study may add columns, not redefine the record's")
        if dtype not in PANDAS_DTYPES:
            raise CohortError(source, None, name,
                              f"unknown column dtype {dtype!r} (one of "
                              f"{', '.join(PANDAS_DTYPES)})")
        spec[name] = dtype
    return spec


def _structure_violations(frame: pd.DataFrame, spec: dict[str, str]) -> list[_Violation]:
    """Missing, unknown and duplicated columns, via a pandera schema of names only."""
    schema = pa.DataFrameSchema({name: pa.Column(nullable=True) for name in spec},
                                strict=True, unique_column_names=True)
    try:
        schema.validate(frame.iloc[:0], lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    order = {name: i for i, name in enumerate(spec)}
    found = []
    for case in cases.itertuples(index=False):
        if case.check == "column_in_dataframe":
            found.append(_Violation(None, case.failure_case, "missing column",
                                    order.get(case.failure_case, 0)))
        elif case.check == "column_in_schema":
            found.append(_Violation(None, case.failure_case,
                                    "unknown column (neither in the record nor declared by "
                                    "the study)", len(order)))
        elif case.check == "dataframe_column_labels_unique":
            dupes = case.failure_case
            dupes = list(dupes) if not isinstance(dupes, str) else [dupes]
            found.extend(_Violation(None, name, "duplicate column", order.get(name, 0))
                         for name in dupes)
        else:
            found.append(_Violation(None, None, f"bad columns: {case.check}", 0))
    return found


# ---------------------------------------------------------------------------
# the pandera schema of a typed cohort


def _true(series: pd.Series) -> pd.Series:
    """True where a boolean column is true (empty counts as not true)."""
    return pd.Series(series.astype("boolean").to_numpy(dtype=bool, na_value=False),
                     index=series.index)


def _given(series: pd.Series) -> pd.Series:
    return series.notna()


def cross_field(needs: Sequence[tuple[str, str, str]]
                ) -> tuple[tuple[str, str, Callable[[pd.DataFrame], pd.Series]], ...]:
    """The record's cross-field rules for a record with the flag rules ``needs``.

    Each is (column blamed, rule text, row check returning True where the row
    is fine); ``needs`` is :func:`cart_lib.core.record.needs_flag` of the
    study's columns (:meth:`cart_lib.ledger.Ledger.needs_flag`).
    """
    return (
        # Treatment attributes of one treatment: given for it where required, else empty.
        *((column, f"{column} must not be empty where treatment is {treatment}",
           (lambda d, c=column, t=treatment: ~d["treatment"].eq(t).fillna(False) | _given(d[c])))
          for column, treatment in APPLIES_TO.items() if COLUMN_BY_NAME[column].required),
        *((column, treatment_rule(column, treatment),
           (lambda d, c=column, t=treatment: ~_given(d[c]) | d["treatment"].eq(t).fillna(False)))
          for column, treatment in APPLIES_TO.items()),
        # The record's flag rules, one check each.
        *((column, flag_rule(column, flag, otherwise),
           (lambda d, c=column, f=flag, o=otherwise:
            ~(_true(d[c]) if o == "false" else _given(d[c])) | _true(d[f])))
          for column, flag, otherwise in needs),
        # A day is required where its event happened (the endpoints need it). A
        # death's cause is not: a study may leave it unreported.
        *((day, f"{day} is required when {flag} is true",
           (lambda d, day=day, flag=flag: ~_true(d[flag]) | _given(d[day])))
          for day, flag in DAY_OF.items()),
        *((day, f"{day} is not after last_contact_day",
           (lambda d, day=day: ~_true(d[day] > d["last_contact_day"])))
          for day in DAY_COLUMNS),
        *((column, exclusion_rule(column, flag),
           (lambda d, c=column, f=flag: ~(_true(d[f]) & _true(d[c]))))
          for column, flag in EXCLUDED_BY),
        ("last_contact_day", "last_contact_day is given whenever death is true",
         lambda d: ~_true(d["death"]) | _given(d["last_contact_day"])),
    )


#: The cross-field rules of a record of the core columns (:data:`cart_lib.core.record.COLUMNS`).
CROSS_FIELD = cross_field(needs_flag(COLUMNS))


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _schema(study: str, groups: Iterable[str], spec: dict[str, str], record: Sequence[Column],
            sampled: bool = False) -> tuple[pa.DataFrameSchema, dict[str, str]]:
    """The pandera schema of a typed cohort, and the column each dataframe-level rule blames.

    ``sampled``: the rows are many cohorts, numbered by :data:`COHORT_INDEX`
    (patient ids are then unique within each, which the caller checks).
    """
    groups = list(groups)
    by_name = {c.name: c for c in record}
    columns = {}
    for name, dtype in spec.items():
        checks = []
        column: Column | None = by_name.get(name)
        if column is not None and column.allowed:
            checks.append(pa.Check.isin(list(column.allowed), error=(
                f"{name} must be one of {', '.join(column.allowed)}")))
        if column is not None and column.bounds:
            lo, hi = column.bounds
            checks.append(pa.Check.in_range(lo, hi, error=(
                f"{name} must be between {_number(lo)} and {_number(hi)}")))
        if name == "study":
            checks.append(pa.Check.eq(study, error=f"study must be {study!r}"))
        if name == "group":
            checks.append(pa.Check.isin(groups, error=(
                f"group must be one of the study's groups: {', '.join(map(repr, groups))}")))
        if name == COHORT_INDEX:
            checks.append(pa.Check.ge(0, error=f"{COHORT_INDEX} must be 0 or more"))
        required = column is not None and column.required and name not in APPLIES_TO
        columns[name] = pa.Column(PANDAS_DTYPES[dtype], checks,
                                  nullable=not (required or name == COHORT_INDEX),
                                  unique=name == "patient_id" and not sampled,
                                  report_duplicates="exclude_first")
    # ignore_na=False: a row is never wholly empty (study is required), and pandera would
    # otherwise look for such rows once per check, a scan of the whole frame each time.
    rules = cross_field(needs_flag(record))
    checks = [pa.Check(fn, error=rule, ignore_na=False) for _, rule, fn in rules]
    blame = {rule: column for column, rule, _ in rules}
    return pa.DataFrameSchema(columns, checks=checks, strict=True), blame


def _rule_violations(typed: pd.DataFrame, study: str, groups: Iterable[str],
                     spec: dict[str, str], record: Sequence[Column],
                     sampled: bool = False) -> list[_Violation]:
    """Run the pandera schema and translate its failure cases into violations."""
    schema, blame = _schema(study, groups, spec, record, sampled)
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    except pa.errors.SchemaError as exc:   # pragma: no cover - lazy validation collects
        return [_Violation(None, getattr(exc, "column_name", None), str(exc).splitlines()[0])]
    else:
        return []
    order = {name: i for i, name in enumerate(spec)}
    check_order = {rule: i for i, (_, rule, _) in enumerate(cross_field(needs_flag(record)))}
    found: dict[tuple, _Violation] = {}
    for case in cases.itertuples(index=False):
        row = None if case.index is None or pd.isna(case.index) else int(case.index)
        if case.schema_context == "DataFrameSchema" and case.check in blame:
            # A dataframe-level check reports one failure case per non-empty cell of the
            # failing row; one violation per (rule, row) is what the user broke.
            column = blame[case.check]
            rule = case.check
            sort = len(order) * (1 + check_order[rule]) + order[column]
        else:
            column = case.column
            sort = order.get(column, len(order))
            if case.check == "not_nullable":
                rule = f"{column} must not be empty"
            elif case.check == "field_uniqueness":
                rule = f"{column} must be unique within the study ({_show(case.failure_case)} " \
                       "is repeated)"
            elif str(case.check).startswith("dtype("):
                rule = f"{column} must have dtype {PANDAS_DTYPES[spec[column]]} " \
                       f"(got {case.failure_case})"
            else:
                rule = f"{case.check} (got {_show(case.failure_case)})"
        found.setdefault((row, column, rule), _Violation(row, column, rule, sort))
    return list(found.values())


# ---------------------------------------------------------------------------
# public API


def rule_violations(typed: pd.DataFrame, rules: Sequence[Rule], compiler: Compiler | None,
                    first_order: int = 0) -> list[_Violation]:
    """One violation per patient and broken timeline rule or stated fact."""
    if not rules:
        return []
    from ._table import from_frame      # the evaluators' table: rules read what claims read
    table = from_frame(typed.reset_index(drop=True))
    compiler = compiler or Compiler()
    found = []
    for k, rule in enumerate(rules):
        broken = compiler.mask(rule.population)(table) & ~compiler.mask(rule.holds)(table)
        kind = rule.source if rule.source in ("fact", "constraint") else "rule"
        found += [_Violation(int(i), rule.column, f"{rule.says} ({kind} {rule.id})", first_order + k)
                  for i in np.flatnonzero(broken)]
    return found


def validate(frame: pd.DataFrame, study: str, groups: Sequence[str],
             extra: dict[str, str] | None = None, source: str = "<cohort>",
             rules: Sequence[Rule] = (), compiler: Compiler | None = None,
             sampled: bool = False, columns: Sequence[Column] | None = None) -> pd.DataFrame:
    """Validate a cohort and return it with the record's nullable dtypes.

    Values may be given as Python or numpy scalars or as their CSV text (the
    form :func:`read_cohort` passes on); ``None``, ``NaN``, ``pd.NA`` and the
    empty string are all an empty value.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient, with every record column and every study column.
    study : str
        The study slug every row's ``study`` must equal.
    groups : list of str
        The study's reporting groups; every row's ``group`` must be one of them.
    extra : dict of str to str, optional
        The study's own columns and their dtypes (``"str"``, ``"bool"``,
        ``"int"`` or ``"float"``).
    source : str, optional
        What to call the cohort in an error message (the file name when read).
    rules : sequence of Rule, optional
        Timeline rules and stated facts every patient obeys
        (:meth:`cart_lib.ledger.Ledger.cohort_rules`), checked once the
        record's own rules hold.
    compiler : Compiler, optional
        Compiles the rules' expressions, knowing the study's variables.
    sampled : bool, optional
        The rows are many cohorts (a sample), numbered by a first column
        :data:`COHORT_INDEX`; each cohort's rows come together, in cohort
        order, and each cohort is held to every rule of a single cohort.
    columns : sequence of Column, optional
        The study's whole record in file order
        (:meth:`cart_lib.ledger.Ledger.columns_of_record`), with each
        column's allowed values, bounds, whether it is required and the flag
        it needs; ``extra`` then names columns beyond it.

    Returns
    -------
    pandas.DataFrame
        The record columns in record order, then the study columns in the order
        of ``extra``, with dtypes ``boolean``, ``Int64``, ``Float64`` and
        ``string`` (after ``cohort``, ``Int64``, in a sample); the index of
        ``frame`` is kept.

    Raises
    ------
    CohortError
        For the first violation in row order, counting the others.

    Examples
    --------
    >>> from cart_lib.core.record import COLUMN_NAMES
    >>> row = dict.fromkeys(COLUMN_NAMES)
    >>> row.update(study="toy", patient_id="P1", group="a", treatment="CAR-T",
    ...            car_source="autologous", donor="none", prior_hsct=False)
    >>> validate(pd.DataFrame([row]), "toy", ["a", "b"])["prior_hsct"].dtype
    BooleanDtype
    >>> validate(pd.DataFrame([row | {"group": "c", "last_contact_day": -1}]), "toy", ["a", "b"])
    Traceback (most recent call last):
    ...
    cart_lib.core.errors.CohortError: <cohort>: patient 'P1', column 'group': group must be one of the study's groups: 'a', 'b' (got 'c') (and 1 more violation)
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"validate expects a pandas DataFrame, not {type(frame).__name__}")
    record = _record(extra, columns, source)
    spec = {c.name: c.dtype for c in record}
    if sampled:
        if COHORT_INDEX in spec:
            raise CohortError(source, None, COHORT_INDEX,
                              "a study may not declare a column named like a sample's index")
        spec = {COHORT_INDEX: "int"} | spec
    labels = _labels(frame)
    _raise_first(_structure_violations(frame, spec), source, labels)

    typed: dict[str, pd.api.extensions.ExtensionArray] = {}
    bad: list[_Violation] = []
    for j, (name, dtype) in enumerate(spec.items()):
        typed[name], why = _parse_column(frame[name].tolist(), dtype)
        bad += [_Violation(i, name, rule, j) for i, rule in why.items()]
    cohorts = typed[COHORT_INDEX].to_numpy(dtype=object, na_value=None).tolist() \
        if sampled else None
    _raise_first(bad, source, labels, cohorts)

    result = pd.DataFrame(typed, index=pd.RangeIndex(len(frame)))
    found = _rule_violations(result, study, groups, spec, record, sampled)
    if sampled:
        found += _sample_violations(result)
    _raise_first(found, source, labels, cohorts)
    patients = result.drop(columns=[COHORT_INDEX]) if sampled else result
    _raise_first(rule_violations(patients, rules, compiler), source, labels, cohorts)
    result.index = frame.index
    return result


def _sample_violations(typed: pd.DataFrame) -> list[_Violation]:
    """What makes stacked cohorts more than one cohort each: order and repeated patient ids."""
    found = []
    index = typed[COHORT_INDEX].to_numpy(dtype=float, na_value=np.nan)
    for i in np.flatnonzero(np.diff(index) < 0) + 1:
        found.append(_Violation(int(i), COHORT_INDEX,
                                f"the rows of each cohort come together, cohorts in order "
                                f"(cohort {int(index[i])} after cohort {int(index[i - 1])})", -1))
    repeated = typed.duplicated([COHORT_INDEX, "patient_id"]) & typed["patient_id"].notna()
    for i in np.flatnonzero(repeated.to_numpy(dtype=bool)):
        found.append(_Violation(int(i), "patient_id",
                                f"patient_id must be unique within its cohort "
                                f"({_show(typed['patient_id'].iloc[i])} is repeated)", 0))
    return found


def read_cohort(path: str | os.PathLike, study: str, groups: Sequence[str],
                extra: dict[str, str] | None = None, rules: Sequence[Rule] = (),
                compiler: Compiler | None = None, sampled: bool = False,
                columns: Sequence[Column] | None = None) -> pd.DataFrame:
    """Read a cohort CSV, or a sample of many cohorts, and validate it.

    Parameters
    ----------
    path : str or path-like
        The CSV file, gzip-compressed if its name ends in ``.gz``; it is named
        as given in any error message.
    study, groups, extra, rules, compiler, sampled, columns
        As for :func:`validate`.

    Returns
    -------
    pandas.DataFrame
        The validated cohort with nullable dtypes and a ``RangeIndex``.

    Raises
    ------
    CohortError
        If the file cannot be read or parsed, or breaks a rule of the record.

    Examples
    --------
    >>> import tempfile
    >>> from cart_lib.core.record import COLUMN_NAMES
    >>> row = dict.fromkeys(COLUMN_NAMES)
    >>> row.update(study="toy", patient_id="P1", group="a", treatment="CAR-T",
    ...            car_source="autologous", donor="none", prior_hsct=False, age_years=0.1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "toy.csv"
    ...     write_cohort(pd.DataFrame([row]), path)
    ...     cohort = read_cohort(path, "toy", ["a"], extra={"age_years": "float"})
    >>> cohort.loc[0, "age_years"], cohort.loc[0, "last_contact_day"]
    (np.float64(0.1), <NA>)
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
        if Path(path).suffix == ".gz":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except OSError as exc:   # gzip.BadGzipFile and EOFError: a damaged compressed file
        raise CohortError(source, None, None, f"cannot read: {exc.strerror or exc}") from None
    except EOFError:
        raise CohortError(source, None, None, "cannot read: the compressed file is cut short") \
            from None
    except UnicodeDecodeError as exc:
        raise CohortError(source, None, None, f"not UTF-8 text (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        lines = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    except csv.Error as exc:
        raise CohortError(source, None, None, f"not a readable CSV: {exc}") from None
    if not lines:
        raise CohortError(source, None, None, "empty file: no header row")
    header, rows = lines[0], lines[1:]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            patient = None
            if "patient_id" in header and header.index("patient_id") < len(row):
                patient = row[header.index("patient_id")] or None
            raise CohortError(source, patient, None,
                              f"{len(row)} fields where the header has {len(header)}",
                              row=i + 1)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return validate(frame, study, groups, extra, source=source, rules=rules,
                    compiler=compiler, sampled=sampled, columns=columns).reset_index(drop=True)


def write_cohort(frame: pd.DataFrame, path: str | os.PathLike,
                 columns: Sequence[Column] | None = None) -> None:
    """Write a cohort CSV, or a sample of many cohorts, in the one encoding of this module, atomically.

    The record columns come first in record order (the study's whole record,
    ``columns``, when given), then any other (study) columns in the order of
    ``frame``; a sample's :data:`COHORT_INDEX` column,
    when ``frame`` has one, comes before them all. A path ending in ``.gz`` is
    gzip-compressed (no file name, no time stamp). The whole file is encoded in memory,
    written to a temporary file in the same folder and moved into place with
    :func:`os.replace`, so a failure leaves any existing file untouched. The
    same cohort always gives the same bytes.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient; record columns are encoded by their record dtype,
        study columns by their pandas dtype (or, for ``object`` columns, by the
        type of each value).
    path : str or path-like
        Where to write.
    columns : sequence of Column, optional
        The study's record in file order
        (:meth:`cart_lib.ledger.Ledger.columns_of_record`); the core of the
        record when omitted.

    Raises
    ------
    CohortError
        If a record column is missing, a column is repeated, or a value cannot
        be encoded as its column's type. Nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> from cart_lib.core.record import COLUMN_NAMES
    >>> row = dict.fromkeys(COLUMN_NAMES)
    >>> row.update(study="toy", patient_id="P1", group="a", treatment="CAR-T",
    ...            car_source="autologous", donor="none", prior_hsct=True, crs_grade=2.0,
    ...            age_years=12)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_cohort(pd.DataFrame([row]), Path(folder) / "toy.csv")
    ...     print((Path(folder) / "toy.csv").read_text().splitlines()[1])
    toy,P1,a,CAR-T,autologous,none,true,,,,,,,,,,2.0,12
    """
    source = str(path)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"write_cohort expects a pandas DataFrame, not {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    labels = _labels(frame)
    problems = [_Violation(None, name, "duplicate column", 0)
                for name in sorted({n for n in names if names.count(n) > 1})]
    by_name = {c.name: c for c in (COLUMNS if columns is None else columns)}
    problems += [_Violation(None, name, "missing column", j)
                 for j, name in enumerate(by_name) if name not in names]
    _raise_first(problems, source, labels)

    index = [COHORT_INDEX] if COHORT_INDEX in names else []
    order = index + list(by_name) + [n for n in names if n not in by_name and n not in index]
    cells: list[list[str]] = [[] for _ in range(len(frame))]
    for j, name in enumerate(order):
        series = frame.iloc[:, names.index(name)]
        dtype = by_name[name].dtype if name in by_name else \
            "int" if name == COHORT_INDEX else _infer_dtype(series)
        for i, raw in enumerate(series.tolist()):
            kind = dtype or ("str" if _is_missing(raw) else _value_dtype(raw))
            value, why = _parse(raw, kind)
            if why is not None:
                problems.append(_Violation(i, name, why, j))
            cells[i].append(_encode(value, kind) if why is None else "")
    _raise_first(problems, source, labels)

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(order)
    writer.writerows(cells)
    data = buffer.getvalue().encode("utf-8")
    target = Path(path)
    if target.suffix == ".gz":
        compressed = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0,
                           compresslevel=9) as stream:
            stream.write(data)
        data = compressed.getvalue()

    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        # os.open applies the umask, so the file gets the same mode a plain open() would.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise CohortError(source, None, None, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
