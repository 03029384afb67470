"""From a ledger to a committed cohort, and back: reconstruct, write, load, explain failure.

``python -m cart_lib reconstruct --study S --seed N`` runs the search
(:mod:`cart_lib.reconstruct.search`), puts the patients in a canonical order, validates
the cohort against the patient record (:mod:`cart_lib.cohort.schema`), and writes
``data/cohorts/S.csv`` with its provenance ``data/cohorts/S.provenance.json``
(seed, hash of the ledger, library and package versions). Nothing is written
when the search fails: the command says the claims were not met together
within the time budget (or the move limit), and names the smallest set of
claims that shorter searches did not meet together, which does not prove
they cannot hold. Only the checks run before the search, from the ledger
alone, prove figures impossible.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from .. import __version__
from ..core import paths
from ..cohort import schema
from .. import cohort as cohort_mod
from .. import ledger as ledger_mod
from ..core.errors import CartError
from .search import ATTEMPT_MOVES, CONFLICT_TIME_BUDGET, TIME_BUDGET, Result, Search, SearchError

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
            "ledger": paths.relative(paths.ledger_path(self.study)),
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
    frame = cohort_mod.to_frame(table, ledger.dtypes())
    order = list(ledger.groups)
    keys = frame.drop(columns=["patient_id"]).astype("string").fillna("")
    keys.insert(0, "_group", frame["group"].map(order.index))
    frame = frame.iloc[keys.sort_values(list(keys.columns), kind="stable").index].reset_index(drop=True)
    width = max(2, len(str(len(frame))))
    frame["patient_id"] = pd.array([f"P{i + 1:0{width}d}" for i in range(len(frame))],
                                   dtype="string")
    return frame


def reconstruct(study: str, seed: int = 0, time_budget: float = TIME_BUDGET,
                progress: bool = False, max_moves: int = 2_000_000) -> Reconstruction:
    """Search for a cohort of ``study`` that satisfies every claim.

    Raises
    ------
    SearchError
        When the ledger alone shows that some figures cannot hold (checked
        before any search, by :func:`cart_lib.evaluate.audit.failed_checks` with
        every figure against the sizes the figures fix, in well under a second:
        every problem is named, with its claims and roles), or when no cohort
        is found within the time budget, which proves nothing; its message
        names the claims.
    LedgerError
        When neither a size claim nor the groups' sizes fix the cohort's size.
    """
    led = ledger_mod.load(study)
    from ..evaluate.audit import failed_checks     # from the ledger alone, at once
    failed = failed_checks(led, figures=True)
    if failed:
        raise SearchError(study, "the printed figures cannot hold together as the ledger reads "
                                 "them, so no search was run: "
                                 + "; ".join(c.named for c in failed),
                          sorted({i for c in failed for i in c.claims}), proven=True)
    search = Search(led, seed=seed, time_budget=time_budget, progress=progress,
                    max_moves=max_moves)
    result = search.run()
    frame = canonical(result.table, led)
    frame = schema.validate(frame, led.study, list(led.groups),
                            source=f"reconstructed {study}", rules=led.cohort_rules(),
                            compiler=led.compiler(), columns=led.columns_of_record())
    return Reconstruction(study, seed, frame, result, led)


def write(rec: Reconstruction, folder: Path | None = None) -> tuple[Path, Path]:
    """Write the cohort CSV and its provenance file (in ``data/cohorts/`` or ``folder``); both or neither."""
    csv_path = paths.cohort_path(rec.study, folder)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    prov_path = paths.provenance_path(csv_path, rec.study)
    tmp = prov_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec.provenance(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    try:
        schema.write_cohort(rec.frame, csv_path, rec.ledger.columns_of_record())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, prov_path)
    return csv_path, prov_path


def read(path: Path, led: ledger_mod.Ledger, rules: bool = True,
         sampled: bool = False) -> pd.DataFrame:
    """Read and validate a file of patients of the study of ``led``: a cohort, or a sample.

    The file's encoding and the record's rules are :mod:`cart_lib.cohort.schema`'s;
    this adds the study's groups, columns, timeline rules and stated facts.
    With ``rules=False`` the timeline rules and stated facts are not checked
    (the plausibility report lists their breaches instead of stopping at the
    first). With ``sampled``, the file holds many cohorts
    (:data:`cart_lib.cohort.schema.COHORT_INDEX`), each validated like a committed one.
    """
    return schema.read_cohort(path, led.study, list(led.groups),
                              rules=led.cohort_rules() if rules else (),
                              compiler=led.compiler(), sampled=sampled,
                              columns=led.columns_of_record())


def load_frame(study: str, rules: bool = True) -> pd.DataFrame:
    """Read and validate the committed cohort of ``study`` (see :func:`read`)."""
    led = ledger_mod.load(study)
    path = paths.cohort_path(study)
    if not path.exists():
        raise CartError(f"{path.relative_to(paths.ROOT)}: no cohort yet; "
                        f"run 'python -m cart_lib reconstruct --study {study}' or 'make data'")
    return read(path, led, rules)


def load_table(study: str, rules: bool = True) -> cohort_mod.Table:
    """The committed cohort of ``study`` as a table for the evaluators (see :func:`load_frame`)."""
    return cohort_mod.from_frame(load_frame(study, rules))


def conflicting_claims(led: ledger_mod.Ledger, unmet: list[str], seed: int = 0,
                       budget_moves: int = 40_000,
                       time_budget: float = CONFLICT_TIME_BUDGET) -> tuple[list[str], bool]:
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
    columns = set().union(*(probe.objectives[by_id[c]].columns for c in unmet
                            if c in by_id)) - {"group"}
    candidates = [c.id for i, c in enumerate(probe.claims)
                  if c.id in unmet or probe.objectives[i].columns & columns]

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


# ------------------------------------------------------------------ undecided readings

#: Moves a search with an alternative reading adopted may take before it is
#: reported as not found (a move count, not a time, so the result repeats).
READING_MOVES = 300_000
READINGS_NOTICE = ("Searches for reconstructed cohorts under alternative readings of printed "
                   "figures; a cohort found shows a reading can hold, none found proves nothing.")
#: Verdicts of :func:`cart_lib.evaluate.audit.reading_verdicts` that a search can still decide.
OPEN_VERDICTS = ("not decided", "feasible on its own")


def with_reading(claim: ledger_mod.Claim, reading_id: str) -> ledger_mod.Claim:
    """The claim with another of its readings adopted."""
    data = claim.model_dump()
    data["readings"] = [dict(r, adopted=r["id"] == reading_id) for r in data["readings"]]
    return ledger_mod.Claim.model_validate(data)


def open_readings(led: ledger_mod.Ledger, table: cohort_mod.Table) -> list[tuple[str, str]]:
    """(claim, reading) of every alternative reading that no check or cohort decides yet."""
    from ..evaluate.audit import reading_verdicts
    from ..evaluate import Evaluator

    return [(v.claim, v.reading) for v in reading_verdicts(led, table, Evaluator(led))
            if not v.adopted and v.verdict in OPEN_VERDICTS]


def search_readings(study: str, seed: int = 0, max_moves: int | None = None) -> dict:
    """Search, for each open alternative reading, a cohort matching it and every other figure.

    Each search adopts the alternative in place of the claim's adopted
    reading, keeps every other claim, timeline rule and stated fact, and
    stops after ``max_moves`` moves. A cohort found shows the reading can
    hold with everything else; none found within the moves proves nothing.

    Returns
    -------
    dict
        The record written to ``data/derived/<study>.readings.json``: for each
        reading searched, whether a cohort was found and in how many moves.
    """
    led = ledger_mod.load(study)
    max_moves = READING_MOVES if max_moves is None else max_moves
    results = []
    for claim_id, reading_id in open_readings(led, load_table(study)):
        claims = [with_reading(c, reading_id) if c.id == claim_id else c for c in led.claims]
        search = Search(led, seed=seed, claims=claims, max_moves=max_moves,
                        time_budget=math.inf, attempt_moves=ATTEMPT_MOVES)
        try:
            found = search.run()
        except SearchError as exc:
            results.append({"claim": claim_id, "reading": reading_id, "found": False,
                            "moves": max_moves, "unmet": exc.claims})
        else:
            results.append({"claim": claim_id, "reading": reading_id, "found": True,
                            "moves": found.iterations})
    return {"study": study, "notice": READINGS_NOTICE, "seed": seed, "max_moves": max_moves,
            "ledger_sha256": led.sha256, "start_cohort_sha256": _sha256(paths.cohort_path(study)),
            "cart_lib": __version__,
            "packages": {name: metadata.version(name) for name in PINNED},
            "readings": results}


readings_path = paths.readings_path


def write_readings(record: dict, folder: Path | None = None) -> Path:
    """Write the record of :func:`search_readings` (atomically)."""
    path = paths.readings_path(record["study"])
    if folder is not None:
        path = Path(folder) / path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_readings(study: str) -> dict[tuple[str, str], dict]:
    """The committed searches of a study's open readings, by (claim, reading); empty if none."""
    path = readings_path(study)
    if not path.exists():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    if record["ledger_sha256"] != ledger_mod.load(study).sha256:
        raise CartError(f"{paths.relative(path)}: searched under another version of "
                        f"the ledger; run 'make data'")
    return {(r["claim"], r["reading"]): r | {"seed": record["seed"]} for r in record["readings"]}


def _sha256(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()
