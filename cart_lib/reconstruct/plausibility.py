"""Which patients break a timeline rule or a stated fact: the plausibility report.

Every cohort the project writes obeys three kinds of rule besides its claims:

- the record's own rules (a column that depends on a flag is empty when the
  flag is false, a day is given where its event happened and is not after
  last contact, lost to follow-up means alive): :data:`cart_lib.cohort.schema.CROSS_FIELD`;
- the record's timeline rules (:func:`cart_lib.core.record.timeline_rules`), with
  the study's earliest assessment day and the rules its ledger waives;
- the facts the study's text states in words (the ledger's ``facts``).

The search and the sampler treat the last two as objectives and the first as
construction, and the cohort schema refuses a cohort that breaks any of them;
this module lists, for a cohort or a whole sample, every rule with the
patients who break it, so that a reader (or a test) can see that none does.
``python -m cart_lib plausibility --study S [--sample]`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import cohort as cohort_mod
from ..ledger import Ledger
from ..cohort.schema import cross_field

__all__ = ["Check", "checks", "breaking", "report"]


@dataclass(frozen=True)
class Check:
    """One rule a cohort obeys, as the report lists it."""

    id: str
    kind: str          # "record", "timeline", "fact" or "constraint"
    says: str


def checks(ledger: Ledger) -> list[Check]:
    """Every rule a cohort of ``ledger``'s study obeys, in the report's order."""
    out = [Check(_record_id(rule), "record", rule)
           for _, rule, _ in cross_field(ledger.needs_flag())]
    out += [Check(r.id, r.source if r.source in ("fact", "constraint") else "timeline", r.says)
            for r in ledger.cohort_rules()]
    return out


def _record_id(rule: str) -> str:
    return "record: " + rule


def breaking(table: cohort_mod.Table, ledger: Ledger, frame: pd.DataFrame | None = None,
             compiler=None) -> dict[str, np.ndarray]:
    """For each rule of :func:`checks`, the row positions of the patients who break it.

    Parameters
    ----------
    table : Table
        The cohort, as the evaluators hold it.
    ledger : Ledger
    frame : pandas.DataFrame, optional
        The same cohort as a typed frame (built from ``table`` if omitted),
        for the record's own rules.
    compiler : expressions.Compiler, optional
        The ledger's compiler, to reuse across many cohorts.
    """
    compiler = compiler or ledger.compiler()
    if frame is None:
        frame = cohort_mod.to_frame(table, ledger.dtypes())
    out: dict[str, np.ndarray] = {}
    for _, rule, fn in cross_field(ledger.needs_flag()):
        out[_record_id(rule)] = np.flatnonzero(~fn(frame).to_numpy(dtype=bool))
    for rule in ledger.cohort_rules():
        broken = compiler.mask(rule.population)(table) & ~compiler.mask(rule.holds)(table)
        out[rule.id] = np.flatnonzero(broken)
    return out


def report(ledger: Ledger, tables: list[cohort_mod.Table]) -> pd.DataFrame:
    """Every rule with the cohorts and patients that break it.

    Parameters
    ----------
    ledger : Ledger
    tables : list of Table
        One cohort (the committed one) or many (a sample), in order.

    Returns
    -------
    pandas.DataFrame
        One row per rule: ``rule``, ``kind``, ``says``, ``cohorts`` (how many
        were checked), ``breaking`` (how many break it) and ``patients`` (the
        first few breaches, as ``P07`` for one cohort or ``#12 P07`` in a
        sample).
    """
    compiler = ledger.compiler()
    rows = {c.id: {"rule": c.id, "kind": c.kind, "says": c.says, "cohorts": len(tables),
                   "breaking": 0, "patients": []} for c in checks(ledger)}
    for k, table in enumerate(tables):
        for rule_id, positions in breaking(table, ledger, compiler=compiler).items():
            if not len(positions):
                continue
            row = rows[rule_id]
            row["breaking"] += 1
            ids = [str(table["patient_id"][p]) for p in positions]
            row["patients"] += ids if len(tables) == 1 else [f"#{k} {i}" for i in ids]
    for row in rows.values():
        shown = row["patients"][:8]
        more = len(row["patients"]) - len(shown)
        row["patients"] = ", ".join(shown) + (f" and {more} more" if more else "")
    return pd.DataFrame(list(rows.values()))
