"""``km_landmark``: Kaplan-Meier survival at a landmark time ("1-year OS 43% (95% CI 28-57%)")."""

from __future__ import annotations

import math

from ..stats import intervals
from ._base import Computed, Measure, register


def check_interval(claim, reading, allowed=intervals.KM_INTERVALS,
                   what: str = "Kaplan-Meier interval") -> list[tuple[str, str]]:
    """A figure that prints an interval must name its method (``ci``), one of ``allowed``."""
    if reading.ci is None:
        if {"ci_low", "ci_high"} & set(claim.reads):
            return [("ci", f"the figure prints an interval: name its method "
                           f"({', '.join(allowed)}), or list them as readings")]
        return []
    if reading.ci not in allowed:
        return [("ci", f"{reading.ci!r} is not a {what}; use one of {list(allowed)}")]
    return []


#: Why a Kaplan-Meier figure is not inverted (:meth:`Measure.why_not_invertible`).
KM_NOT_INVERTIBLE = ("a Kaplan-Meier estimate and its Greenwood interval depend on every "
                     "patient's time and censoring, not on a count or a table: there is no "
                     "finite list of configurations to enumerate")


def level_of(claim) -> float:
    """The interval's printed level in percent (95 when not printed)."""
    return claim.numbers()["level"].value if "level" in claim.reads else 95.0


@register
class KMLandmark(Measure):
    """Kaplan-Meier estimate of an endpoint at time ``at``, in percent, with its interval."""

    name = "km_landmark"
    roles = frozenset({"percent", "level", "ci_low", "ci_high"})
    required = ("population", "endpoint", "at")
    optional = frozenset({"ci", "unit", "rounding"})
    cost = 3

    r_method = "summary(survfit(Surv(time, event) ~ 1, conf.type = ci), times = at)"

    def problems(self, claim, reading, ledger):
        return check_interval(claim, reading)

    def events_move(self, reading):
        return "falls"

    def r_lines(self, r, claim, reading):
        return [f".km_landmark(.endpoint({r.string(reading.endpoint)}), pop, "
                f"{r.number(reading.at)}, {r.number(reading.scale)}, "
                f"{r.number(level_of(claim))}, {r.string(reading.ci or 'log-log')})"]

    def why_not_invertible(self, reading) -> str:
        return KM_NOT_INVERTIBLE

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        time, event = ctx.endpoint(reading.endpoint, table)
        time, event = time[population], event[population]
        level = level_of(claim)
        if not len(time):
            return Computed({"percent": math.nan, "level": level, "ci_low": math.nan,
                             "ci_high": math.nan}, 0, "no patients")
        at = reading.at * reading.scale
        survival, low, high = intervals.km_at(time, event, at, level / 100,
                                              reading.ci or "log-log")
        at_risk = int((time >= at).sum())
        return Computed({"percent": 100 * survival, "level": level, "ci_low": 100 * low,
                         "ci_high": 100 * high}, 0,
                        f"n = {len(time)}, events = {int(event.sum())}, "
                        f"{at_risk} at risk at day {at:g}")
