"""``km_median``: the Kaplan-Meier median of an endpoint, with the range of its times."""

from __future__ import annotations

import math

import numpy as np

from ..stats import intervals, statistics
from ._base import Computed, Measure, register
from .km_landmark import KM_NOT_INVERTIBLE, check_interval, level_of


def flat_at_half(times: np.ndarray, at_risk: np.ndarray, events: np.ndarray) -> bool:
    """Whether a Kaplan-Meier curve, given by its steps, sits at exactly one half somewhere.

    >>> flat_at_half(*statistics.km_steps([1., 2., 3., 4.], [True, True, False, True]))
    True
    >>> flat_at_half(*statistics.km_steps([1., 2., 3.], [True, True, True]))
    False
    """
    survival = np.cumprod(1.0 - events / at_risk)
    return bool(np.any(np.abs(survival - 0.5) < 1e-12))


@register
class KMMedian(Measure):
    """Kaplan-Meier median of an endpoint in the population, its interval, and the range of times.

    The interval (roles ``ci_low``, ``ci_high``) is R's: the times whose
    Greenwood interval of survival (``ci``: plain, log or log-log) contains one half.
    """

    name = "km_median"
    roles = frozenset({"median", "min", "max", "level", "ci_low", "ci_high"})
    required = ("population", "endpoint")
    optional = frozenset({"unit", "rounding", "ci"})
    percent_roles = frozenset({"level"})

    r_method = ("survfit(Surv(time, event) ~ 1): the first time its survival is at most one "
                "half (survival's quantile() is noted where it differs); min() and max() of "
                "the times; the interval from quantile(survfit(conf.type = ci), 0.5)")

    def problems(self, claim, reading, ledger):
        return check_interval(claim, reading)

    def r_lines(self, r, claim, reading):
        interval = "" if reading.ci is None else \
            f", {r.number(level_of(claim))}, {r.string(reading.ci)}"
        return [f".km_median(.endpoint({r.string(reading.endpoint)}), pop, "
                f"{r.number(reading.scale)}{interval})"]

    def why_not_invertible(self, reading) -> str:
        return KM_NOT_INVERTIBLE
    cost = 3
    fast_differs = True

    def compute(self, ctx, claim, reading, table) -> Computed:
        population = ctx.mask(reading.population, table)
        time, event = ctx.endpoint(reading.endpoint, table)
        time, event = time[population], event[population]
        if not len(time):
            return Computed({"median": math.nan, "min": math.nan, "max": math.nan}, 0,
                            "no patients")
        steps = statistics.km_steps(time, event)
        median = statistics.km_median_of_steps(*steps) if ctx.fast else \
            statistics.km_median(time, event)
        # A curve that sits flat at exactly one half has no single median:
        # lifelines takes the time it reaches one half, R's survival package
        # the midpoint of the flat stretch. A match may not rest on either.
        flat = int(flat_at_half(*steps))
        out = Computed({"median": median / reading.scale, "min": float(time.min()) / reading.scale,
                        "max": float(time.max()) / reading.scale}, flat,
                       f"n = {len(time)}, events = {int(event.sum())}"
                       + (", flat at one half" if flat else ""))
        if reading.ci is not None:
            level = level_of(claim)
            low, high = intervals.km_median_ci(time, event, level / 100, reading.ci)
            out.values.update(level=level, ci_low=low / reading.scale, ci_high=high / reading.scale)
        out.curve = steps
        return out

    def time_span(self, claim, reading, holds):
        return {"low": holds.get("min"), "high": holds.get("max")}
