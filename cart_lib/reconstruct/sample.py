"""Many consistent cohorts: a Markov chain over the cohorts that satisfy every claim.

``python -m cart_lib sample --study S --n N --seed K [--jobs J]`` draws ``N``
distinct cohorts of study ``S``, each satisfying every claim, and writes them
to ``data/samples/S.csv.gz`` (one row per patient, a ``cohort`` column
numbering the cohorts) with a provenance file beside it.

The scheme
----------
A fresh search per cohort would take seconds each; instead each of a fixed
number of chains (:data:`CHAINS`) starts from the committed cohort and makes
random moves of the search (:mod:`cart_lib.reconstruct.search`): a new value for one
patient's column, a swap of two patients' values, an exchange of what a
claim counts between two patients of one group. A move is kept only if every
claim still matches (the search's fast evaluators) and every timeline rule and
stated fact still holds (:mod:`cart_lib.reconstruct.plausibility`); otherwise the chain
stays where it is. After a burn-in of
``burn`` moves, the chain offers a cohort every ``thin`` moves; a cohort is
kept if it differs from every cohort the chain kept before and the book's
own evaluators (lifelines, scipy) confirm the claims whose fast and exact
computations differ. Chains run in parallel (joblib), each with its own
random stream spawned from the seed, so the result does not depend on the
number of jobs.

On a cluster
------------
``--backend dask --scheduler ADDRESS`` runs the chains as tasks of a
dask.distributed cluster instead of local processes. Each chain's stream is
still spawned from the seed by its chain number, and the chains are gathered
in chain order, so the sample is byte for byte the local one whichever worker
runs which chain. A worker reads the ledger and the committed cohort from its
own copy of the project; each task carries a fingerprint of the inputs the
client drew from (:func:`fingerprint`: the ledger, the cohort, the library's
source and numpy's version) and a worker whose copy differs refuses the task
instead of drawing a different sample.

In what sense it is not uniform
-------------------------------
The moves are symmetric, so the chain's long-run distribution is uniform
over *search states* that satisfy every claim, not over cohorts: a cohort
counts once for every ordering of its patients and every value of the hidden
columns its record leaves empty (the day of a relapse that did not happen),
so cohorts with more distinct patients or more empty columns weigh more.
Single-patient moves may not connect every part of the feasible set, and the
chains are finite and start from one cohort, so parts far from it are
under-represented. The sample describes cohorts reachable from the committed
one; ranges over it are inner bounds of the ranges over all consistent
cohorts, not the ranges themselves.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..core import paths
from ..cohort import schema
from .. import cohort as cohort_mod
from .. import ledger as ledger_mod
from ..core.errors import CartError, SampleError
from ..evaluate import Evaluator
from ..ledger import Ledger, Test
from ._pipeline import PINNED, load_table, read
from .moves import SAMPLER, Mover
from .search import Search

#: Independent chains; fixed, so the sample does not depend on ``--jobs``.
CHAINS = 8
NOTICE = ("Cohorts consistent with the published summaries, sampled by a Markov chain from "
          "the committed reconstruction; not the trial's patient records.")
_FAST_TESTS = (Test.logrank, Test.mannwhitney_exact, Test.mannwhitney_asymptotic)


@dataclass
class Chain:
    """What one chain returns: its cohorts and how it got them."""

    tables: list[cohort_mod.Table]
    moves: int
    accepted: int
    refused_exact: int


sample_path = paths.sample_path


def state_of(search: Search, table: cohort_mod.Table) -> dict[str, np.ndarray]:
    """The search state whose visible cohort is ``table`` (a committed cohort).

    Raises
    ------
    SampleError
        When a value lies off the ledger's grid, so the chain cannot start there.
    """
    space = search.space
    state: dict[str, np.ndarray] = {}
    for name, grid in space.grids.items():
        values = table[name]
        index = np.zeros(space.size, dtype=np.int64)
        for i, value in enumerate(values):
            if value is None or (not isinstance(value, str) and np.isnan(value)):
                continue
            hits = np.flatnonzero(grid.values == value) if grid.values.dtype == object else \
                np.flatnonzero(np.isclose(grid.values.astype(float), float(value)))
            if not len(hits):
                raise SampleError(f"{search.ledger.study}: patient {i + 1} has {name} = {value!r}, "
                                  f"not on the ledger's grid record.{name}")
            index[i] = hits[0]
        state[name] = index
    shown = space.table(state)
    for name in table:
        a, b = shown[name], table[name]
        same = list(a) == list(b) if a.dtype == object else np.array_equal(a, b, equal_nan=True)
        if not same and name not in ("patient_id",):
            raise SampleError(f"{search.ledger.study}: the committed cohort's column {name} is not "
                              f"what its search state shows; run 'make data'")
    return state


def _row_keys(table: cohort_mod.Table, columns: list[str]) -> list[str]:
    rows = zip(*(table[c] for c in columns))
    return ["|".join("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                     for v in row) for row in rows]


def cohort_key(table: cohort_mod.Table, ledger: Ledger) -> tuple[str, ...]:
    """A cohort's identity regardless of patient order: its sorted rows."""
    columns = [c for c in table if c != "patient_id"]
    return tuple(sorted(_row_keys(table, columns)))


def _exact_claims(ledger: Ledger):
    # Claims whose fast computation is a re-implementation (numpy Kaplan-Meier,
    # log-rank, memoised Mann-Whitney): the only ones the two evaluators could
    # judge differently. Counts, medians and 2x2 tests share one code path.
    return [c for c in ledger.claims
            if c.adopted.measure.fast_differs or c.adopted.test in _FAST_TESTS]


def fingerprint(study: str) -> dict[str, str]:
    """What a chain's result depends on besides its arguments, as SHA-256 digests.

    The ledger and the committed cohort of ``study``, the library's own
    source files and numpy's version (its random streams). A chain run on
    another machine (:func:`draw` with ``backend="dask"``) compares its own
    with the client's.
    """
    source = hashlib.sha256()
    for path in sorted(paths.LIBRARY.rglob("*.py")):
        name = path.relative_to(paths.LIBRARY).as_posix()
        source.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return {"ledger": hashlib.sha256(paths.ledger_path(study).read_bytes()).hexdigest(),
            "cohort": hashlib.sha256(paths.cohort_path(study).read_bytes()).hexdigest(),
            "cart_lib": source.hexdigest(), "numpy": np.__version__}


def run_chain(study: str, seed_seq: np.random.SeedSequence, quota: int, thin: int,
              burn: int, max_moves: int, expected: dict[str, str] | None = None) -> Chain:
    """Run one chain from the committed cohort until it keeps ``quota`` distinct cohorts.

    ``expected``: the client's :func:`fingerprint`; when given, a worker whose
    inputs differ raises instead of running.
    """
    if expected is not None:
        own = fingerprint(study)
        differ = sorted(k for k in expected if own.get(k) != expected[k])
        if differ:
            import socket
            raise SampleError(f"{study}: this worker ({socket.gethostname()}, {paths.ROOT}) has "
                              f"another {', '.join(differ)} than the client; give every worker "
                              f"the same checkout and environment")
    led = ledger_mod.load(study)
    search = Search(led, seed=0)
    rng = np.random.default_rng(seed_seq)
    mover = Mover(search.space, search.objectives, search.fast, led, rng, SAMPLER)
    mover.groups_settled = True
    state = state_of(search, load_table(study))
    table = search.space.table(state)
    if not search.all_met(table, range(len(search.objectives))):
        raise SampleError(f"{study}: the committed cohort does not satisfy every claim; "
                          f"run 'make data'")
    exact, checked = Evaluator(led), _exact_claims(led)
    columns = [c for c in search.space.columns if c != "group"]
    kept: list[cohort_mod.Table] = []
    seen: set[tuple[str, ...]] = set()
    moves = accepted = refused = 0
    since = -burn
    while len(kept) < quota:
        if moves >= max_moves:
            raise SampleError(f"{study}: a chain kept {len(kept)} of {quota} distinct cohorts in "
                              f"{moves} moves; ask for fewer, or a longer chain")
        moves += 1
        since += 1
        mover.table = table
        move = mover.sample(state, columns)
        if move:
            undo = [(c, p, [int(state[c][k]) for k in p]) for c, p, _ in move]
            for column, patients, new in move:
                state[column][patients] = new
            moved = {c for c, _, _ in move}
            candidate = search.space.update(table, state, moved)
            saved = search.fast.carry(candidate, search.space.shown_by(moved))
            affected = sorted({i for c, _, _ in move for i in search.objectives_of[c]})
            if search.all_met(candidate, affected):
                table, accepted = candidate, accepted + 1
            else:
                for column, patients, old in reversed(undo):
                    state[column][patients] = old
                search.fast.restore(saved)
        if since < thin:
            continue
        key = cohort_key(table, led)
        if key in seen:
            continue                        # wait for a cohort this chain has not kept yet
        since = 0
        if not all(exact.claim_result(c, table).adopted.matched for c in checked):
            refused += 1
            continue
        seen.add(key)
        kept.append({k: v.copy() for k, v in table.items()})
    return Chain(kept, moves, accepted, refused)


BACKENDS = ("loky", "dask")


def draw(study: str, n: int, seed: int = 0, jobs: int = 1, thin: int = 50, burn: int = 2000,
         progress: bool = False, backend: str = "loky",
         scheduler=None) -> tuple[pd.DataFrame, dict]:
    """Draw ``n`` distinct consistent cohorts of ``study``.

    Parameters
    ----------
    study : str
    n : int
        Cohorts wanted.
    seed : int
        Seed of every chain's random stream; the same seed gives the same sample.
    jobs : int
        Worker processes (joblib); the sample does not depend on it.
        Ignored with ``backend="dask"``.
    thin : int
        Moves between two cohorts a chain offers.
    burn : int
        Moves a chain makes before it offers its first cohort.
    progress : bool
        Show a progress bar (on a terminal).
    backend : str
        ``"loky"``: local processes (joblib); ``"dask"``: tasks on the
        dask.distributed cluster at ``scheduler``. The sample does not
        depend on it.
    scheduler : str or distributed.Client
        With ``backend="dask"``: the scheduler's address
        (``tcp://host:8786``), or a connected client.

    Returns
    -------
    frame : pandas.DataFrame
        One row per patient of every cohort, with a ``cohort`` column (0..n-1).
    info : dict
        How the sample was drawn (for the provenance file).
    """
    from tqdm import tqdm

    if n < 1:
        raise SampleError(f"{study}: --n must be at least 1, not {n}")
    if backend not in BACKENDS:
        raise SampleError(f"{study}: unknown backend {backend!r}; one of {', '.join(BACKENDS)}")
    if backend == "dask" and scheduler is None:
        raise SampleError(f"{study}: the dask backend needs a scheduler address (--scheduler)")
    led = ledger_mod.load(study)
    # A few more per chain than needed, so cohorts two chains share can be dropped.
    quota = math.ceil(n / CHAINS) + 2
    streams = np.random.SeedSequence(seed).spawn(CHAINS)
    max_moves = 200 * thin * quota + burn
    args = [(study, streams[c], quota, thin, burn, max_moves) for c in range(CHAINS)]
    with tqdm(total=CHAINS, desc=f"{study}: chains", unit="chain",
              disable=not progress) as bar:
        run = _on_dask if backend == "dask" else _on_joblib
        chains = run(args, jobs, scheduler, lambda: bar.update(1))
    tables, seen = [], set()
    for k in range(quota):                   # interleave the chains, in chain order
        for chain in chains:
            if k < len(chain.tables):
                key = cohort_key(chain.tables[k], led)
                if key not in seen:
                    seen.add(key)
                    tables.append(chain.tables[k])
    if len(tables) < n:
        raise SampleError(f"{study}: only {len(tables)} distinct cohorts among the chains' "
                          f"{CHAINS * quota}; ask for fewer")
    frame = _frame(tables[:n], led)
    info = {"chains": CHAINS, "thin": thin, "burn": burn,
            "moves": sum(c.moves for c in chains), "accepted": sum(c.accepted for c in chains),
            "refused_by_exact_evaluators": sum(c.refused_exact for c in chains)}
    return frame, info


def _on_joblib(args: list[tuple], jobs: int, scheduler, done) -> list[Chain]:
    """Run the chains in local processes (joblib), in chain order."""
    from joblib import Parallel, delayed

    chains = []
    for chain in Parallel(n_jobs=jobs, return_as="generator")(delayed(run_chain)(*a)
                                                              for a in args):
        chains.append(chain)
        done()
    return chains


def _on_dask(args: list[tuple], jobs: int, scheduler, done) -> list[Chain]:
    """Run the chains as tasks of a dask.distributed cluster; return them in chain order."""
    from distributed import Client, as_completed

    expected = fingerprint(args[0][0])
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        # pure=False: two chains never share a task, whatever their arguments.
        futures = [client.submit(run_chain, *a, expected=expected, pure=False) for a in args]
        for _ in as_completed(futures):
            done()
        return client.gather(futures)
    finally:
        if own:
            client.close()


def _frame(tables: list[cohort_mod.Table], led: Ledger, keep_order: bool = False) -> pd.DataFrame:
    """Stack cohorts into one frame, patients of each in a canonical order."""
    extra = led.dtypes()
    order = list(led.groups)
    columns = [c for c in extra if c != "patient_id"]
    parts = []
    for index, table in enumerate(tables):
        keys = _row_keys(table, columns)
        rank = list(range(len(keys))) if keep_order else \
            sorted(range(len(keys)), key=lambda i: (order.index(table["group"][i]), keys[i]))
        sorted_table = {k: v[rank] for k, v in table.items()}
        width = max(2, len(str(len(rank))))
        sorted_table["patient_id"] = np.array([f"P{i + 1:0{width}d}" for i in range(len(rank))],
                                              dtype=object)
        parts.append(sorted_table)
    stacked = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    frame = cohort_mod.to_frame(stacked, extra)
    size = len(tables[0]["group"])
    frame.insert(0, "cohort", np.repeat(np.arange(len(tables)), size))
    return frame


def write(study: str, frame: pd.DataFrame, info: dict, seed: int,
          folder: Path | None = None) -> tuple[Path, Path]:
    """Write the sample (:func:`cart_lib.cohort.schema.write_cohort`: the same bytes every time) and its provenance."""
    path = paths.sample_path(study, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    prov = paths.provenance_path(path, study)
    led = ledger_mod.load(study)
    cohort_csv = paths.cohort_path(study).read_bytes()
    record = {"study": study, "notice": NOTICE, "seed": seed,
              "cohorts": int(frame["cohort"].nunique()),
              "ledger_sha256": led.sha256,
              "start_cohort_sha256": hashlib.sha256(cohort_csv).hexdigest(),
              "cart_lib": __version__,
              "packages": {name: metadata.version(name) for name in PINNED},
              "chain": info}
    tmp_prov = prov.with_suffix(".json.tmp")
    tmp_prov.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    try:
        schema.write_cohort(frame, path, led.columns_of_record())
    except BaseException:
        tmp_prov.unlink(missing_ok=True)
        raise
    os.replace(tmp_prov, prov)
    return path, prov


def load_tables(study: str, path: Path | None = None) -> list[cohort_mod.Table]:
    """The cohorts of the committed sample of ``study``, one evaluator table each.

    Every cohort is validated like the committed cohort (:func:`cart_lib.reconstruct.read`).

    Raises
    ------
    CartError
        When there is no sample, or it was drawn from another ledger.
    CohortError
        When a cohort breaks a rule of the record or of the study; it names the
        file, the cohort, the patient, the column and the rule.
    """
    path = sample_path(study) if path is None else Path(path)
    if not path.exists():
        raise CartError(f"{path}: no sample yet; run 'python -m cart_lib sample --study {study}' "
                        f"or 'make data'")
    led = ledger_mod.load(study)
    prov = paths.provenance_path(path, study)
    if prov.exists() and json.loads(prov.read_text())["ledger_sha256"] != led.sha256:
        raise CartError(f"{path}: drawn from another version of {led.path.name}; run 'make data'")
    frame = read(path, led, sampled=True)
    whole = cohort_mod.from_frame(frame.drop(columns=[schema.COHORT_INDEX]))
    index = frame[schema.COHORT_INDEX].to_numpy(dtype=np.int64)
    bounds = np.flatnonzero(np.diff(index)) + 1
    starts, ends = np.concatenate([[0], bounds]), np.concatenate([bounds, [len(index)]])
    return [{k: v[a:b] for k, v in whole.items()} for a, b in zip(starts, ends)]


def load(study: str, path: Path | None = None) -> pd.DataFrame:
    """The committed sample of ``study`` as one frame, with a ``cohort`` column."""
    led = ledger_mod.load(study)
    return _frame(load_tables(study, path), led, keep_order=True)


