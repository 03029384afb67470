"""The moves of the search and of the sampler: how one cohort becomes the next.

A move is a list of ``(column, patients, new grid indices)``: it changes the
search state of a few patients (:class:`cart_lib.reconstruct.search.Space`). The
annealer (:class:`cart_lib.reconstruct.search.Search`) and the sampler
(:mod:`cart_lib.reconstruct.sample`) draw their moves from one :class:`Mover`, and every
probability of a move is named once, in :class:`MoveMix`.

- **A new value** for one patient's column: another patient's (a swap, often
  within the group, which leaves the group's own counts as they are), a
  nearby one on the grid, or any.
- **Focused**: aim at an unmet objective, by a column it depends on and a
  patient it is about; for a broken rule or fact, a patient who breaks it.
- **Directed** (claims): give a patient a printed value; move a value across a
  median, minimum or maximum that prints wrong; make a counted patient meet
  the claim's ``each``; make a patient join or leave the claim's population;
  for a survival rate or cumulative incidence at a landmark, or a log-rank
  p-value, give a patient an event before a time or take one away.
- **Exchange** (claims): swap what a claim counts, or a patient's whole
  course after infusion (:data:`COURSE_COLUMNS`), between a patient the
  claim is about and another of the same group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .draws import REACHES, below, nearby, pick
from .objectives import ClaimObjective, Objective, RuleObjective, atoms
from .survival import SurvivalMoves, moves_events

__all__ = ["COURSE_COLUMNS", "MoveMix", "Mover", "REACHES", "SAMPLER", "SEARCH", "below",
           "nearby", "pick"]

#: A patient's course after infusion: what an exchange may swap whole between two patients.
COURSE_COLUMNS = ("cr_d30", "mrd_negative", "relapse", "relapse_day", "hsct_after_car",
                  "hsct_after_car_day", "death", "death_cause", "lost_to_followup",
                  "last_contact_day")

Move = list[tuple[str, list[int], list[int]]]


@dataclass(frozen=True)
class MoveMix:
    """Every probability of the moves, named once.

    ``swap`` and ``nearby`` are thresholds on one draw: below ``swap`` a new
    value is another patient's, below ``nearby`` a nearby one (numeric
    columns), above it any. The sampler's ``exchange`` is a threshold on the
    same draw too.
    """

    focused: float = 0.85       #: aim at an unmet objective
    directed: float = 0.35      #: then, for a claim, try a directed move
    exchange: float = 0.3       #: then an exchange
    course: float = 0.5         #: an exchange swaps the whole course, not only what is counted
    member: float = 0.7         #: a new value goes to a patient the unmet claim is about
    swap: float = 0.25          #: a new value is another patient's
    nearby: float = 0.7         #: ... or a nearby one
    same_group: float = 0.5     #: a swap stays within the patient's group
    each: float = 0.5           #: a directed move works on the claim's 'each'
    each_event: float = 0.3     #: ... by leaving the count rather than meeting 'each'
    target: float = 0.5         #: a directed move aims at a printed value
    rank: float = 0.5           #: ... across a median, minimum or maximum
    rank_swap: float = 0.5      #: ... by a swap with a patient outside the claim
    join: float = 0.5           #: join the population with the event
    join_without: float = 0.75  #: join it without the event (below this; leave it above)
    survival: float = 0.6       #: a directed move on a survival figure moves an event in time
    drop_event: float = 0.5     #: ... and one that removes events drops one rather than delays it


#: The annealer's mix, and the sampler's (whose draws are not aimed at anything).
SEARCH = MoveMix()
SAMPLER = MoveMix(exchange=0.2, swap=0.45, nearby=0.75)


class Mover(SurvivalMoves):
    """Draws moves for a search state, given the objectives and the current cohort.

    Parameters
    ----------
    space : cart_lib.reconstruct.search.Space
    objectives : list of Objective
    evaluator : Evaluator
        The fast evaluator whose masks the current cohort shares.
    ledger : Ledger
    rng : numpy.random.Generator
    mix : MoveMix

    Attributes
    ----------
    table : Table
        The current visible cohort; set before each move.
    groups_settled : bool
        Once the group sizes are settled, groups only swap.
    """

    def __init__(self, space, objectives: list[Objective], evaluator, ledger, rng,
                 mix: MoveMix = SEARCH):
        self.space, self.objectives, self.fast = space, objectives, evaluator
        self.ledger, self.rng, self.mix = ledger, rng, mix
        self.claims = [i for i, o in enumerate(objectives) if isinstance(o, ClaimObjective)]
        self.course = [c for c in COURSE_COLUMNS if c in space.grids]
        self.table = None
        self.groups_settled = False

    # ------------------------------------------------------------ the annealer's
    def propose(self, state, unsatisfied: list[int]) -> Move:
        """A move of the annealer, aimed at one of the ``unsatisfied`` objectives most often."""
        rng, space, mix = self.rng, self.space, self.mix
        focused = bool(unsatisfied) and rng.random() < mix.focused
        claim = None
        if focused:
            target = pick(rng, unsatisfied)
            if isinstance(self.objectives[target], RuleObjective):
                return self.repair(state, target)
            if rng.random() < mix.directed:
                directed = self.directed(state, target)
                if directed is not None:
                    return directed
            if rng.random() < mix.exchange:
                exchange = self.exchange(state, target)
                if exchange is not None:
                    return exchange
            claim = pick(rng, [i for i in unsatisfied
                               if isinstance(self.objectives[i], ClaimObjective)])
            options = sorted(self.objectives[claim].columns)
            column = pick(rng, options) if options else pick(rng, space.columns)
        else:
            column = pick(rng, space.columns)
        i = below(rng, space.size)
        if claim is not None and rng.random() < mix.member:
            # A patient the unmet claim is about, where it is about some.
            members = np.flatnonzero(self.objectives[claim].focus(self.fast, self.table))
            if len(members):
                i = int(pick(rng, members))
        return self.new_value(state, column, i)

    def new_value(self, state, column: str, i: int) -> Move:
        """Patient ``i`` gets a new value of ``column``: swapped with another patient's, nearby, or any."""
        rng, space, mix = self.rng, self.space, self.mix
        grid, current = space.grids[column], state[column]
        n = len(grid.values)
        kind = rng.random()
        if kind < mix.swap or (column == "group" and self.groups_settled):
            # Swap two patients' values. Once the first stage has settled the
            # group sizes, groups only swap: a size change can only be undone.
            j = below(rng, space.size)
            if column != "group" and rng.random() < mix.same_group:
                # Within the group, a swap leaves the group's own counts as they are.
                mates = np.flatnonzero(state["group"] == state["group"][i])
                j = int(pick(rng, mates))
            return [(column, [i, j], [int(current[j]), int(current[i])])]
        if grid.numeric and kind < mix.nearby:           # a nearby value
            return [(column, [i], [nearby(rng, int(current[i]), n)])]
        return [(column, [i], [below(rng, n)])]         # any value

    def repair(self, state, which: int) -> Move:
        """A move for a broken rule or fact: a patient who breaks it gets a new value of a column it reads."""
        rng, objective = self.rng, self.objectives[which]
        breaking = np.flatnonzero(objective.focus(self.fast, self.table))
        options = sorted(objective.columns - ({"group"} if self.groups_settled else set()))
        if not len(breaking) or not options:
            return self.new_value(state, pick(rng, self.space.columns), below(rng, self.space.size))
        return self.new_value(state, pick(rng, options), int(pick(rng, breaking)))

    # ------------------------------------------------------------ the sampler's
    def sample(self, state, columns: list[str]) -> Move | None:
        """A move of the sampler, aimed at nothing: an exchange, a swap, a nearby or any value."""
        rng, space, mix = self.rng, self.space, self.mix
        kind = rng.random()
        if kind < mix.exchange:
            return self.exchange(state, self.claims[below(rng, len(self.claims))])
        column = pick(rng, columns)
        grid, n = space.grids[column], len(space.grids[column].values)
        i = below(rng, space.size)
        if kind < mix.swap:
            j = below(rng, space.size)
            return [(column, [i, j], [int(state[column][j]), int(state[column][i])])]
        if grid.numeric and kind < mix.nearby:
            return [(column, [i], [nearby(rng, int(state[column][i]), n)])]
        return [(column, [i], [below(rng, n)])]

    # ------------------------------------------------------------ aimed at a claim
    def exchange(self, state, claim: int) -> Move | None:
        """Swap what a claim counts or measures between a patient it is about and one it is not.

        Both patients are of the same group, so the group's own counts stay
        as they are while the claim's subgroup gets another patient's course
        (remission, relapse, death, their days) as a whole: the columns the
        claim counts, or (with probability ``mix.course``) every column of
        the course.
        """
        rng, objective = self.rng, self.objectives[claim]
        columns = objective.outcomes
        if rng.random() < self.mix.course:
            columns = self.course
        if not columns:
            return None
        inside = objective.focus(self.fast, self.table)
        members = np.flatnonzero(inside)
        if not len(members) or inside.all():
            return None
        i = int(pick(rng, members))
        others = np.flatnonzero(~inside & (state["group"] == state["group"][i]))
        if not len(others):
            return None
        j = int(pick(rng, others))
        return [(c, [i, j], [int(state[c][j]), int(state[c][i])]) for c in columns]

    def rank_move(self, state, claim: int, column: str, members: np.ndarray) -> Move | None:
        """Move one value across a median, minimum or maximum that does not print as printed.

        Such a figure moves only when a value crosses it. Take a patient of
        the claim on the wrong side of the printed figure and either swap
        values with a patient outside the claim's population who is on the
        right side (which leaves figures over everyone as they are), or give
        the patient a value on the right side.
        """
        rng, space = self.rng, self.space
        item = self.objectives[claim].claim
        reading = item.adopted
        values_now = self.fast.compute(item, reading, self.table).values
        wrong = [(role, target * reading.scale, low, high)
                 for role, target, _, low, high in item.targets
                 if role in ("median", "min", "max")
                 and not low <= values_now.get(role, math.nan) < high]
        if not wrong:
            return None
        role, goal, low, high = pick(rng, wrong)
        computed = values_now[role] * reading.scale if math.isfinite(values_now[role]) else math.inf
        values = self.table[column]
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
        if len(fits) and rng.random() < self.mix.rank_swap:
            j = int(pick(rng, fits))
            return [(column, [i, j], [int(state[column][j]), int(state[column][i])])]
        grid = space.grids[column].values
        options = np.flatnonzero(grid <= goal) if too_high else np.flatnonzero(grid >= goal)
        if not len(options):
            return None
        return [(column, [i], [int(pick(rng, options))])]

    def directed(self, state, claim: int) -> Move | None:
        """A move aimed at one unmet claim, or None if none applies.

        Give a patient one of the claim's printed values; make a counted
        patient who breaks the claim's ``each`` meet it (or leave the count);
        or make a patient join the claim's population with its event, join
        it without the event, or leave it.
        """
        rng, space, mix = self.rng, self.space, self.mix
        objective = self.objectives[claim]
        if moves_events(objective.claim.adopted) and rng.random() < mix.survival:
            return self.survival_move(state, claim)
        population, event, column, targets = objective.atoms
        if self.groups_settled:
            population = [a for a in population if a[0] != "group"]
        reading = objective.claim.adopted
        members = np.flatnonzero(self.fast.mask(reading.population, self.table))
        if reading.each and rng.random() < mix.each:
            counted = self.fast.mask(reading.population, self.table)
            if reading.event:
                counted = counted & self.fast.mask(reading.event, self.table)
            breaking = np.flatnonzero(counted & ~self.fast.mask(reading.each, self.table))
            if len(breaking):
                i = int(pick(rng, breaking))
                own = [a for a in atoms(reading.each, self.ledger) if a[0] in space.grids]
                if reading.event and rng.random() < mix.each_event:
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
        if targets and rng.random() < mix.target:
            if not len(members):
                return None
            numbers = objective.claim.numbers()
            if {"median", "min", "max"} & set(numbers) and rng.random() < mix.rank:
                return self.rank_move(state, claim, column, members)
            i = int(pick(rng, members))
            goal = pick(rng, targets)
            grid = space.grids[column].values
            return [(column, [i], [int(np.argmin(np.abs(grid - goal)))])]
        if not (population or event):
            return None
        branch = rng.random()
        meet, miss = (population + event, []) if branch < mix.join else \
            (population, event) if branch < mix.join_without else ([], population or event)
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
