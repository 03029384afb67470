"""The search for a cohort that satisfies every claim of a study at once.

A cohort is found, not typed. The ledger says how many patients there are
(``size_claim``), what each reporting group fixes (``groups``) and which
values each reported column may take (``record``); every other column stays
empty. The search state gives each patient an index into each column's grid;
the visible cohort is built from it by the record's consistency rules
(:func:`cart_lib.cohort.normalize`), so every state is a valid patient record.

The search is simulated annealing on the sum of the claims' losses
(:func:`cart_lib.evaluate.loss`), zero exactly when every claim matches.
Most moves are *focused*: pick an unsatisfied claim, one of the columns it
reads, and one patient, and give that patient a new value (a random one, a
nearby one, or another patient's, by swapping, often with a patient of the
same group, which leaves the group's own counts as they are). Directed moves aim at one
unmet claim: give a patient a printed value, move a value across a median,
minimum or maximum that prints wrong, make a counted patient meet the claim's
``each``, or exchange what the claim counts (remission, relapse, death, their
days) between a patient of its subgroup and another of the same group. Only
the claims that read a column whose value changed, for a patient of their
population before or after the move, are evaluated again, the masks of
expressions over unchanged columns are kept (:meth:`Evaluator.carry`), and
only the visible columns a move can alter are built again (:meth:`Space.update`). A move
is accepted by the Metropolis rule, with its random threshold drawn first:
the claims it may have changed are computed unmet first, then cheapest
first, and the move is refused as soon as their rise can no longer stay
under the threshold, so that most refused moves compute only a claim or
two. The record's timeline rules and the facts the text states are objectives
like the claims (their loss: the patients who break them). A state of zero loss is checked once more
with the book's own evaluators (lifelines, scipy) before it is accepted.

For a given ledger, seed and pinned environment the search is deterministic:
it stops after a fixed number of moves, not after a time; the time budget
only ends a search that has run too long, with an error.
"""

from __future__ import annotations

import ast
import math
from decimal import Decimal
import sys
import time
from dataclasses import dataclass

import numpy as np

from . import cohort as cohort_mod
from . import expressions
from .cohort import Table
from .record import DAY_OF, EXCLUDED_BY, NEEDS_FLAG
from .errors import SearchError
from .evaluate import Evaluator, loss, matches
from .ledger import Claim, Domain, Ledger, Statistic, expand_names
from .record import COLUMN_BY_NAME


#: How far a "nearby value" move reaches, in grid steps.
REACHES = (1, 2, 5, 15, 50)


def below(rng: np.random.Generator, n: int) -> int:
    """A uniform random integer in ``[0, n)``.

    One float draw: a third of the cost of ``rng.integers(n)`` for a single
    value, and the search draws several on every move.

    >>> rng = np.random.default_rng(0)
    >>> sorted({below(rng, 3) for _ in range(100)})
    [0, 1, 2]
    """
    return int(rng.random() * n)


def pick(rng: np.random.Generator, items):
    """One of ``items`` (a sequence or an array), uniformly at random."""
    return items[below(rng, len(items))]


def nearby(rng: np.random.Generator, index: int, n: int) -> int:
    """A grid index up to :data:`REACHES` steps from ``index``, kept inside ``[0, n)``."""
    reach = pick(rng, REACHES)
    return min(max(index + below(rng, 2 * reach + 1) - reach, 0), n - 1)


#: A patient's course after infusion: what an exchange may swap whole between two patients.
COURSE_COLUMNS = ("cr_d30", "mrd_negative", "relapse", "relapse_day", "hsct_after_car",
                  "hsct_after_car_day", "death", "death_cause", "lost_to_followup",
                  "last_contact_day")
#: Moves one attempt may take before the search starts again from fresh values.
ATTEMPT_MOVES = 45_000
#: Seconds a search may run before it gives up with an error (never a different cohort).
TIME_BUDGET = 600.0


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
    if dtype == "bool":
        return Grid(name, np.array([0.0, 1.0]), False, domain.where)
    if dtype == "str":
        return Grid(name, np.array(domain.values, dtype=object), False, domain.where)
    if domain.log:
        low, high = math.log10(domain.min), math.log10(domain.max)
        count = int(round((high - low) / domain.step)) + 1
        steps = np.array([float(f"{10 ** (low + domain.step * k):.4g}") for k in range(count)])
    else:
        count = int(round((domain.max - domain.min) / domain.step)) + 1
        steps = domain.min + domain.step * np.arange(count)
    return Grid(name, np.round(steps, 10), True, domain.where)


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
    (:func:`cart_lib.printed.rounds_to`).
    """
    steps = printed_steps(grid.name, ledger)
    if not grid.numeric or not steps:
        return grid
    finest = Decimal(str(min(steps)))
    keep = [v for v in grid.values
            if (Decimal(repr(float(v))) / finest) % 1 != Decimal("0.5")]
    return Grid(grid.name, np.array(keep, dtype=float), True, grid.where)


def atoms(text: str | None, ledger: Ledger) -> list[tuple[str, str, object]]:
    """The conjuncts of an expression that name one column each, variables expanded.

    Returns (column, operator, value) triples: ``("cr_d30", "==", 1.0)`` for
    ``cr_d30``, ``("relapse", "==", 0.0)`` for ``not relapse``,
    ``("donor", "in", [...])``, ``("crs_grade", ">=", 3)``. Parts that are not
    such atoms (an ``or``, a comparison of two columns) are left out: the
    moves built on atoms only need to be often right, not always.
    """
    if not text:
        return []
    out: list[tuple[str, str, object]] = []

    def walk(node, negate=False):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) and not negate:
            for value in node.values:
                walk(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            walk(node.operand, not negate)
        elif isinstance(node, ast.Name):
            var = ledger.variables.get(node.id)
            if var is not None and var.expr:
                walk(ast.parse(var.expr, mode="eval").body, negate)
            elif var is not None:
                out.append((var.column, "==", 0.0 if negate else 1.0))
            else:
                out.append((node.id, "==", 0.0 if negate else 1.0))
        elif (isinstance(node, ast.Compare) and len(node.ops) == 1 and not negate
              and isinstance(node.left, ast.Name)):
            op, right = node.ops[0], node.comparators[0]
            symbol = {ast.Eq: "==", ast.In: "in", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
                      ast.GtE: ">="}.get(type(op))
            if symbol is None:
                return
            try:
                value = [expressions._constant(e) for e in right.elts] if symbol == "in" \
                    else expressions._constant(right)
            except (expressions.ExpressionError, AttributeError):
                return
            out.append((node.left.id, symbol, value))

    walk(ast.parse(text, mode="eval").body)
    return out


_OPS = {"==": np.equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
        ">=": np.greater_equal}


class Space:
    """The searchable space of one study's cohorts, built from its ledger."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        size_claim = ledger.claim(ledger.size_claim)
        self.size = int(size_claim.numbers()["count"].value)
        self.groups = list(ledger.groups)
        self.extra = {k: v.dtype for k, v in ledger.columns.items()}
        self.grids: dict[str, Grid] = {"group": Grid("group", np.array(self.groups, dtype=object),
                                                     False, None)}
        for name, domain in ledger.record.items():
            dtype = COLUMN_BY_NAME[name].dtype if name in COLUMN_BY_NAME else self.extra[name]
            self.grids[name] = _without_ties(_grid(name, domain, dtype), ledger)
        self.columns = list(self.grids)
        self.compiler = ledger.compiler()
        self._base = cohort_mod.empty(self.size, self.extra)
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
        for column, flag, _ in NEEDS_FLAG:    # in rule order, so chains close
            deps[column] |= deps[flag]
        for column, flag in EXCLUDED_BY:
            deps[column] |= deps[flag]
        for column, flag in DAY_OF.items():
            # An event after last contact, or on or after death, is not observed:
            # the flag and its day are built together.
            both = deps[column] | deps[flag] | deps["last_contact_day"] | deps["death"]
            deps[column] = deps[flag] = both
        for column, flag, _ in NEEDS_FLAG:    # what depends on those flags, again
            deps[column] |= deps[flag]
        return deps

    def claim_reads(self, claim: Claim) -> set[str]:
        """The visible columns the adopted reading of a claim reads."""
        reading = claim.adopted
        names: set[str] = set()
        for text in reading.expressions().values():
            names |= expand_names(expressions.names(text), self.ledger)
        if reading.endpoint is not None:
            names |= cohort_mod.ENDPOINT_COLUMNS[reading.endpoint.value]
            if reading.endpoint.value == "leukemia_free_survival":
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
        return cohort_mod.normalize(table)

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
        return cohort_mod.normalize(out, only=visible)

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
    attempt_moves : int
        Moves one attempt may take before the search starts again from fresh
        random values (keeping the group structure).
    time_budget : float
        Seconds before the search gives up regardless (an error, never a different cohort).
    progress : bool
        Show progress on stderr.
    """

    #: Annealing schedule: the lowest temperature, moves without a new best
    #: before going back to the best state, and the temperature it restarts at.
    COLDEST, PATIENCE, REHEAT = 0.1, 3000, 0.5
    #: The temperature the search starts at, and its cooling per move.
    HOTTEST, COOLING = 1.0, 0.999
    #: How moves are chosen: aimed at an unmet claim, directed, an exchange,
    #: and a swap within the group.
    FOCUSED, DIRECTED, EXCHANGE, SAME_GROUP = 0.85, 0.35, 0.3, 0.5
    #: How often an exchange swaps two patients' whole course (:data:`COURSE_COLUMNS`)
    #: rather than only what the claim counts: a course is consistent in itself, so it
    #: moves between subgroups without breaking a timeline rule.
    COURSE = 0.5
    #: Objectives that cost more than a count to compute.
    COST = {Statistic.median: 2, Statistic.range: 2, Statistic.km_median: 3,
            Statistic.exact_ci: 3, Statistic.p_value: 4, Statistic.no_difference: 4}

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
        self.claims = [c for c in (claims if claims is not None else ledger.claims)
                       if c.adopted.statistic is not Statistic.definition]
        self.columns_of = [self.space.claim_columns(c) for c in self.claims]
        self.atoms = [self._claim_atoms(c) for c in self.claims]
        self.outcomes = [self._outcome_columns(c) for c in self.claims]
        # Besides the claims, every cohort obeys the record's timeline rules
        # and the facts the text states (cart_lib.record.Rule): each is an
        # objective whose loss is the number of patients breaking it.
        self.rules = list(ledger.cohort_rules())
        self.course = [c for c in COURSE_COLUMNS if c in self.space.grids]
        rule_reads = [expand_names(expressions.names(r.population) | expressions.names(r.holds),
                                   ledger) for r in self.rules]
        self.columns_of += [set().union(*(self.space.depends.get(n, set()) for n in reads))
                            for reads in rule_reads]
        # What each objective reads of the visible cohort, and the patients it
        # is about: a move that changes neither leaves its loss as it was.
        self.reads_of = [self.space.claim_reads(c) for c in self.claims] + rule_reads
        self.population_of = [c.adopted.population for c in self.claims]
        self.population_of += [None for _ in self.rules]
        # A rough cost of computing each objective, to compute cheap ones first.
        self.cost = [self.COST.get(c.adopted.statistic, 1) for c in self.claims]
        self.cost += [0 for _ in self.rules]
        self.claims_of: dict[str, list[int]] = {col: [] for col in self.space.columns}
        for i, cols in enumerate(self.columns_of):
            for col in cols:
                self.claims_of[col].append(i)

    def objective_name(self, i: int) -> str:
        """A claim's id, or a rule's or fact's, as progress and errors print it."""
        return self.claims[i].id if i < len(self.claims) else \
            f"{self.rules[i - len(self.claims)].id} ({self.rules[i - len(self.claims)].source})"

    def _claim_atoms(self, claim: Claim):
        """For the directed moves: the searchable atoms of a claim's event, and its target values."""
        reading = claim.adopted
        searchable = set(self.space.columns)
        population = [a for a in atoms(reading.population, self.ledger) if a[0] in searchable]
        event = [a for a in atoms(reading.event, self.ledger) + atoms(reading.each, self.ledger)
                 if a[0] in searchable]
        column = reading.variable if reading.variable in searchable else (
            "last_contact_day" if reading.endpoint is not None else None)
        targets = []
        if column is not None and self.space.grids[column].numeric:
            for role, token in claim.numbers().items():
                if role in ("median", "min", "max", "value"):
                    targets.append(token.value * reading.scale)
        return population, event, column, targets

    def _outcome_columns(self, claim: Claim) -> list[str]:
        """The searchable columns a claim counts or measures, less those choosing its patients."""
        reading = claim.adopted
        names: set[str] = set()
        for text in (reading.event, reading.each, reading.variable):
            if text:
                names |= expand_names(expressions.names(text), self.ledger)
        if reading.endpoint is not None:
            names |= cohort_mod.ENDPOINT_COLUMNS[reading.endpoint.value]
        chosen: set[str] = set()
        if reading.population:
            for name in expand_names(expressions.names(reading.population), self.ledger):
                chosen |= self.space.depends.get(name, set())
        out: set[str] = set()
        for name in names:
            out |= self.space.depends.get(name, set())
        return sorted(out - chosen - {"group"})

    # ------------------------------------------------------------------ core
    def _loss(self, i: int, table: Table) -> float:
        """The loss of one objective: a claim's, or the patients breaking a rule or fact."""
        if i < len(self.claims):
            claim = self.claims[i]
            return loss(claim, self.fast.compute(claim, claim.adopted, table))
        return float(np.count_nonzero(self._breaking(i, table)))

    def _breaking(self, i: int, table: Table) -> np.ndarray:
        """Mask of the patients who break rule or fact objective ``i``."""
        rule = self.rules[i - len(self.claims)]
        return self.fast.mask(rule.population, table) & ~self.fast.mask(rule.holds, table)

    def _losses(self, table: Table, which) -> dict[int, float]:
        return {i: self._loss(i, table) for i in which}

    def _all_met(self, table: Table, which) -> bool:
        """Whether every objective of ``which`` is met, cheapest computed first."""
        return all(self._loss(i, table) == 0 for i in sorted(which, key=self.cost.__getitem__))

    def _losses_within(self, table: Table, which: list[int], losses: dict[int, float],
                       limit: float) -> dict[int, float] | None:
        """The new losses of ``which``; None once their rise must reach ``limit``.

        Unmet objectives come first (only they can fall), then the met ones,
        cheapest first: a met objective that breaks ends the computation.
        """
        order = sorted(which, key=lambda i: (losses[i] == 0, self.cost[i]))
        can_fall = sum(losses[i] for i in order)
        rise, out = 0.0, {}
        for i in order:
            new = out[i] = self._loss(i, table)
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
        reading = [i for i in affected if not self.reads_of[i].isdisjoint(shown)]
        populations = {self.population_of[i] for i in reading} - {None}
        about = {}                      # population -> whether the move touches one of its patients
        for population in populations:
            mask = self.fast.mask(population, table)
            about[population] = any(mask[p] for p in patients)
        saved = self.fast.carry(candidate, shown)
        for population in populations:
            if not about[population]:
                mask = self.fast.mask(population, candidate)
                about[population] = any(mask[p] for p in patients)
        stale = [i for i in reading if self.population_of[i] is None
                 or about[self.population_of[i]]]
        return stale, saved

    def _propose(self, state, unsatisfied: list[int]) -> list[tuple[str, list[int], list[int]]]:
        """Choose a move: a list of (column, patients, new grid indices)."""
        rng, space = self.rng, self.space
        focused = bool(unsatisfied) and rng.random() < self.FOCUSED
        claim = None
        if focused:
            target = pick(rng, unsatisfied)
            if target >= len(self.claims):
                return self._repair(state, target)
            if rng.random() < self.DIRECTED:
                directed = self._directed(state, target)
                if directed is not None:
                    return directed
            if rng.random() < self.EXCHANGE:
                exchange = self._exchange(state, target)
                if exchange is not None:
                    return exchange
            claim = pick(rng, [i for i in unsatisfied if i < len(self.claims)])
            options = sorted(self.columns_of[claim])
            column = pick(rng, options) if options else pick(rng, space.columns)
        else:
            column = pick(rng, space.columns)
        i = below(rng, space.size)
        if claim is not None and rng.random() < 0.7:
            # A patient the unmet claim is about, where it is about some.
            members = np.flatnonzero(self.fast.mask(self.claims[claim].adopted.population,
                                                    self._table))
            if len(members):
                i = int(pick(rng, members))
        return self._new_value(state, column, i)

    def _new_value(self, state, column: str, i: int) -> list[tuple[str, list[int], list[int]]]:
        """Patient ``i`` gets a new value of ``column``: swapped with another patient's, nearby, or any."""
        rng, space = self.rng, self.space
        grid, current = space.grids[column], state[column]
        n = len(grid.values)
        kind = rng.random()
        if kind < 0.25 or (column == "group" and self._groups_settled):
            # Swap two patients' values. Once the first stage has settled the
            # group sizes, groups only swap: a size change can only be undone.
            j = below(rng, space.size)
            if column != "group" and rng.random() < self.SAME_GROUP:
                # Within the group, a swap leaves the group's own counts as they are.
                mates = np.flatnonzero(state["group"] == state["group"][i])
                j = int(pick(rng, mates))
            return [(column, [i, j], [int(current[j]), int(current[i])])]
        if grid.numeric and kind < 0.7:                   # a nearby value
            return [(column, [i], [nearby(rng, int(current[i]), n)])]
        return [(column, [i], [below(rng, n)])]    # any value

    def _repair(self, state, which: int) -> list[tuple[str, list[int], list[int]]]:
        """A move for a broken rule or fact: a patient who breaks it gets a new value of a column it reads."""
        rng = self.rng
        breaking = np.flatnonzero(self._breaking(which, self._table))
        options = sorted(self.columns_of[which] - ({"group"} if self._groups_settled else set()))
        if not len(breaking) or not options:
            return self._new_value(state, pick(rng, self.space.columns), below(rng, self.space.size))
        return self._new_value(state, pick(rng, options), int(pick(rng, breaking)))

    def _exchange(self, state, claim: int):
        """Swap what a claim counts or measures between a patient it is about and one it is not.

        Both patients are of the same group, so the group's own counts stay
        as they are while the claim's subgroup gets another patient's course
        (remission, relapse, death, their days) as a whole: the columns the
        claim counts, or (with probability :attr:`COURSE`) every column of
        the course.
        """
        rng = self.rng
        columns = self.outcomes[claim]
        if rng.random() < self.COURSE:
            columns = self.course
        if not columns:
            return None
        inside = self.fast.mask(self.claims[claim].adopted.population, self._table)
        members = np.flatnonzero(inside)
        if not len(members) or inside.all():
            return None
        i = int(pick(rng, members))
        others = np.flatnonzero(~inside & (state["group"] == state["group"][i]))
        if not len(others):
            return None
        j = int(pick(rng, others))
        return [(c, [i, j], [int(state[c][j]), int(state[c][i])]) for c in columns]

    def _rank_move(self, state, claim: int, column: str, members: np.ndarray):
        """Move one value across a median, minimum or maximum that does not print as printed.

        Such a figure moves only when a value crosses it. Take a patient of
        the claim on the wrong side of the printed figure and either swap
        values with a patient outside the claim's population who is on the
        right side (which leaves figures over everyone as they are), or give
        the patient a value on the right side.
        """
        rng, space = self.rng, self.space
        item = self.claims[claim]
        reading = item.adopted
        values_now = self.fast.compute(item, reading, self._table).values
        wrong = [(role, target * reading.scale, low, high)
                 for role, target, _, low, high in item.targets
                 if role in ("median", "min", "max")
                 and not low <= values_now.get(role, math.nan) < high]
        if not wrong:
            return None
        role, goal, low, high = pick(rng, wrong)
        computed = values_now[role] * reading.scale if math.isfinite(values_now[role]) else math.inf
        values = self._table[column]
        too_high = computed >= high * reading.scale
        if role == "max" and too_high or role == "min" and not too_high:
            side = members[values[members] == computed]       # the patients holding the extreme
        else:
            side = members[values[members] > goal] if too_high else members[values[members] < goal]
        if not len(side):
            return None
        i = int(pick(rng, side))
        outside = np.ones(space.size, dtype=bool)
        outside[members] = False
        fits = np.flatnonzero(outside & ((values <= goal) if too_high else (values >= goal)))
        if len(fits) and rng.random() < 0.5:
            j = int(pick(rng, fits))
            return [(column, [i, j], [int(state[column][j]), int(state[column][i])])]
        grid = space.grids[column].values
        options = np.flatnonzero(grid <= goal) if too_high else np.flatnonzero(grid >= goal)
        if not len(options):
            return None
        return [(column, [i], [int(pick(rng, options))])]

    def _directed(self, state, claim: int):
        """A move aimed at one unmet claim, or None if none applies.

        Give a patient one of the claim's printed values; make a counted
        patient who breaks the claim's ``each`` meet it (or leave the count);
        or make a patient join the claim's population with its event, join
        it without the event, or leave it.
        """
        rng, space = self.rng, self.space
        population, event, column, targets = self.atoms[claim]
        if self._groups_settled:
            population = [a for a in population if a[0] != "group"]
        reading = self.claims[claim].adopted
        members = np.flatnonzero(self.fast.mask(reading.population, self._table))
        if reading.each and rng.random() < 0.5:
            counted = self.fast.mask(reading.population, self._table)
            if reading.event:
                counted = counted & self.fast.mask(reading.event, self._table)
            breaking = np.flatnonzero(counted & ~self.fast.mask(reading.each, self._table))
            if len(breaking):
                i = int(pick(rng, breaking))
                own = [a for a in atoms(reading.each, self.ledger) if a[0] in space.grids]
                if reading.event and rng.random() < 0.3:
                    own = [a for a in atoms(reading.event, self.ledger) if a[0] in space.grids]
                    if own:
                        col, op, value = pick(rng, own)
                        options = space.indices(col, op, value, satisfy=False)
                        if len(options):
                            return [(col, [i], [int(pick(rng, options))])]
                    return None
                changes = []
                for col, op, value in own:
                    options = space.indices(col, op, value)
                    if len(options) and not (options == state[col][i]).any():
                        changes.append((col, [i], [int(pick(rng, options))]))
                return changes or None
        if targets and rng.random() < 0.5:
            if not len(members):
                return None
            numbers = self.claims[claim].numbers()
            if {"median", "min", "max"} & set(numbers) and rng.random() < 0.5:
                return self._rank_move(state, claim, column, members)
            i = int(pick(rng, members))
            goal = pick(rng, targets)
            grid = space.grids[column].values
            return [(column, [i], [int(np.argmin(np.abs(grid - goal)))])]
        if not (population or event):
            return None
        branch = rng.random()
        meet, miss = (population + event, []) if branch < 0.5 else \
            (population, event) if branch < 0.75 else ([], population or event)
        # Joining the population takes a patient outside it; leaving, one inside.
        inside = np.zeros(space.size, dtype=bool)
        inside[members] = True
        pool = np.flatnonzero(inside if not meet else ~inside) if population else \
            np.arange(space.size)
        if not len(pool):
            pool = np.arange(space.size)
        i = int(pick(rng, pool))
        changes = []
        for col, op, value in meet:                   # patient i meets these atoms
            options = space.indices(col, op, value)
            if len(options) and not (options == state[col][i]).any():
                changes.append((col, [i], [int(pick(rng, options))]))
        if miss:                                      # and misses one of these
            col, op, value = pick(rng, miss)
            options = space.indices(col, op, value, satisfy=False)
            if len(options):
                changes.append((col, [i], [int(pick(rng, options))]))
        return changes or None

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
        self._groups_settled = False
        structure = [i for i, cols in enumerate(self.columns_of) if cols <= {"group"}]
        state = self._anneal(state, structure, final=False)
        self._groups_settled = bool(structure)
        everything = list(range(len(self.columns_of)))
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
        claims_of = {col: [i for i in ids if i in set(active)] for col, ids in self.claims_of.items()}
        table = self.space.table(state)
        losses = self._losses(table, active)
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
            self._table = table
            move = self._propose(state, unsatisfied)
            undo = [(column, patients, [int(state[column][p]) for p in patients])
                    for column, patients, _ in move]
            affected = sorted({i for column, _, _ in move for i in claims_of[column]})
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
            fresh = self._losses_within(candidate, stale, losses, limit)
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
                losses = self._losses(table, active)
                total, temperature, since_best = sum(losses.values()), self.REHEAT, 0
                unsatisfied = None
                self._restarts += 1
            if self.progress and time.monotonic() - last_report > 0.25:
                self._report(total, [i for i, v in losses.items() if v > 0])
                last_report = time.monotonic()

    def _fail(self, best_state) -> None:
        table = self.space.table(best_state)
        losses = self._losses(table, range(len(self.columns_of)))
        failing = [self.objective_name(i) for i, v in losses.items() if v > 0]
        self.best_state = best_state
        elapsed = time.monotonic() - self._start
        why = (f"the time budget of {self.time_budget:g} s ran out"
               if elapsed > self.time_budget else f"the limit of {self.max_moves:,} moves was reached")
        raise SearchError(self.ledger.study, f"no cohort found: {why} after {self._moves:,} moves "
                                             f"({elapsed:.1f} s), which does not prove that none "
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
