"""Arms of several studies side by side: exact rates, random-effects pooling, a forest plot.

A meta-analyst compares arms on one scale: the share of patients with an
outcome, with its exact (Clopper-Pearson) interval. :func:`arm_rates` takes
every reporting group of every study, computes each outcome from the
study's cohort, and says whether the published figures fix the count (see
:class:`cart_lib.audit.CountFacts`): a count a cohort shows but the figures
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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from . import audit
from .book import Study
from .plots import BOOK_WIDTH, NEUTRAL, group_palette


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


def arm_rates(studies: Sequence[str], outcomes: Mapping[str, str]) -> pd.DataFrame:
    """Each outcome in each reporting group of each study, from its cohort, with exact 95% CIs.

    Parameters
    ----------
    studies : sequence of str
        Study slugs.
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
    for slug in studies:
        study = Study(slug)
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


def forest(arms: pd.DataFrame, pooled: Mapping[str, Pooled], *,
           pooled_label: str = "pooled, allogeneic arms",
           open_label: str = "not fixed by the figures") -> plt.Figure:
    """One panel per outcome: each arm's rate with its exact interval, and the pooled estimate.

    Parameters
    ----------
    arms : DataFrame
        As :func:`arm_rates` returns; rows not ``fixed`` are marked, not drawn.
    pooled : mapping
        Outcome to its pooled estimate, drawn as a diamond under the arms.
    """
    sns.set_theme(style="ticks", context="notebook", font_scale=0.9)
    outcomes = list(dict.fromkeys(arms["outcome"]))
    labels = list(dict.fromkeys(zip(arms["study"], arms["group"])))
    palette = group_palette()
    fig, axes = plt.subplots(1, len(outcomes), sharey=True,
                             figsize=(BOOK_WIDTH, 0.42 * (len(labels) + 1) + 1.3))
    rows = {label: len(labels) - i for i, label in enumerate(labels)}
    for ax, outcome in zip(np.atleast_1d(axes), outcomes):
        for _, arm in arms[arms["outcome"] == outcome].iterrows():
            y = rows[(arm["study"], arm["group"])]
            colour = palette.get(arm["group"], NEUTRAL)
            if not arm["fixed"]:
                ax.annotate(open_label, (50, y), ha="center", va="center", fontsize=7,
                            color=NEUTRAL, style="italic")
                continue
            ax.plot([arm["low"], arm["high"]], [y, y], color=colour, lw=2)
            ax.plot(arm["percent"], y, "o", color=colour, ms=6)
            ax.annotate(f"{int(arm['k'])}/{int(arm['n'])}", (arm["high"], y), xytext=(3, 3),
                        textcoords="offset points", fontsize=7)
        if outcome in pooled:
            p = pooled[outcome]
            ax.fill([p.low, p.percent, p.high, p.percent], [0, 0.25, 0, -0.25],
                    color="black", lw=0)
        ax.set(xlim=(-2, 102), ylim=(-0.7, len(labels) + 0.7), xlabel="patients (%)")
        ax.set_title(outcome, fontsize=10)
        ax.grid(axis="x", lw=0.5, alpha=0.5)
        sns.despine(ax=ax)
    first = np.atleast_1d(axes)[0]
    first.set_yticks([*rows.values(), 0], [f"{s} {g}" for s, g in rows] + [pooled_label],
                     fontsize=8)
    fig.tight_layout()
    return fig
