"""Confidence intervals as papers print them: proportions by five methods, Kaplan-Meier by three.

Proportions come from statsmodels (:func:`statsmodels.stats.proportion.proportion_confint`),
under the names papers use: Clopper-Pearson, Wilson, Wald, Jeffreys and
Agresti-Coull. Kaplan-Meier survival at a landmark and the Kaplan-Meier
median come with the Greenwood intervals of R's ``survfit`` (``conf.type``
``plain``, ``log`` or ``log-log``). lifelines gives only the log-log
interval (its "exponential Greenwood"), and papers print all three, so the
Greenwood sum is computed here from the curve's steps
(:func:`cart_lib.stats.statistics.km_steps`); the tests compare every interval
with R's output.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from .statistics import exact_ci, km_steps

__all__ = ["CIF_INTERVALS", "KM_INTERVALS", "PROPORTION_INTERVALS", "cumulative_incidence",
           "km_at", "km_median_ci", "proportion_ci"]

#: Proportion interval methods, by the name a ledger gives, with statsmodels' name.
PROPORTION_INTERVALS = {
    "clopper-pearson": "beta",
    "wilson": "wilson",
    "wald": "normal",
    "jeffreys": "jeffreys",
    "agresti-coull": "agresti_coull",
}
#: Kaplan-Meier interval types, as R's ``survfit(conf.type = ...)`` names them.
KM_INTERVALS = ("plain", "log", "log-log")
#: Cumulative incidence intervals: Gray's variance, on the scale of F or of log(-log F).
CIF_INTERVALS = ("plain", "log-log")


def proportion_ci(k: int, n: int, level: float = 0.95,
                  method: str = "clopper-pearson") -> tuple[float, float]:
    """Confidence interval of the proportion ``k / n``, as fractions.

    Parameters
    ----------
    k, n : int
        Events and patients (``n >= 1``).
    level : float
        Confidence level, e.g. 0.95.
    method : str
        One of :data:`PROPORTION_INTERVALS`. Wald and Agresti-Coull
        limits are clipped to [0, 1], as statsmodels does.

    Examples
    --------
    Three of 13 patients, with a Wilson interval (R: ``prop.test(3, 13, correct = FALSE)``):

    >>> [round(x, 4) for x in proportion_ci(3, 13, 0.95, "wilson")]
    [0.0818, 0.5026]
    """
    if method == "clopper-pearson":
        return exact_ci(k, n, level)     # the library's one Clopper-Pearson interval
    low, high = proportion_confint(k, n, alpha=1 - level, method=PROPORTION_INTERVALS[method])
    return float(low), float(high)


def _greenwood(time, event):
    """Steps of a Kaplan-Meier curve with its survival and Greenwood sum at each step."""
    times, at_risk, deaths = km_steps(time, event)
    survival = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0)
    return times, survival, np.cumsum(terms)


def _band(survival: np.ndarray, greenwood: np.ndarray, z: float, kind: str):
    """Lower and upper Greenwood bands of a survival curve, as R's ``survfit`` computes them."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "plain":
            se = survival * np.sqrt(greenwood)
            low, high = survival - z * se, survival + z * se
        elif kind == "log":
            se = np.sqrt(greenwood)
            low, high = survival * np.exp(-z * se), survival * np.exp(z * se)
        elif kind == "log-log":
            se = np.sqrt(greenwood) / np.log(survival)
            low = np.exp(-np.exp(np.log(-np.log(survival)) - z * se))
            high = np.exp(-np.exp(np.log(-np.log(survival)) + z * se))
        else:
            raise ValueError(f"unknown Kaplan-Meier interval {kind!r}; use one of {KM_INTERVALS}")
    low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    # As in R: the plain interval collapses onto a curve at 0 or 1; the log
    # interval is undefined at 0 and the log-log one at 0 and at 1 (NaN,
    # "not reached" for the median's interval).
    if kind == "plain":
        return low, high
    undefined = (survival <= 0) | ((survival >= 1) if kind == "log-log" else False)
    one = survival >= 1
    low = np.where(undefined, np.nan, np.where(one, 1.0, low))
    high = np.where(undefined, np.nan, np.where(one, 1.0, high))
    return low, high


def km_at(time, event, at: float, level: float = 0.95,
          kind: str = "log-log") -> tuple[float, float, float]:
    """Kaplan-Meier survival at time ``at``, with its Greenwood interval.

    Returns ``(survival, low, high)`` as fractions: the curve's value at
    ``at`` (the last step at or before it). Past the last observed time the
    curve is not defined, and all three are NaN; where R's interval is
    undefined (log at 0, log-log at 0 and 1) the limits are NaN.

    Examples
    --------
    R's ``aml`` data (both arms, 23 patients), at 12 weeks:
    ``summary(survfit(Surv(time, status) ~ 1, aml, conf.type = "log"), times = 12)``

    >>> time = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161,
    ...         5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
    >>> event = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
    >>> [round(x, 4) for x in km_at(time, event, 12, 0.95, "log")]
    [0.7391, 0.5798, 0.9422]
    """
    times, survival, greenwood = _greenwood(time, event)
    if at > np.max(np.asarray(time, dtype=float)):
        return math.nan, math.nan, math.nan
    k = int(np.searchsorted(times, at, side="right"))
    z = stats.norm.ppf(0.5 + level / 2)
    at_step = (survival[k - 1:k], greenwood[k - 1:k]) if k else (np.ones(1), np.zeros(1))
    low, high = _band(*at_step, z, kind)
    return float(at_step[0][0]), float(low[0]), float(high[0])


def km_median_ci(time, event, level: float = 0.95, kind: str = "log") -> tuple[float, float]:
    """Confidence interval of the Kaplan-Meier median, as R's ``survfit`` prints it.

    The interval holds the times whose survival interval contains one half:
    it starts when the lower band first falls to one half or below and ends
    when the upper band does (``inf`` when it never does).

    Examples
    --------
    R's ``aml`` data: ``survfit(Surv(time, status) ~ 1, aml)`` prints median
    27, 95% CI 18 to 45.

    >>> time = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161,
    ...         5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
    >>> event = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
    >>> km_median_ci(time, event, 0.95, "log")
    (18.0, 45.0)
    """
    times, survival, greenwood = _greenwood(time, event)
    z = stats.norm.ppf(0.5 + level / 2)
    low, high = _band(survival, greenwood, z, kind)

    def first_at_half(curve: np.ndarray) -> float:
        below = np.flatnonzero(curve <= 0.5 + 1e-12)
        return float(times[below[0]]) if len(below) else math.inf

    return first_at_half(low), first_at_half(high)


def cumulative_incidence(time, status, at: float, level: float = 0.95,
                         kind: str = "log-log") -> tuple[float, float, float]:
    """Aalen-Johansen cumulative incidence of the event at ``at``, with its interval.

    ``status`` is 1 for the event of interest, 2 for a competing event and
    0 for censoring. The estimate is the Aalen-Johansen one,
    F(t) = sum over event times t_j <= t of S(t_j-) d1_j / n_j, with S the
    Kaplan-Meier curve of either event; the variance is Gray's (1988), as
    R's ``cmprsk::cuminc`` computes it; the interval is ``F -/+ z sd``
    (``plain``, clipped to [0, 1]) or the same on the scale of
    ``log(-log F)`` (``log-log``, the usual one for ``cuminc``). Written
    here because lifelines' ``AalenJohansenFitter`` breaks tied times by
    random jitter, and no Python library computes Gray's variance; the tests
    compare every number with ``cmprsk``.

    Returns ``(incidence, low, high)`` as fractions; NaN past the last time,
    and NaN limits where the interval is undefined (F of 0 or 1 on the
    log-log scale).

    Examples
    --------
    Relapse (1) competing with death in remission (2):

    >>> time = [2, 3, 3, 5, 6, 8, 9, 12]
    >>> status = [1, 2, 1, 0, 1, 2, 0, 1]
    >>> cumulative_incidence(time, status, 6)[0]       # 1/8 + 7/8 * 1/7 + 5/8 * 1/4
    0.40625
    """
    incidence, variance = aalen_johansen(time, status, at)
    if math.isnan(incidence):
        return math.nan, math.nan, math.nan
    z = stats.norm.ppf(0.5 + level / 2)
    sd = math.sqrt(max(variance, 0.0))
    if kind == "plain":
        return incidence, max(0.0, incidence - z * sd), float(min(1.0, incidence + z * sd))
    if kind != "log-log":
        raise ValueError(f"unknown cumulative incidence interval {kind!r}; "
                         f"use one of {CIF_INTERVALS}")
    if not 0.0 < incidence < 1.0:
        return incidence, math.nan, math.nan
    shift = z * sd / (incidence * math.log(incidence))
    return incidence, incidence ** math.exp(-shift), incidence ** math.exp(shift)


def aalen_johansen(time, status, at: float) -> tuple[float, float]:
    """Cumulative incidence of event 1 at ``at`` and Gray's variance (see :func:`cumulative_incidence`).

    Examples
    --------
    ``cmprsk::timepoints(cuminc(time, status), 6)``: estimate 0.40625, variance 0.0413744.

    >>> f, v = aalen_johansen([2, 3, 3, 5, 6, 8, 9, 12], [1, 2, 1, 0, 1, 2, 0, 1], 6)
    >>> f, round(v, 7)
    (0.40625, 0.0413744)
    """
    t = np.asarray(time, dtype=float).ravel()
    s = np.asarray(status, dtype=int).ravel()
    if not t.size or at > t.max():
        return math.nan, math.nan
    times = np.unique(t)
    at_risk = (t[None, :] >= times[:, None]).sum(axis=1).astype(float)
    d1 = ((t[None, :] == times[:, None]) & (s[None, :] == 1)).sum(axis=1).astype(float)
    d2 = ((t[None, :] == times[:, None]) & (s[None, :] == 2)).sum(axis=1).astype(float)
    incidence, variance = 0.0, 0.0
    before = 1.0                                   # S(t_j-), either event
    v1 = v2 = v3 = 0.0
    for tj, r, a, b in zip(times.tolist(), at_risk.tolist(), d1.tolist(), d2.tolist()):
        if tj > at:
            break
        d = a + b
        if d == 0:
            continue
        after = before * (r - d) / r
        incidence += before * a / r
        # Gray's variance: one term for each kind of event at t_j, the
        # competing kind first; it is read off at the event's jumps only.
        for count, own in ((b, False), (a, True)):
            if count == 0 or (not own and after <= 0):
                continue
            ties = 1.0 - (count - 1.0) / (r - 1.0) if count > 1 else 1.0
            weight = before * before * ties * count / (r * r)
            inverse = 1.0 / after if after > 0 else 0.0
            term = 1.0 + inverse * incidence if own else incidence * inverse
            v1 += term * term * weight
            v2 += inverse * term * weight
            v3 += inverse * inverse * weight
        if a > 0:
            variance = v1 + incidence * incidence * v3 - 2.0 * incidence * v2
        before = after
    return float(incidence), float(variance)
