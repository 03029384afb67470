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

    r_method = ("cmprsk::cuminc() and timepoints(): the estimate and Gray's variance; the "
                "interval on the plain or log-log scale")
    r_packages = (("cmprsk", "r-cran-cmprsk"),)
    r_helpers = r'''
# ------------------------------------------------------------------ cumulative incidence
# cmprsk (Debian: r-cran-cmprsk): cuminc() and timepoints() give the estimate
# and Gray's variance; the interval is on the plain or the log-log scale.

.cuminc <- function(st, pop, at, scale, level, scale_ci) {
  time <- st$time[pop]; status <- st$status[pop]
  none <- c(percent = NaN, level = level, ci_low = NaN, ci_high = NaN)
  if (!length(time) || at * scale > max(time))
    return(list(values = none, broken = character(0), note = "no patient followed that long"))
  fit <- cmprsk::cuminc(time, status, cencode = 0)
  tp <- cmprsk::timepoints(fit, at * scale)
  row <- which(rownames(tp$est) == "1 1")
  f <- if (length(row)) tp$est[row, 1] else 0
  v <- if (length(row)) tp$var[row, 1] else 0
  z <- qnorm(0.5 + level / 200)
  if (scale_ci == "plain") {
    ci <- c(max(0, f - z * sqrt(v)), min(1, f + z * sqrt(v)))
  } else if (f > 0 && f < 1) {
    shift <- z * sqrt(v) / (f * log(f))
    ci <- c(f^exp(-shift), f^exp(shift))
  } else {
    ci <- c(NaN, NaN)
  }
  list(values = c(percent = 100 * f, level = level, ci_low = 100 * ci[1], ci_high = 100 * ci[2]),
       broken = character(0),
       note = sprintf("cmprsk::cuminc(), timepoints(%s): estimate %s, variance %s", .g(at * scale),
                      .g(f), .g(v)))
}
'''

    def events_move(self, reading):
        return "rises"

    def r_lines(self, r, claim, reading):
        return [f".cuminc(.endpoint_status({r.string(reading.endpoint)}), pop, "
                f"{r.number(reading.at)}, {r.number(reading.scale)}, "
                f"{r.number(level_of(claim))}, {r.string(reading.ci or 'log-log')})"]

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
