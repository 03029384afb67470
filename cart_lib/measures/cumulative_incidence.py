"""``cumulative_incidence``: the Aalen-Johansen cumulative incidence of an event at a landmark.

"1-year cumulative incidence of relapse 30% (95% CI 15-47%)", with a competing
event (death in remission) declared with the endpoint under the ledger's
``endpoints``. The interval is Gray's variance on the plain or log-log scale
(:func:`cart_lib.intervals.cumulative_incidence`, as R's ``cmprsk`` computes it).
"""

from __future__ import annotations

import math

from ..stats import intervals
from ._base import Computed, Measure, register
from .km_landmark import check_interval, level_of


@register
class CumulativeIncidence(Measure):
    """Cumulative incidence of an endpoint's event at time ``at``, in percent, with its interval."""

    name = "cumulative_incidence"
    roles = frozenset({"percent", "level", "ci_low", "ci_high"})
    required = ("population", "endpoint", "at")
    optional = frozenset({"ci", "unit", "rounding"})
    cost = 3

    def problems(self, claim, reading, ledger):
        return check_interval(claim, reading, intervals.CIF_INTERVALS,
                              "cumulative incidence interval")

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        time, status = ctx.endpoint_status(reading.endpoint, table)
        time, status = time[population], status[population]
        level = level_of(claim)
        at = reading.at * reading.scale
        incidence, low, high = intervals.cumulative_incidence(time, status, at, level / 100,
                                                              reading.ci or "log-log")
        if math.isnan(incidence):
            return Computed({"percent": math.nan, "level": level, "ci_low": math.nan,
                             "ci_high": math.nan}, 0, "no patient followed that long")
        return Computed({"percent": 100 * incidence, "level": level, "ci_low": 100 * low,
                         "ci_high": 100 * high}, 0,
                        f"n = {len(time)}, events = {int((status == 1).sum())}, competing "
                        f"= {int((status == 2).sum())}, at day {at:g}")
