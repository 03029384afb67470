"""What a printed p-value pins down: every configuration a test could have seen, with its p-value.

A p-value printed without its counts still says a good deal about them. For
each reading of a p-value claim (each candidate test), this module lists
every configuration of the data the test can see, computes its p-value, and
says whether that p-value prints as the published figure:

- for a test on a 2x2 table (Fisher, Pearson chi-square with or without
  Yates' correction, Boschloo), every table of the reading's group sizes, or,
  when the group sizes themselves were not printed, every table of the same
  total over every split into two non-empty groups;
- for a Mann-Whitney test, every U of the reading's group sizes (untied data,
  where the p-value depends on U and the sizes alone).

A configuration *fits* when its p-value rounds to the printed value at the
printed precision and it points the way the text says (the reading's
``direction``). The fitting sets are exactly those of :mod:`cart_lib.stats.inversion`
(the tests check it); this module adds the configurations that do not fit,
so that a figure can show how narrow the printed value's band is and what
lies on either side of it.

Group sizes come from a cohort table consistent with the study (the sizes
are pinned by the study's count claims); nothing else about the cohort is
used, so what this module reports holds for every cohort that matches the
ledger. Claim ids and readings come from the ledger; nothing here knows a
particular study.

Examples
--------
In the toy study of the tests (``tests/data/toy/``), two groups of ten and a
Fisher test printed as p = 0.020, with more severe CRS in the first group:

>>> from cart_lib import ledger
>>> from cart_lib.reconstruct import load_table
>>> frame = configurations(ledger.load("toy"), load_table("toy"), "crs_p")
>>> fitting(frame)[["reading", "label"]].to_records(index=False).tolist()
[('fisher', '7/10 vs 1/10'), ('fisher', '9/10 vs 3/10')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import inversion, statistics
from ..cohort import Table
from ..ledger import Claim, Ledger, Reading, Test
from ..core.printed import fmt, rounding_interval, rounds_to

__all__ = ["PrintedP", "printed_p", "band_text", "configurations", "enumerable", "fitting",
           "summary", "to_rows", "from_rows"]

#: Columns of the frame :func:`configurations` returns, in order.
COLUMNS = ["claim", "reading", "test", "adopted", "literal", "n1", "n2", "events1", "events2",
           "u", "label", "p", "prints", "direction_ok", "fits"]
#: Columns :func:`to_rows` keeps: the others follow from the ledger and from these.
STORED = ["reading", "n1", "n2", "events1", "events2", "u", "p", "prints", "direction_ok"]


@dataclass(frozen=True)
class PrintedP:
    """A printed p-value: its value, its printed resolution, and the interval that prints as it.

    Attributes
    ----------
    value : float
        The printed value, e.g. 0.049.
    step : float
        The printed resolution, e.g. 0.001.
    low, high : float
        The half-open interval ``[low, high)`` of true p-values that print as ``value``.
    text : str
        The value as printed, e.g. ``"0.049"``.
    """

    value: float
    step: float
    low: float
    high: float
    text: str


def printed_p(claim: Claim) -> PrintedP:
    """The printed p-value of a claim, with the interval of true values that print as it.

    Examples
    --------
    >>> from cart_lib import ledger
    >>> printed_p(ledger.load("toy").claim("crs_p"))
    PrintedP(value=0.02, step=0.001, low=0.0195, high=0.0205, text='0.020')
    """
    token = claim.numbers()["p"]
    step = claim.precision["p"]
    low, high = rounding_interval(token.value, step)
    return PrintedP(token.value, step, low, high, token.text)


def _pinnable(reading: Reading) -> bool:
    return "p" in reading.measure.roles and reading.measure.invertible(reading)


def enumerable(claim: Claim) -> list[str]:
    """Ids of the readings of a claim whose configurations :func:`configurations` lists.

    Examples
    --------
    >>> from cart_lib import ledger
    >>> enumerable(ledger.load("toy").claim("crs_p"))
    ['fisher', 'chi-square']
    """
    return [r.id for r in claim.readings if _pinnable(r)]


def _direction_ok(direction: str | None, first: float, second: float) -> bool:
    """Whether the first group's rate (or U share) is higher or lower, as the text says."""
    if direction is None:
        return True
    return first > second if direction == "first_higher" else first < second


def _sizes(ledger: Ledger, reading: Reading, table: Table) -> tuple[int, int]:
    compiler = ledger.compiler()
    population = compiler.mask(reading.population)(table)
    first = population & compiler.mask(reading.groups[0])(table)
    second = population & compiler.mask(reading.groups[1])(table)
    return int(first.sum()), int(second.sum())


def _label(n1: int, n2: int, a: int | None, c: int | None, u: int | None) -> str:
    return f"U = {u}" if u is not None else f"{a}/{n1} vs {c}/{n2}"


def _tables(n1: int, n2: int, test, direction, target: PrintedP, base: dict) -> list[dict]:
    rows = []
    for a in range(n1 + 1):
        for c in range(n2 + 1):
            p = inversion.table_p(test, a, n1 - a, c, n2 - c)
            prints = rounds_to(p, target.value, target.step)
            ok = _direction_ok(direction, a * n2, c * n1)
            rows.append({**base, "n1": n1, "n2": n2, "events1": a, "events2": c, "u": np.nan,
                         "label": _label(n1, n2, a, c, None), "p": p, "prints": prints,
                         "direction_ok": ok, "fits": prints and ok})
    return rows


def _u_values(n1: int, n2: int, test, direction, target: PrintedP, base: dict) -> list[dict]:
    method = "exact" if test is Test.mannwhitney_exact else "asymptotic"
    rows = []
    for u in range(n1 * n2 + 1):
        # Untied samples with exactly u winning pairs: p depends on u and the sizes alone.
        _, p = statistics.mannwhitney(*inversion.untied_samples(u, n1, n2), method)
        prints = rounds_to(p, target.value, target.step)
        ok = _direction_ok(direction, u, n1 * n2 / 2)
        rows.append({**base, "n1": n1, "n2": n2, "events1": np.nan, "events2": np.nan, "u": u,
                     "label": _label(n1, n2, None, None, u), "p": p, "prints": prints,
                     "direction_ok": ok,
                     "fits": prints and ok})
    return rows


def configurations(ledger: Ledger, table: Table, claim_id: str, *, any_split: bool = False,
                   readings: Sequence[str] | None = None) -> pd.DataFrame:
    """Every configuration each reading of a p-value claim could have seen, with its p-value.

    Parameters
    ----------
    ledger : Ledger
        The study's ledger.
    table : Table
        A cohort consistent with the study; only the sizes of each reading's
        population and groups are read from it.
    claim_id : str
        A claim whose figure is a p-value.
    any_split : bool
        For 2x2 tests: enumerate every split of the population into two
        non-empty groups (use it when the group sizes were not printed);
        otherwise only the reading's group sizes.
    readings : sequence of str, optional
        Reading ids to include, in this order (default: every reading of the
        claim that is a 2x2 or Mann-Whitney p-value, in ledger order).

    Returns
    -------
    DataFrame
        One row per configuration and reading, with the columns of
        :data:`COLUMNS`: the claim and reading ids, the test, whether the
        reading is adopted or literal, the group sizes ``n1`` and ``n2``, the
        events in each group (2x2 tests) or ``u`` (Mann-Whitney), a ``label``
        such as ``8/17 vs 1/11`` or ``U = 150``, the two-sided ``p``, whether
        it ``prints`` as the published value, whether it goes the way the text
        says (``direction_ok``), and whether it ``fits`` (both).

    Raises
    ------
    ValueError
        If the claim has no p-value reading this module can enumerate, or a
        named reading is not one of them.
    """
    claim = ledger.claim(claim_id)
    target = printed_p(claim)
    usable = {r.id: r for r in claim.readings if _pinnable(r)}
    chosen = list(readings) if readings is not None else list(usable)
    unknown = [r for r in chosen if r not in usable]
    if not chosen or unknown:
        raise ValueError(f"{claim_id}: no enumerable p-value reading named {unknown or chosen}; "
                         f"enumerable: {sorted(usable)}")
    rows: list[dict] = []
    for reading_id in chosen:
        reading = usable[reading_id]
        base = {"claim": claim.id, "reading": reading.id, "test": reading.test.value,
                "adopted": reading.adopted, "literal": reading.literal}
        n1, n2 = _sizes(ledger, reading, table)
        if reading.test in inversion.MANN_WHITNEY:
            rows += _u_values(n1, n2, reading.test, reading.direction, target, base)
        elif any_split:
            for first in range(1, n1 + n2):
                rows += _tables(first, n1 + n2 - first, reading.test, reading.direction,
                                target, base)
        else:
            rows += _tables(n1, n2, reading.test, reading.direction, target, base)
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"events1": "Int64", "events2": "Int64", "u": "Int64"})


def to_rows(frame: pd.DataFrame) -> list[list]:
    """A frame of :func:`configurations` as plain rows of :data:`STORED`, for a file.

    The claim, the test, the reading's marks, the label and ``fits`` are left
    out: :func:`from_rows` takes them from the ledger and the stored columns.
    """
    def plain(value):
        if pd.isna(value):
            return None
        return bool(value) if isinstance(value, (bool, np.bool_)) else \
            float(value) if isinstance(value, (float, np.floating)) else int(value)

    return [[reading, *(plain(v) for v in rest)]
            for reading, *rest in frame[STORED].itertuples(index=False)]


def from_rows(ledger: Ledger, claim_id: str, rows: Sequence[Sequence]) -> pd.DataFrame:
    """The frame of :func:`configurations` again, from the rows :func:`to_rows` gave.

    Examples
    --------
    >>> from cart_lib import ledger
    >>> from cart_lib.reconstruct import load_table
    >>> toy = ledger.load("toy")
    >>> frame = configurations(toy, load_table("toy"), "crs_p")
    >>> from_rows(toy, "crs_p", to_rows(frame)).equals(frame)
    True
    """
    readings = {r.id: r for r in ledger.claim(claim_id).readings}
    out = []
    for reading_id, n1, n2, a, c, u, p, prints, ok in rows:
        reading = readings[reading_id]
        out.append({"claim": claim_id, "reading": reading_id, "test": reading.test.value,
                    "adopted": reading.adopted, "literal": reading.literal, "n1": n1, "n2": n2,
                    "events1": np.nan if a is None else a, "events2": np.nan if c is None else c,
                    "u": np.nan if u is None else u, "label": _label(n1, n2, a, c, u),
                    "p": np.nan if p is None else p, "prints": prints, "direction_ok": ok,
                    "fits": prints and ok})
    return _frame(out)


def fitting(frame: pd.DataFrame) -> pd.DataFrame:
    """The configurations that fit: p prints as published, in the direction the text says."""
    return frame[frame["fits"]].reset_index(drop=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per reading: how many configurations were tried, how many fit, and which.

    Returns
    -------
    DataFrame
        Indexed by reading id, with the test, whether the reading is adopted
        and literal, the ``sizes`` enumerated, the number of
        ``configurations``, the number that ``print`` as published in either
        direction, the number that ``fit``, and the fitting labels
        (``fitting``, empty when none).
    """
    rows = []
    for reading, part in frame.groupby("reading", sort=False):
        sizes = sorted({(int(a), int(b)) for a, b in zip(part["n1"], part["n2"])})
        total = sizes[0][0] + sizes[0][1]
        rows.append({
            "reading": reading,
            "test": part["test"].iloc[0],
            "adopted": bool(part["adopted"].iloc[0]),
            "literal": bool(part["literal"].iloc[0]),
            "sizes": (f"{sizes[0][0]} vs {sizes[0][1]}" if len(sizes) == 1
                      else f"every split of {total}"),
            "configurations": int(len(part)),
            "print": int(part["prints"].sum()),
            "fit": int(part["fits"].sum()),
            "fitting": ", ".join(part.loc[part["fits"], "label"]),
        })
    return pd.DataFrame(rows).set_index("reading")


def band_text(target: PrintedP) -> str:
    """The interval of true p-values that print as the published value, as text.

    Examples
    --------
    >>> from cart_lib import ledger
    >>> band_text(printed_p(ledger.load("toy").claim("crs_p")))
    '0.0195 to below 0.0205'
    """
    decimals = len(target.text.split(".")[1]) + 1 if "." in target.text else 1
    return f"{fmt(target.low, decimals)} to below {fmt(target.high, decimals)}"
