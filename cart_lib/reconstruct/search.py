"""The search for a cohort that satisfies every claim of a study at once.

A cohort is found, not typed. The ledger says how many patients there are
(``size_claim``, or the sizes of its groups), what each reporting group fixes (``groups``) and which
values each reported column may take (``record``); every other column stays
empty. The search state gives each patient an index into each column's grid;
the visible cohort is built from it by the record's consistency rules
(:func:`cart_lib.cohort.normalize`), so every state is a valid patient record.

The search is simulated annealing on the sum of the objectives' losses
(:mod:`cart_lib.reconstruct.objectives`: the claims, the record's timeline rules and the
facts the text states), zero exactly when every one holds. Its moves come
from :class:`cart_lib.reconstruct.moves.Mover`: most are aimed at an unmet objective.
Only the objectives that read a column whose value changed, for a patient of
their population before or after the move, are evaluated again, the masks of
expressions over unchanged columns are kept (:meth:`Evaluator.carry`), and
only the visible columns a move can alter are built again
(:meth:`Space.update`). A move is accepted by the Metropolis rule, with its
random threshold drawn first: the objectives it may have changed are computed
unmet first, then cheapest first, and the move is refused as soon as their
rise can no longer stay under the threshold, so that most refused moves
compute only one or two. A state of zero loss is checked once more with the
book's own evaluators (lifelines, scipy) before it is accepted.

For a given ledger, seed and pinned environment the search is deterministic:
it stops after a fixed number of moves, not after a time; the time budget
only ends a search that has run too long, with an error.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .. import cohort as cohort_mod
from ..core import expressions
from . import objectives as objectives_mod
from ..cohort import Table
from ..core.errors import SearchError
from ..evaluate import Evaluator
from ..evaluate.audit import cohort_size
from ..ledger import Claim, Domain, Ledger, expand_names
from .moves import Mover
from .objectives import ClaimObjective
from ..core.record import APPLIES_TO, DAY_OF, EXCLUDED_BY

#: Moves one attempt may take before the search starts again from fresh values.
ATTEMPT_MOVES = 45_000
#: Seconds a search may run before it gives up with an error (never a different cohort).
TIME_BUDGET = 600.0
#: Seconds the short searches that narrow a failure down to conflicting claims may
#: take together (:func:`cart_lib.reconstruct.conflicting_claims`), at most the search's own.
CONFLICT_TIME_BUDGET = 60.0


@dataclass
class Grid:
    """The values one searchable column may take, and where it applies."""

    name: str
    values: np.ndarray          # float values, or objects for text columns
    numeric: bool
    where: str | None


@dataclass
class Result:
    """What a search found."""

    table: Table
    iterations: int
    seconds: float
    restarts: int
    attempts: int = 1


def _grid(name: str, domain: Domain, dtype: str) -> Grid:
    return Grid(name, domain.grid(dtype), dtype not in ("bool", "str"), domain.where)


def printed_steps(column: str, ledger: Ledger) -> list[float]:
    """The precisions at which the study prints values of ``column`` itself (a median, minimum,
    maximum or day of it, in days or the column's own unit)."""
    steps = []
    for claim in ledger.claims:
        reading = claim.adopted
        if reading.variable == column and reading.scale == 1.0:
            steps += [claim.precision[role] for role in claim.reads
                      if role in ("median", "min", "max", "value")]
    return steps


def _without_ties(grid: Grid, ledger: Ledger) -> Grid:
    """The grid less the values on a rounding tie at the finest precision the column is printed at.

    A value the search chooses freely must print the same under every
    rounding convention (0.5 printed at a step of 1 is 1 rounding half up and
    0 rounding half to even). At coarser precisions a median or range can
    still land on a tie; the claim's own check refuses that
    (:func:`cart_lib.core.printed.rounds_to`).
    """
    steps = printed_steps(grid.name, ledger)
    if not grid.numeric or not steps:
        return grid
    finest = Decimal(str(min(steps)))
    keep = [v for v in grid.values
            if (Decimal(repr(float(v))) / finest) % 1 != Decimal("0.5")]
    return Grid(grid.name, np.array(keep, dtype=float), True, grid.where)


_OPS = {"==": np.equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
        ">=": np.greater_equal}


class Space:
    """The searchable space of one study's cohorts, built from its ledger."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.size = cohort_size(ledger)   # the size claim's count, or the groups' sizes summed
        self.groups = list(ledger.groups)
        #: The study's record: each column and its dtype, in file order.
        self.dtypes = ledger.dtypes()
        #: Its flag rules (:meth:`cart_lib.ledger.Ledger.needs_flag`).
        self.needs = ledger.needs_flag()
        self.grids: dict[str, Grid] = {"group": Grid("group", np.array(self.groups, dtype=object),
                                                     False, None)}
        for name, domain in ledger.record.items():
            dtype = self.dtypes[name]
            self.grids[name] = _without_ties(_grid(name, domain, dtype), ledger)
        self.columns = list(self.grids)
        self.compiler = ledger.compiler()
        self._base = cohort_mod.empty(self.size, self.dtypes)
        self._base["study"][:] = ledger.study
        self._base["patient_id"][:] = [f"P{i + 1:02d}" for i in range(self.size)]
        self.depends = self._visible_dependencies()
        self._by_groups: dict[bytes, tuple[Table, dict[str, np.ndarray]]] = {}
        #: For each searchable column, the visible columns a change to it can alter.
        self.shows: dict[str, set[str]] = {c: {v for v, deps in self.depends.items() if c in deps}
                                           for c in self.columns}

    def _visible_dependencies(self) -> dict[str, set[str]]:
        """For each visible column, the searchable columns its value depends on."""
        deps: dict[str, set[str]] = {name: {name} & set(self.columns) for name in self._base}
        for attrs in self.ledger.groups.values():
            for column in attrs:
                deps[column].add("group")
        for name, grid in self.grids.items():
            if grid.where:
                deps[name].add("group")
        for column in APPLIES_TO:
            deps[column] |= deps["treatment"]
        for column, flag, _ in self.needs:    # in rule order, so chains close
            deps[column] |= deps[flag]
        for column, flag in EXCLUDED_BY:
            deps[column] |= deps[flag]
        for column, flag in DAY_OF.items():
            # An event after last contact, or on or after death, is not observed:
            # the flag and its day are built together.
            both = deps[column] | deps[flag] | deps["last_contact_day"] | deps["death"]
            deps[column] = deps[flag] = both
        for column, flag, _ in self.needs:    # what depends on those flags, again
            deps[column] |= deps[flag]
        return deps

    def claim_reads(self, claim: Claim) -> set[str]:
        """The visible columns the adopted reading of a claim reads."""
        reading = claim.adopted
        names: set[str] = set()
        for text in reading.expressions().values():
            names |= expand_names(expressions.names(text), self.ledger)
        if reading.endpoint is not None:
            names |= self.ledger.endpoint_columns(reading.endpoint)
            if reading.endpoint == "leukemia_free_survival":
                names |= {"cr_d30"}
        return names

    def claim_columns(self, claim: Claim) -> set[str]:
        """The searchable columns the adopted reading of a claim depends on."""
        out: set[str] = set()
        for name in self.claim_reads(claim):
            out |= self.depends.get(name, set())
        return out

    @staticmethod
    def changed(before: Table, after: Table, columns, patients: list[int]) -> set[str]:
        """Which of ``columns`` differ between two tables, looking at ``patients`` only.

        The record's rules act on each row alone, so a move changes no row
        but those of the patients it touches.
        """
        # Compared as bytes: nan equals nan, and a text value is one of the
        # grid's own objects. Where bytes differ but values do not (0.0 and
        # -0.0, two equal strings), the column is only recomputed needlessly.
        return {column for column in columns
                if before[column][patients].tobytes() != after[column][patients].tobytes()}

    def indices(self, column: str, op: str, value, satisfy: bool = True) -> np.ndarray:
        """Grid indices of a column whose value does (or does not) satisfy an atom."""
        values = self.grids[column].values
        if op == "in":
            hit = np.isin(values, np.asarray(value, dtype=values.dtype))
        elif values.dtype == object:
            hit = values == value if op == "==" else np.zeros(len(values), dtype=bool)
        else:
            hit = _OPS[op](values.astype(float), float(value))
        return np.flatnonzero(hit if satisfy else ~hit)

    def random_state(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A uniformly random search state."""
        return {c: rng.integers(0, len(self.grids[c].values), self.size) for c in self.columns}

    def table(self, state: dict[str, np.ndarray]) -> Table:
        """The visible cohort of a search state."""
        columns, empty = self._fixed(state["group"])
        # The searched columns are fresh arrays (fancy indexing); copy only the others,
        # which the record's rules may change in place.
        table = {k: v if k in self.grids else v.copy() for k, v in columns.items()}
        for name in self.grids:
            if name != "group":
                table[name] = self._raw(name, state, empty)
        return cohort_mod.normalize(table, needs=self.needs)

    def update(self, table: Table, state: dict[str, np.ndarray], moved) -> Table:
        """The visible cohort after a move of the searchable columns ``moved``, from the one before.

        Equal to :meth:`table` of the new state, but only the visible columns
        the move can alter (:attr:`shows`) are built again, and only their
        rules applied; the others are shared with ``table``. A move of the
        groups builds everything again.
        """
        if "group" in moved:
            return self.table(state)
        visible = self.shown_by(moved)
        columns, empty = self._fixed(state["group"])
        out = dict(table)
        for name in visible:
            out[name] = self._raw(name, state, empty) if name in self.grids else \
                columns[name].copy()
        return cohort_mod.normalize(out, only=visible, needs=self.needs)

    def shown_by(self, moved) -> set[str]:
        """The visible columns a move of the searchable columns ``moved`` can alter."""
        return set().union(*(self.shows[c] for c in moved))

    def _raw(self, name: str, state: dict[str, np.ndarray], empty) -> np.ndarray:
        """A searched column's values before the record's rules: a fresh array."""
        values = self.grids[name].values[state[name]]          # fancy indexing: a copy
        if name in empty:
            values[empty[name]] = None if values.dtype == object else np.nan
        return values

    def _fixed(self, group_state: np.ndarray):
        """:meth:`_group_part` of a group assignment, kept for the assignments met lately."""
        key = group_state.tobytes()
        fixed = self._by_groups.get(key)
        if fixed is None:
            if len(self._by_groups) > 256:     # group sizes still settling: keep it small
                self._by_groups.clear()
            fixed = self._by_groups[key] = self._group_part(group_state)
        return fixed

    def _group_part(self, group_state: np.ndarray):
        """What the groups alone decide: the columns they fix, and where searched columns are empty.

        The search moves patients between groups only while the group sizes
        settle, so this is computed once per group assignment, not per move.
        """
        table = {k: v.copy() for k, v in self._base.items()}
        groups = self.grids["group"].values[group_state]
        table["group"] = groups
        for group, attrs in self.ledger.groups.items():
            members = groups == group
            for column, value in attrs.items():
                if table[column].dtype == object:
                    table[column][members] = value
                else:
                    table[column][members] = np.nan if value is None else float(value)
        empty = {name: ~self.compiler.mask(grid.where)(table)
                 for name, grid in self.grids.items() if grid.where}
        return table, empty


class Search:
    """Simulated annealing over one study's cohorts.

    Parameters
    ----------
    ledger : Ledger
    seed : int
        Seed of the random generator; the same seed gives the same cohort.
    max_moves : int
        Moves before the search gives up (deterministic).
    time_budget : float
        Seconds before the search gives up regardless (an error, never a different cohort).
    progress : bool
        Show progress on stderr.
    claims : list of Claim, optional
        The claims to meet (default: every claim of the ledger).
    attempt_moves : int, optional
        Moves one attempt may take before the search starts again from fresh
        random values (keeping the group structure); default :data:`ATTEMPT_MOVES`.

    Attributes
    ----------
    objectives : list of Objective
        The claims, then the timeline rules and stated facts
        (:mod:`cart_lib.reconstruct.objectives`).
    objectives_of : dict of str to list of int
        For each searchable column, the objectives whose value depends on it.
    mover : Mover
        Draws the moves (:mod:`cart_lib.reconstruct.moves`).
    """

    #: Annealing schedule: the lowest temperature, moves without a new best
    #: before going back to the best state, and the temperature it restarts at.
    COLDEST, PATIENCE, REHEAT = 0.1, 3000, 0.5
    #: The temperature the search starts at, and its cooling per move.
    HOTTEST, COOLING = 1.0, 0.999

    def __init__(self, ledger: Ledger, seed: int = 0, max_moves: int = 2_000_000,
                 time_budget: float = TIME_BUDGET, progress: bool = False,
                 claims: list[Claim] | None = None, attempt_moves: int | None = None):
        self.ledger = ledger
        self.space = Space(ledger)
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.max_moves = max_moves
        self.time_budget = time_budget
        self.attempt_moves = ATTEMPT_MOVES if attempt_moves is None else attempt_moves
        self.progress = progress
        self.fast = Evaluator(ledger, fast=True)
        self.exact = Evaluator(ledger, fast=False)
        self.objectives = objectives_mod.build(ledger, self.space, claims)
        self.claims = [o.claim for o in self.objectives if isinstance(o, ClaimObjective)]
        self.objectives_of: dict[str, list[int]] = {col: [] for col in self.space.columns}
        for i, objective in enumerate(self.objectives):
            for col in objective.columns:
                self.objectives_of[col].append(i)
        self.mover = Mover(self.space, self.objectives, self.fast, ledger, self.rng)

    def objective_name(self, i: int) -> str:
        """A claim's id, or a rule's or fact's with its kind, as progress and errors print it."""
        return self.objectives[i].name

    # ------------------------------------------------------------------ losses
    def losses(self, table: Table, which) -> dict[int, float]:
        """The losses of the objectives ``which`` on a cohort."""
        return {i: self.objectives[i].loss(self.fast, table) for i in which}

    def all_met(self, table: Table, which) -> bool:
        """Whether every objective of ``which`` is met, cheapest computed first."""
        objectives = self.objectives
        return all(objectives[i].loss(self.fast, table) == 0
                   for i in sorted(which, key=lambda i: objectives[i].cost))

    def losses_within(self, table: Table, which: list[int], losses: dict[int, float],
                      limit: float) -> dict[int, float] | None:
        """The new losses of ``which``; None once their rise must reach ``limit``.

        Unmet objectives come first (only they can fall), then the met ones,
        cheapest first: a met objective that breaks ends the computation.
        """
        objectives = self.objectives
        order = sorted(which, key=lambda i: (losses[i] == 0, objectives[i].cost))
        can_fall = sum(losses[i] for i in order)
        rise, out = 0.0, {}
        for i in order:
            new = out[i] = objectives[i].loss(self.fast, table)
            rise += new - losses[i]
            can_fall -= losses[i]
            if rise - can_fall >= limit:
                return None
        return out

    def _stale(self, table: Table, candidate: Table, affected: list[int], shown: set[str],
               patients: list[int]) -> tuple[list[int], tuple]:
        """The objectives whose loss a move may have changed; makes ``candidate`` current.

        An objective keeps its loss when the move changed none of the columns
        it reads, or changed only patients outside its population both before
        and after (every statistic is computed over its population). Masks
        over unchanged columns are kept (:meth:`Evaluator.carry`). Also
        returns what :meth:`Evaluator.restore` needs to undo the move.
        """
        objectives = self.objectives
        reading = [i for i in affected if not objectives[i].reads.isdisjoint(shown)]
        populations = {objectives[i].population for i in reading} - {None}
        about = {}                      # population -> whether the move touches one of its patients
        for population in populations:
            mask = self.fast.mask(population, table)
            about[population] = any(mask[p] for p in patients)
        saved = self.fast.carry(candidate, shown)
        for population in populations:
            if not about[population]:
                mask = self.fast.mask(population, candidate)
                about[population] = any(mask[p] for p in patients)
        stale = [i for i in reading if objectives[i].population is None
                 or about[objectives[i].population]]
        return stale, saved

    def run(self) -> Result:
        """Search until every claim matches; raise :class:`SearchError` if none is found.

        Claims are brought in by stages: first those that read only the
        group structure (how many patients in each group, and what groups
        fix), then every claim, starting from the first stage's cohort.
        Without the first stage, moving one patient between groups would
        disturb nearly every claim at once.
        """
        self._start = time.monotonic()
        self._moves = 0
        self._restarts = 0
        self._attempts = 1
        state = self.space.random_state(self.rng)
        self.mover.groups_settled = False
        structure = [i for i, o in enumerate(self.objectives) if o.columns <= {"group"}]
        state = self._anneal(state, structure, final=False)
        self.mover.groups_settled = bool(structure)
        everything = list(range(len(self.objectives)))
        while True:
            found = self._anneal(state, everything, final=True, budget=self.attempt_moves)
            if found is not None:
                state = found
                break
            # This attempt settled in a basin with no cohort: start again from
            # fresh random values, keeping the group structure.
            fresh = self.space.random_state(self.rng)
            fresh["group"] = state["group"]
            state = fresh
            self._attempts += 1
        table = self.space.table(state)
        return Result(table, self._moves, time.monotonic() - self._start, self._restarts,
                      self._attempts)

    def _anneal(self, state, active: list[int], final: bool,
                budget: int | None = None) -> dict[str, np.ndarray] | None:
        """Anneal until the active claims all match; None when ``budget`` moves run out."""
        objectives_of = {col: [i for i in ids if i in set(active)]
                         for col, ids in self.objectives_of.items()}
        table = self.space.table(state)
        losses = self.losses(table, active)
        total = sum(losses.values())
        best_total, best_state = total, {k: v.copy() for k, v in state.items()}
        temperature, since_best, last_report = self.HOTTEST, 0, 0.0
        first_move = self._moves
        unsatisfied = None                      # the unmet objectives, listed again when losses change
        while True:
            if budget is not None and self._moves - first_move >= budget:
                self.best_state = best_state
                return None
            if unsatisfied is None:
                unsatisfied = [i for i, v in losses.items() if v > 0]
            if not unsatisfied:
                if not final:
                    return state
                wrong = [i for i, c in enumerate(self.claims)
                         if not self.exact.claim_result(c, table).adopted.matched]
                if not wrong:
                    self._report(total, [], final=True)
                    return state
                # The fast evaluators disagree with the exact ones (a tie at a
                # rounding edge): count those claims as unmet and go on.
                for i in wrong:
                    losses[i] = 1.0
                total, unsatisfied = sum(losses.values()), None
                continue
            self._moves += 1
            if self._moves > self.max_moves or time.monotonic() - self._start > self.time_budget:
                self._fail(best_state)
            self.mover.table = table
            move = self.mover.propose(state, unsatisfied)
            undo = [(column, patients, [int(state[column][p]) for p in patients])
                    for column, patients, _ in move]
            affected = sorted({i for column, _, _ in move for i in objectives_of[column]})
            if all(old == new for (_, _, old), (_, _, new) in zip(undo, move)) or not affected:
                continue
            for column, patients, new in move:
                state[column][patients] = new
            moved = {c for c, _, _ in move}
            candidate = self.space.update(table, state, moved)
            patients = sorted({p for _, ps, _ in move for p in ps})
            shown = self.space.changed(table, candidate, self.space.shown_by(moved), patients)
            stale, saved = self._stale(table, candidate, affected, shown, patients)
            # Metropolis: accept when the loss rises by less than -T log(u).
            # Drawing u first lets a move be refused as soon as the claims
            # computed so far rise by more than the rest could fall.
            draw = self.rng.random()
            limit = -temperature * math.log(draw) if draw > 0 else math.inf
            fresh = self.losses_within(candidate, stale, losses, limit)
            if fresh is not None:
                changed = {i: losses[i] for i in affected}    # the same sum, in the same order
                changed.update(fresh)
                delta = sum(changed.values()) - sum(losses[i] for i in changed)
            if fresh is not None and delta < limit:
                table, total = candidate, total + delta
                losses.update(changed)
                unsatisfied = None
            else:
                for column, patients, old in reversed(undo):
                    state[column][patients] = old
                self.fast.restore(saved)
            temperature = max(self.COLDEST, temperature * self.COOLING)
            if total < best_total - 1e-9:
                best_total, since_best = total, 0
                best_state = {k: v.copy() for k, v in state.items()}
            else:
                since_best += 1
            if since_best > self.PATIENCE:   # stuck: back to the best cohort, warmed up again
                state = {k: v.copy() for k, v in best_state.items()}
                table = self.space.table(state)
                losses = self.losses(table, active)
                total, temperature, since_best = sum(losses.values()), self.REHEAT, 0
                unsatisfied = None
                self._restarts += 1
            if self.progress and time.monotonic() - last_report > 0.25:
                self._report(total, [i for i, v in losses.items() if v > 0])
                last_report = time.monotonic()

    def _fail(self, best_state) -> None:
        table = self.space.table(best_state)
        losses = self.losses(table, range(len(self.objectives)))
        failing = [self.objective_name(i) for i, v in losses.items() if v > 0]
        self.best_state = best_state
        elapsed = time.monotonic() - self._start
        within = (f"{self.time_budget:g} s (the time budget; {self._moves:,} moves)"
                  if elapsed > self.time_budget else
                  f"{self.max_moves:,} moves (the move limit; {elapsed:.1f} s)")
        raise SearchError(self.ledger.study, f"no cohort found: the claims were not met together "
                                             f"within {within}, which does not prove that none "
                                             f"exists; still unmet at the best cohort found: "
                                             f"{', '.join(failing)}", failing)

    def _report(self, total, unmet, final=False) -> None:
        if not self.progress:
            return
        unmet = list(unmet or [])
        names = ", ".join(self.objective_name(i) for i in unmet[:3]) + \
            (" …" if len(unmet) > 3 else "")
        line = (f"\r[{self.ledger.study}] move {self._moves:>7,}  loss {total:8.2f}  "
                f"unmet {len(unmet):>3}  {time.monotonic() - self._start:5.1f} s  {names}"[:110])
        line = line.ljust(110)
        sys.stderr.write(line + ("\n" if final else ""))
        sys.stderr.flush()
