"""Moves for survival figures: an event earlier or later, or one more or fewer.

A Kaplan-Meier rate or a cumulative incidence at a landmark, or a log-rank
p-value, moves only when an event crosses a time: these moves give a patient
the claim is about an event before a time, or take one away
(:class:`SurvivalMoves`, mixed into :class:`cart_lib.reconstruct.moves.Mover`).
"""

from __future__ import annotations

import math

import numpy as np

from ..stats import statistics
from .draws import pick
from .objectives import atoms

__all__ = ["SurvivalMoves", "moves_events"]


def moves_events(reading) -> bool:
    """Whether a reading's directed moves shift events in time (its statistic says so:
    rates at a landmark and log-rank p-values)."""
    return reading.measure.events_move(reading) is not None


class SurvivalMoves:
    """The survival moves of a :class:`cart_lib.reconstruct.moves.Mover` (its attributes:
    ``space``, ``objectives``, ``fast``, ``ledger``, ``rng``, ``mix``, ``table``)."""

    def event_kinds(self, endpoint: str) -> list[tuple[list, str]]:
        """The ways a patient has an endpoint's event: (atoms of the flag, the day column).

        Overall survival ends in death on the day of last contact; a declared
        endpoint in any of its events. Other endpoints get none.
        """
        searchable = self.space.grids
        if endpoint == "overall_survival":
            kinds = [([("death", "==", 1.0)], "last_contact_day")]
        elif endpoint in self.ledger.endpoints:
            kinds = [([a for a in atoms(k.when, self.ledger) if a[0] in searchable], k.day)
                     for k in self.ledger.endpoints[endpoint].events if isinstance(k.day, str)]
        else:
            kinds = []
        return [(flags, day) for flags, day in kinds if flags and day in searchable]

    def survival_move(self, state, claim: int) -> Move | None:
        """Give a patient of the claim an event before a time, or take one away.

        A rate at a landmark that prints too high (survival) or too low
        (incidence) needs one more event before the landmark, and the
        opposite one event fewer. A log-rank p-value that prints too high
        needs the groups further apart: an earlier event in the group with
        the higher event rate (by the text's direction, else by the current
        one) or a later or no event in the other; too low, the reverse.
        """
        rng, space, mix = self.rng, self.space, self.mix
        item = self.objectives[claim].claim
        reading = item.adopted
        kinds = self.event_kinds(reading.endpoint) if reading.endpoint else []
        if not kinds:
            return None
        computed = self.fast.compute(item, reading, self.table).values
        role = "p" if "p" in item.reads else "percent"
        wrong = [(low, high) for r, _, _, low, high in item.targets if r == role
                 and not low <= computed.get(role, math.nan) < high]
        if not wrong:
            return None
        low, high = wrong[0]
        value = computed.get(role, math.nan)
        declared = self.ledger.endpoints.get(reading.endpoint)
        start = declared.start if declared else 0.0
        time, status = self.fast.endpoint_status(reading.endpoint, self.table)
        event = status == 1
        population = self.fast.mask(reading.population, self.table)
        if role == "percent":
            at = reading.at * reading.scale
            falls = reading.measure.events_move(reading) == "falls"
            more = value >= high if falls else not value >= low
            pool = population & ~(event & (time <= at)) if more else population & event & (time <= at)
            limit = at
        else:
            if len(reading.groups) != 2 or not math.isfinite(value):
                return None
            first = population & self.fast.mask(reading.groups[0], self.table)
            second = population & self.fast.mask(reading.groups[1], self.table)
            if reading.direction:
                first_higher = reading.direction == "first_higher"
            else:
                first_higher = statistics.logrank_observed_minus_expected(
                    time[first], event[first], time[second], event[second]) > 0
            apart = value >= high                     # p too high: separate the groups
            higher, lower = (first, second) if first_higher else (second, first)
            more = rng.random() < 0.5
            pool = (higher if more == apart else lower) & (~event if more else event)
            limit = None
        members = np.flatnonzero(pool)
        if not len(members):
            return None
        i = int(pick(rng, members))
        flags, day = pick(rng, kinds)
        grid = space.grids[day].values
        now = time[i] + start
        if more:                                      # an event, before the landmark or earlier
            bound = (limit + start) if limit is not None else now
            options = np.flatnonzero(grid < bound) if np.isfinite(bound) else np.arange(len(grid))
            if not len(options):
                return None
            changes = [(day, [i], [int(pick(rng, options))])]
            for col, op, target in flags:
                satisfy = space.indices(col, op, target)
                if len(satisfy) and not (satisfy == state[col][i]).any():
                    changes.append((col, [i], [int(pick(rng, satisfy))]))
            return changes
        if rng.random() < mix.drop_event:             # no event
            col, op, target = pick(rng, flags)
            options = space.indices(col, op, target, satisfy=False)
            return [(col, [i], [int(pick(rng, options))])] if len(options) else None
        bound = (limit + start) if limit is not None else now
        options = np.flatnonzero(grid > bound)        # the event later
        return [(day, [i], [int(pick(rng, options))])] if len(options) else None
