"""Arms of several studies side by side: exact rates and random-effects pooling.

A meta-analyst compares arms on one scale: the share of patients with an
outcome, with its exact (Clopper-Pearson) interval. :func:`arm_rates` takes
every reporting group of every study, computes each outcome from the
study's cohort, and says whether the published figures fix the count (see
:class:`cart_lib.evaluate.audit.CountFacts`): a count a cohort shows but the figures
leave open is one reconstruction's guess, not a finding, and is kept out
of the plot and the pooling.

:func:`pool_proportions` pools proportions on the logit scale with
DerSimonian and Laird's random-effects estimator, through
``statsmodels.stats.meta_analysis.combine_effects``; a proportion of 0 or 1
gets the usual correction of one half to each cell.

Examples
--------
>>> pooled = pool_proportions([8, 5, 12], [10, 10, 20])
>>> round(pooled.percent, 1), pooled.arms
(61.5, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from ..evaluate import audit


def logit_effect(k: int, n: int, correction: float = 0.5) -> tuple[float, float]:
    """Logit of a proportion and its variance, ``1/k + 1/(n-k)``, corrected at 0 and n.

    Examples
    --------
    >>> logit_effect(5, 10)
    (0.0, 0.4)
    >>> round(logit_effect(0, 9)[0], 3)
    -2.944
    """
    if k in (0, n):
        k, n = k + correction, n + 2 * correction
    return math.log(k / (n - k)), 1 / k + 1 / (n - k)


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled proportion, in percent, with its heterogeneity statistics.

    Attributes
    ----------
    arms : int
        Arms pooled.
    percent, low, high : float
        Pooled proportion and its 95% interval, back from the logit scale.
    tau2 : float
        Between-arm variance on the logit scale (DerSimonian-Laird).
    i2 : float
        Share of the variation due to heterogeneity, in percent.
    q, q_df, q_p : float, int, float
        Cochran's Q, its degrees of freedom and p-value.
    """

    arms: int
    percent: float
    low: float
    high: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_p: float


def pool_effects(effect: Sequence[float], variance: Sequence[float]) -> Pooled:
    """DerSimonian-Laird random-effects pooling of effects on any scale (not back-transformed).

    Returns the pooled effect and interval as they are (``percent``, ``low``,
    ``high`` hold the effect scale here), with tau², I² (percent) and Q.
    """
    result = combine_effects(np.asarray(effect, float), np.asarray(variance, float),
                             method_re="dl")
    frame = result.summary_frame()
    # DerSimonian and Laird truncate a negative moment estimate of tau² at zero,
    # where the random-effects estimate is the fixed-effect one; statsmodels
    # 0.15 keeps the negative value in its weights, so do the truncation here.
    tau2 = max(float(result.tau2), 0.0)
    row = frame.loc["random effect" if tau2 > 0 else "fixed effect"]
    q, df = float(result.q), int(result.df_resid)
    return Pooled(len(effect), float(row["eff"]), float(row["ci_low"]), float(row["ci_upp"]),
                  tau2, 100 * float(max(result.i2, 0.0)), q, df,
                  float(stats.chi2.sf(q, df)) if df > 0 else math.nan)


def pool_proportions(k: Sequence[int], n: Sequence[int]) -> Pooled:
    """Random-effects pooled proportion (percent) of several arms, on the logit scale."""
    effects = [logit_effect(int(a), int(b)) for a, b in zip(k, n)]
    on_logit = pool_effects([e for e, _ in effects], [v for _, v in effects])
    return Pooled(on_logit.arms, 100 * _expit(on_logit.percent), 100 * _expit(on_logit.low),
                  100 * _expit(on_logit.high), on_logit.tau2, on_logit.i2, on_logit.q,
                  on_logit.q_df, on_logit.q_p)


def arm_rates(studies: Sequence, outcomes: Mapping[str, str]) -> pd.DataFrame:
    """Each outcome in each reporting group of each study, from its cohort, with exact 95% CIs.

    Parameters
    ----------
    studies : sequence
        The studies, each with its ``slug``, ``ledger`` and a ``rate(event,
        population)`` giving ``k``, ``n``, ``percent``, ``low`` and ``high``
        (:class:`cart_lib.book.Study`).
    outcomes : mapping
        Outcome label to the event expression (ledger variable or column)
        counted in every study.

    Returns
    -------
    DataFrame
        One row per study, group and outcome: ``car_source``, ``allogeneic``,
        ``k``, ``n``, ``percent``, ``low``, ``high`` (from the cohort) and
        ``fixed_k``, ``fixed_n`` (the counts the published figures fix, or
        NaN where they leave them open).
    """
    rows = []
    for study in studies:
        slug = study.slug
        facts = audit.CountFacts(study.ledger)
        for group, attributes in study.ledger.groups.items():
            population = f"group == '{group}'"
            source = str(attributes.get("car_source", ""))
            for outcome, event in outcomes.items():
                rate = study.rate(event, population)
                fixed_k = facts.size_of(population, event)
                fixed_n = facts.size_of(population)
                rows.append({"study": slug, "group": group, "car_source": source,
                             "allogeneic": source != "autologous", "outcome": outcome,
                             "k": rate.k, "n": rate.n, "percent": rate.percent,
                             "low": rate.low, "high": rate.high,
                             "fixed_k": math.nan if fixed_k is None else fixed_k,
                             "fixed_n": math.nan if fixed_n is None else fixed_n})
    frame = pd.DataFrame(rows)
    frame["fixed"] = frame["fixed_k"].notna() & frame["fixed_n"].notna()
    return frame
