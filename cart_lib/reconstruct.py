"""From a ledger to a committed cohort, and back: reconstruct, write, load, explain failure.

``python -m cart_lib reconstruct --study S --seed N`` runs the search
(:mod:`cart_lib.search`), puts the patients in a canonical order, validates
the cohort against the patient record (:mod:`cart_lib.schema`), and writes
``data/cohorts/S.csv`` with its provenance ``data/cohorts/S.provenance.json``
(seed, hash of the ledger, library and package versions). Nothing is written
when the search fails: the command names the smallest set of claims it found
that cannot hold together.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from . import __version__, paths, schema
from . import cohort as cohort_mod
from . import ledger as ledger_mod
from .errors import CartError
from .search import Result, Search, SearchError

#: Packages whose versions can change a reconstructed cohort.
PINNED = ("numpy", "scipy", "pandas", "lifelines", "statsmodels")
NOTICE = ("A reconstruction consistent with the published summaries, found by search; "
          "not the trial's patient records.")


@dataclass
class Reconstruction:
    """A reconstructed cohort and how it was found."""

    study: str
    seed: int
    frame: pd.DataFrame
    result: Result
    ledger: ledger_mod.Ledger

    def provenance(self) -> dict:
        """The provenance record written beside the CSV (no times: the file is reproducible)."""
        return {
            "study": self.study,
            "notice": NOTICE,
            "seed": self.seed,
            "ledger": f"data/claims/{self.study}.yaml",
            "ledger_sha256": self.ledger.sha256,
            "cart_lib": __version__,
            "packages": {name: metadata.version(name) for name in PINNED},
            "search": {"moves": self.result.iterations, "attempts": self.result.attempts},
        }


def canonical(table: cohort_mod.Table, ledger: ledger_mod.Ledger) -> pd.DataFrame:
    """The cohort as a frame, patients in a canonical order with ids ``P01``, ``P02``, ...

    Patients are ordered by group (as the ledger lists them) and then by
    their values, so two searches that find the same set of patients write
    the same file.
    """
    extra = {k: v.dtype for k, v in ledger.columns.items()}
    frame = cohort_mod.to_frame(table, extra)
    order = list(ledger.groups)
    keys = frame.drop(columns=["patient_id"]).astype("string").fillna("")
    keys.insert(0, "_group", frame["group"].map(order.index))
    frame = frame.iloc[keys.sort_values(list(keys.columns), kind="stable").index].reset_index(drop=True)
    width = max(2, len(str(len(frame))))
    frame["patient_id"] = pd.array([f"P{i + 1:0{width}d}" for i in range(len(frame))],
                                   dtype="string")
    return frame


def reconstruct(study: str, seed: int = 0, time_budget: float = 600.0,
                progress: bool = False, max_moves: int = 2_000_000) -> Reconstruction:
    """Search for a cohort of ``study`` that satisfies every claim.

    Raises
    ------
    SearchError
        When no cohort is found; its message names the conflicting claims.
    """
    led = ledger_mod.load(study)
    search = Search(led, seed=seed, time_budget=time_budget, progress=progress,
                    max_moves=max_moves)
    result = search.run()
    frame = canonical(result.table, led)
    frame = schema.validate(frame, led.study, list(led.groups),
                            {k: v.dtype for k, v in led.columns.items()},
                            source=f"reconstructed {study}")
    return Reconstruction(study, seed, frame, result, led)


def write(rec: Reconstruction, folder: Path = paths.COHORTS) -> tuple[Path, Path]:
    """Write the cohort CSV and its provenance file; both or neither."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{rec.study}.csv"
    prov_path = folder / f"{rec.study}.provenance.json"
    tmp = prov_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec.provenance(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    try:
        schema.write_cohort(rec.frame, csv_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, prov_path)
    return csv_path, prov_path


def load_frame(study: str) -> pd.DataFrame:
    """Read and validate the committed cohort of ``study``."""
    led = ledger_mod.load(study)
    path = paths.cohort_path(study)
    if not path.exists():
        raise CartError(f"{path.relative_to(paths.ROOT)}: no cohort yet; "
                        f"run 'python -m cart_lib reconstruct --study {study}' or 'make data'")
    return schema.read_cohort(path, led.study, list(led.groups),
                              {k: v.dtype for k, v in led.columns.items()})


def load_table(study: str) -> cohort_mod.Table:
    """The committed cohort of ``study`` as a table for the evaluators."""
    return cohort_mod.from_frame(load_frame(study))


def conflicting_claims(led: ledger_mod.Ledger, unmet: list[str], seed: int = 0,
                       budget_moves: int = 40_000,
                       time_budget: float = 60.0) -> tuple[list[str], bool]:
    """A small set of claims that the search cannot satisfy together.

    Starts from the claims still unmet at the best cohort found, adds the
    claims that read the same columns, then drops each claim whose removal
    leaves the rest still unsatisfiable (a deletion filter, each test a short
    search). The result is the smallest set found within the budget, not
    proven minimal.

    Returns
    -------
    claims : list of str
        The set found.
    complete : bool
        False when the time budget ran out before every candidate was tried.
    """
    start = time.monotonic()
    probe = Search(led, seed=seed)
    by_id = {c.id: i for i, c in enumerate(probe.claims)}
    columns = set().union(*(probe.columns_of[by_id[c]] for c in unmet if c in by_id)) - {"group"}
    candidates = [c.id for i, c in enumerate(probe.claims)
                  if c.id in unmet or probe.columns_of[i] & columns]

    def satisfiable(ids: list[str]) -> bool:
        subset = [led.claim(i) for i in ids]
        try:
            Search(led, seed=seed, claims=subset, max_moves=budget_moves,
                   attempt_moves=budget_moves // 2,
                   time_budget=max(1.0, time_budget - (time.monotonic() - start))).run()
            return True
        except SearchError:
            return False

    core = list(candidates)
    for claim_id in candidates:
        if time.monotonic() - start > time_budget:
            return core, False
        trial = [c for c in core if c != claim_id]
        if trial and not satisfiable(trial):
            core = trial
    return core, True
