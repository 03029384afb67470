"""A cohort in memory: the patient record as numpy columns, and the endpoints derived from it.

The search evaluates claims many thousands of times, so a cohort is held as a
*table*: a dict from column name to a numpy array, ``float64`` for boolean,
integer and float columns (``nan`` where empty, booleans as 1.0/0.0) and
``object`` for text (``None`` where empty). :func:`from_frame` and
:func:`to_frame` convert to and from the pandas frames that the CSV files and
the chapters use.

Derived endpoints are computed here and nowhere else; the rules, written
once:

- **overall survival**: time ``last_contact_day``, event ``death``;
- **leukaemia-free survival**: for a patient in remission, time to the first
  of relapse or death, censored at ``last_contact_day``; for a patient never
  in remission, an event at a day set by the ledger's rule
  ``lfs_non_responder``: ``assessment``, the end of the response window of
  ``cr_d30`` or death or last contact if earlier; ``day0``, day 0;
- **follow-up** (reverse Kaplan-Meier): time ``last_contact_day``, event
  *alive at last contact* (deaths censored).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..core.record import APPLIES_TO, COLUMN_BY_NAME, COLUMN_NAMES, DAY_OF, EXCLUDED_BY, NEEDS_FLAG

Table = dict[str, np.ndarray]


def record_dtypes(columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each column of a record and its dtype, in file order.

    ``columns`` is a study's whole record (:meth:`cart_lib.ledger.Ledger.dtypes`),
    kept as given, or only columns a study adds, which follow the core of the
    record; omitted, the core alone.
    """
    columns = dict(columns or {})
    if set(COLUMN_NAMES) <= set(columns):
        return columns
    return {name: COLUMN_BY_NAME[name].dtype for name in COLUMN_NAMES} | columns


def empty(n: int, extra: Mapping[str, str] | None = None) -> Table:
    """A table of ``n`` patients with every column of the record (:func:`record_dtypes`) empty."""
    return {name: _empty_column(dtype, n) for name, dtype in record_dtypes(extra).items()}


def _empty_column(dtype: str, n: int) -> np.ndarray:
    return np.full(n, None, dtype=object) if dtype == "str" else np.full(n, np.nan)


def normalize(table: Table, only: set[str] | None = None,
              needs: Sequence[tuple[str, str, str]] = NEEDS_FLAG) -> Table:
    """Apply the record's consistency rules in place and return the table.

    A treatment attribute of another treatment (:data:`cart_lib.core.record.APPLIES_TO`)
    is empty; a flag that is empty or false empties the values that need it; a dead
    patient is not lost to follow-up; an event whose day comes after last
    contact, or on or after the day of death, was not observed: its flag
    becomes false and its day empty. So every day in a row is at most
    ``last_contact_day``, and a dead patient's events come before death.

    With ``only``, apply just the rules that set one of those columns (the
    others must already hold; the search uses this after a move). ``needs``:
    the flag rules of the study's record (:meth:`cart_lib.ledger.Ledger.needs_flag`).
    """
    for column, treatment in APPLIES_TO.items():
        if only is None or column in only:
            table[column][table["treatment"] != treatment] = None
    for column, flag, otherwise in needs:
        if only is not None and column not in only:
            continue
        off = ~(table[flag] == 1.0)
        if table[column].dtype == object:
            table[column][off] = None
        elif otherwise == "false":
            table[column][off & ~np.isnan(table[column])] = 0.0
        else:
            table[column][off] = np.nan
    for column, flag in EXCLUDED_BY:
        if only is None or column in only:
            values = table[column]
            values[(table[flag] == 1.0) & ~np.isnan(values)] = 0.0
    last = table["last_contact_day"]
    dead = table["death"] == 1.0
    for column, flag in DAY_OF.items():
        if only is not None and column not in only and flag not in only:
            continue
        day = table[column]
        # False where either is empty (nan): an event with no day keeps its flag.
        unseen = (day > last) | (dead & (day >= last))
        if unseen.any():
            table[flag][unseen] = 0.0
            day[unseen] = np.nan
    return table


def from_frame(frame: pd.DataFrame) -> Table:
    """Convert a cohort frame (as read from CSV, with the record's nullable dtypes) into a table."""
    table: Table = {}
    for name in frame.columns:
        series = frame[name]
        spec = COLUMN_BY_NAME.get(name)
        dtype = spec.dtype if spec else ("str" if series.dtype in (object, "string") else "float")
        if dtype == "str" and isinstance(series.dtype, pd.StringDtype):
            table[name] = series.to_numpy(dtype=object, na_value=None)
        elif dtype == "str":
            table[name] = np.array([None if pd.isna(v) else str(v) for v in series], dtype=object)
        else:
            table[name] = pd.to_numeric(series.astype("Float64"), errors="raise").to_numpy(
                dtype=float, na_value=np.nan)
    return table


def to_frame(table: Table, extra: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Convert a table into a cohort frame with pandas nullable dtypes, in file order.

    ``extra``: the study's record or the columns it adds, as for :func:`record_dtypes`.
    """
    data = {}
    for name, dtype in record_dtypes(extra).items():
        values = table[name]
        if dtype == "str":
            data[name] = pd.array([v for v in values], dtype="string")
        elif dtype == "bool":
            data[name] = pd.array([pd.NA if np.isnan(v) else bool(v) for v in values],
                                  dtype="boolean")
        elif dtype == "int":
            data[name] = pd.array([pd.NA if np.isnan(v) else int(round(v)) for v in values],
                                  dtype="Int64")
        else:
            data[name] = pd.array(values, dtype="Float64")
    return pd.DataFrame(data)


# ------------------------------------------------------------------ endpoints

def overall_survival(table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Time (days) and event (death) of overall survival."""
    return table["last_contact_day"], table["death"] == 1.0


def follow_up(table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Time and event of reverse Kaplan-Meier follow-up: being alive at last contact is the event."""
    return table["last_contact_day"], ~(table["death"] == 1.0)


def leukemia_free_survival(table: Table, non_responder: str = "assessment",
                           window: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Time and event of leukaemia-free survival, by the rules in this module's docstring.

    Parameters
    ----------
    table : Table
    non_responder : {"assessment", "day0"}
        When a patient never in remission has the event.
    window : float
        The response window of ``cr_d30``, in days.
    """
    last = table["last_contact_day"]
    responder = table["cr_d30"] == 1.0
    relapsed = responder & (table["relapse"] == 1.0)
    time = np.where(relapsed, table["relapse_day"], last)
    event = relapsed | (table["death"] == 1.0)
    if non_responder == "assessment":
        failure_day = np.minimum(last, window)
    else:
        failure_day = np.zeros_like(last)
    time = np.where(responder, time, failure_day)
    event = np.where(responder, event, True)
    return time, event


def declared_endpoint(events, competing, start: float, table: Table,
                      mask) -> tuple[np.ndarray, np.ndarray]:
    """Time and status of an endpoint a ledger declares (``endpoints:``).

    Parameters
    ----------
    events, competing : list of (str, str or float)
        For each kind of event, the expression saying a patient had it and
        the column (or fixed day) it happened on.
    start : float
        The day the clock starts (0: infusion).
    table : Table
    mask : callable
        An expression's boolean mask on ``table`` (the ledger's compiler).

    Returns
    -------
    time : numpy.ndarray
        Days from ``start`` to the first event of either kind, or to last contact.
    status : numpy.ndarray of int
        1 for an event, 2 for a competing event (an event on the same day
        wins), 0 censored at last contact.
    """
    last = table["last_contact_day"].astype(float)
    first = np.full(len(last), np.inf)
    status = np.zeros(len(last), dtype=int)
    for code, kinds in ((2, competing), (1, events)):
        for when, day in kinds:
            days = table[day].astype(float) if isinstance(day, str) else np.full(len(last), day)
            had = mask(when) & ~np.isnan(days)
            # Events go second, so one on the same day as a competing event wins.
            earlier = had & (days <= first) if code == 1 else had & (days < first)
            first = np.where(earlier, days, first)
            status = np.where(earlier, code, status)
    time = np.where(status > 0, first, last) - start
    return time, status


def endpoint(name: str, table: Table, non_responder: str = "assessment",
             window: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Time and event of an endpoint by name (see :class:`cart_lib.ledger.Endpoint`)."""
    if name == "overall_survival":
        return overall_survival(table)
    if name == "leukemia_free_survival":
        return leukemia_free_survival(table, non_responder, window)
    if name == "follow_up":
        return follow_up(table)
    raise ValueError(f"unknown endpoint {name!r}")


