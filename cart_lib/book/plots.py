"""The book's figures: one palette per group, and the plots every chapter shares.

Each function draws from a cohort frame (or from numbers computed on one) and
returns the matplotlib figure, so a chapter cell is one call. Nothing here
knows a particular study: groups, labels and the order of a flow diagram come
from the caller, and group colours from :func:`group_palette`, which gives
every reporting group of every ledger its own colour, the same on every page.

Figures are drawn with matplotlib and seaborn; survival curves and numbers at
risk with lifelines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import yaml
from lifelines import KaplanMeierFitter
from lifelines.plotting import add_at_risk_counts
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from .. import ledger as ledger_mod
from ..core import paths
from ..analysis.meta import Pooled
from ..analysis.pinning import PrintedP

#: Width of a figure at book width, in inches.
BOOK_WIDTH = 7.5
#: Qualitative palette the group colours are drawn from (colour-blind safe).
PALETTE = "colorblind"
#: Neutral colour for "everyone" and for marks that belong to no group.
NEUTRAL = "#5f5f5f"


@lru_cache(maxsize=1)
def _listed() -> dict[tuple[str, str], tuple[float, float, float]]:
    listed = yaml.safe_load(paths.PALETTE.read_text()) if paths.PALETTE.exists() else None
    return {(study, group): to_rgb(colour) for study, groups in (listed or {}).items()
            for group, colour in groups.items()}


@lru_cache(maxsize=1)
def _colours() -> dict[tuple[str, str], tuple[float, float, float]]:
    out = dict(_listed())
    taken = set(out.values())
    spare = [tuple(c) for c in sns.color_palette(PALETTE) if tuple(c) not in taken]
    missing = [(led.study, g) for led in ledger_mod.load_all() for g in led.groups
               if (led.study, g) not in out]
    if len(missing) > len(spare):
        raise ValueError(f"{len(missing)} groups have no colour in {paths.relative(paths.PALETTE)} "
                         f"and only {len(spare)} colours are left: list them there")
    out.update(zip(missing, spare))
    return out


def group_palette(study: str | None = None) -> dict:
    """The book's colour for each reporting group of every study, the same on every page.

    Colours are data: ``data/palette.yml`` names one per (study, group),
    so adding a study changes no other study's colours. A group it does not
    list takes a colour of :data:`PALETTE` that no listed group uses, in the
    order of the ledgers, and there are never more groups than colours.

    Parameters
    ----------
    study : str, optional
        One study's slug.

    Returns
    -------
    dict
        ``{group: RGB}`` for ``study``; without one, ``{(study, group): RGB}``.

    Examples
    --------
    >>> palette = group_palette()
    >>> len(set(palette.values())) == len(palette)
    True
    """
    if study is None:
        return dict(_colours())
    # A study whose groups are all listed reads no other study's ledger, so
    # that its chapter does not depend on theirs.
    listed = _listed()
    if all((study, group) in listed for group in ledger_mod.load(study).groups):
        return {group: colour for (s, group), colour in listed.items() if s == study}
    return {group: colour for (s, group), colour in _colours().items() if s == study}


def _group_colours(study: str | None) -> dict[str, tuple[float, float, float]]:
    """``{group: RGB}`` of one study or, without one, the first study naming each group."""
    if study is not None:
        return group_palette(study)
    out: dict[str, tuple[float, float, float]] = {}
    for (_, group), colour in _colours().items():
        out.setdefault(group, colour)
    return out


def _study_of(frame: pd.DataFrame) -> str | None:
    """The one study a cohort frame is about (None for several or none)."""
    studies = frame["study"].dropna().unique() if "study" in frame else []
    return str(studies[0]) if len(studies) == 1 else None


def book_style() -> None:
    """Set the book's one figure style (a seaborn theme); every figure function calls it."""
    sns.set_theme(style="ticks", context="notebook", font_scale=0.95)


def _finish(fig: plt.Figure, ax: plt.Axes, title: str | None) -> plt.Figure:
    """Title on the left, no top or right spine, tight layout: how every figure ends."""
    if title:
        ax.set_title(title, loc="left")
    sns.despine(ax=ax)
    fig.tight_layout()
    return fig


def _axes(ax: plt.Axes | None, height: float,
          width: float = BOOK_WIDTH) -> tuple[plt.Figure, plt.Axes]:
    """The given axes and their figure, or a new figure of this size (book width by default)."""
    if ax is None:
        return plt.subplots(figsize=(width, height))
    return ax.figure, ax


# ------------------------------------------------------------------ survival

def km_plot(curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
            colours: Mapping[str, object] | None = None, *, xlabel: str = "days since infusion",
            ylabel: str = "probability", medians: bool = True, at_risk: bool = True,
            title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Kaplan-Meier curves with censoring marks, medians and numbers at risk.

    Parameters
    ----------
    curves : mapping
        Label to ``(time, event)`` arrays of one curve each.
    colours : mapping, optional
        Label to colour; :data:`NEUTRAL` where missing.
    medians : bool
        Mark each curve's median (where reached) with dotted guide lines.
    at_risk : bool
        Print the numbers at risk under the axis (lifelines).

    Returns
    -------
    matplotlib.figure.Figure
    """
    book_style()
    fig, ax = _axes(ax, 4.2)
    colours = dict(colours or {})
    fitters = []
    for i, (label, (time, event)) in enumerate(curves.items()):
        fitter = KaplanMeierFitter(label=label).fit(np.asarray(time, float),
                                                    np.asarray(event, bool))
        colour = colours.get(label, NEUTRAL)
        fitter.plot_survival_function(ax=ax, ci_show=False, show_censors=True, color=colour,
                                      censor_styles={"marker": "|", "ms": 8})
        median = fitter.median_survival_time_
        if medians and np.isfinite(median):
            ax.plot([0, median, median], [0.5, 0.5, 0], ls=":", lw=1, color=colour)
            ax.annotate(f"median {median:g}", (median, 0.5), xytext=(5, 5 + 13 * i),
                        textcoords="offset points", fontsize=8, color=colour)
        fitters.append(fitter)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, 1.03), xlim=(0, None))
    if title:
        ax.set_title(title, loc="left")
    ax.legend(frameon=False, loc="upper right")
    sns.despine(ax=ax)
    if at_risk:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"], fig=fig)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ rates

def rate_forest(rates: pd.DataFrame, colours: Sequence[object] | None = None, *,
                xlabel: str = "patients with the event (%)", title: str | None = None,
                ax: plt.Axes | None = None) -> plt.Figure:
    """Proportions with their confidence intervals, one row each (forest style).

    Parameters
    ----------
    rates : DataFrame
        Indexed by row label, with columns ``k``, ``n``, ``percent``, ``low``
        and ``high`` (percent), as :func:`cart_lib.book.rates` returns.
    colours : sequence, optional
        One colour per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    book_style()
    fig, ax = _axes(ax, 0.45 * len(rates) + 1.2)
    colours = list(colours) if colours is not None else [NEUTRAL] * len(rates)
    y = np.arange(len(rates))[::-1]
    for row, (label, r) in zip(y, rates.iterrows()):
        # Unclipped, so that a rate of 0% or 100% shows its whole marker.
        ax.plot([r["low"], r["high"]], [row, row], color=colours[len(y) - 1 - row], lw=2,
                clip_on=False)
        ax.plot(r["percent"], row, "o", color=colours[len(y) - 1 - row], ms=7, clip_on=False)
        ax.annotate(f"{int(r['k'])}/{int(r['n'])}", (101, row), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=9,
                    annotation_clip=False)
    ax.set_yticks(y, list(rates.index))
    ax.set(xlim=(0, 100), xlabel=xlabel)
    ax.grid(axis="x", lw=0.5, alpha=0.5)
    return _finish(fig, ax, title)


def grade_bars(frame: pd.DataFrame, column: str, by: str, order: Sequence[str] | None = None,
               *, grades: Sequence[int] = range(0, 5), xlabel: str = "grade",
               title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Number of patients at each grade, side by side per group.

    Parameters
    ----------
    frame : DataFrame
        A cohort frame.
    column : str
        The grade column, e.g. ``crs_grade``.
    by : str
        The column that splits the bars, usually ``group``; bars take the
        group colours.
    order : sequence, optional
        Order of the groups (default: as they first appear).

    Returns
    -------
    matplotlib.figure.Figure
    """
    book_style()
    counts = grade_counts(frame, column, by, order, grades)
    fig, ax = _axes(ax, 3.4)
    palette = _group_colours(_study_of(frame))
    width = 0.8 / len(counts.columns)
    for i, group in enumerate(counts.columns):
        x = np.arange(len(counts)) + (i - (len(counts.columns) - 1) / 2) * width
        bars = ax.bar(x, counts[group], width, label=f"{group} (n={int(counts[group].sum())})",
                      color=palette.get(group, NEUTRAL))
        ax.bar_label(bars, fontsize=8, padding=1)
    ax.set_xticks(np.arange(len(counts)), [str(g) for g in counts.index])
    ax.set(xlabel=xlabel, ylabel="patients")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    return _finish(fig, ax, title)


def grade_counts(frame: pd.DataFrame, column: str, by: str, order: Sequence[str] | None = None,
                 grades: Sequence[int] = range(0, 5)) -> pd.DataFrame:
    """Patients at each grade (rows) per group (columns)."""
    order = list(order) if order is not None else list(dict.fromkeys(frame[by]))
    table = pd.crosstab(frame[column].astype(int), frame[by])
    table = table.reindex(index=list(grades), columns=order, fill_value=0)
    table.index.name, table.columns.name = column, by
    return table


# ------------------------------------------------------------------ patients

#: Marks of the swimmer plot: event column -> (marker, label).
SWIMMER_MARKS = {
    "hsct_after_car_day": ("^", "transplant after CAR-T"),
    "relapse_day": ("X", "relapse"),
}


def _true(value) -> bool:
    """A flag of the record: true only when given and true (empty counts as not true)."""
    return bool(pd.notna(value) and value)


def swimmer_plot(frame: pd.DataFrame, *, order: Sequence[str] | None = None,
                 xlabel: str = "days since infusion", title: str | None = None) -> plt.Figure:
    """One bar per patient from infusion to last contact, with the events on it.

    A bar is coloured by the patient's group, drawn solid for a patient in
    remission within the response window and hatched otherwise. Marks: a
    transplant after CAR-T, relapse, death (a black square, with the cause), an arrow for
    a patient alive at last contact, and an open circle for one lost to
    follow-up.

    Parameters
    ----------
    frame : DataFrame
        A cohort frame; patients are drawn grouped as ``order`` lists the
        groups, longest follow-up first within a group.
    """
    book_style()
    order = list(order) if order is not None else list(dict.fromkeys(frame["group"]))
    frame = frame.assign(_g=frame["group"].map(order.index)).sort_values(
        ["_g", "last_contact_day"], ascending=[True, False], kind="stable")
    palette = _group_colours(_study_of(frame))
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH, 0.2 * len(frame) + 1.6))
    y = np.arange(len(frame))[::-1]
    span = float(frame["last_contact_day"].max())
    for row, (_, p) in zip(y, frame.iterrows()):
        colour = palette.get(p["group"], NEUTRAL)
        remission = _true(p["cr_d30"])
        ax.barh(row, max(float(p["last_contact_day"]), span * 0.004), height=0.7, color=colour,
                alpha=1.0 if remission else 0.35, hatch=None if remission else "///",
                edgecolor=colour, lw=0.5)
        for column, (marker, _) in SWIMMER_MARKS.items():
            if pd.notna(p[column]):
                ax.plot(p[column], row, marker, color="black", ms=5.5, mfc="white", mew=1)
        end = float(p["last_contact_day"])
        if _true(p["death"]):
            ax.plot(end, row, "s", color="black", ms=5)
            ax.annotate(str(p["death_cause"]), (end, row), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=7)
        elif _true(p["lost_to_followup"]):
            ax.plot(end, row, "o", color="black", ms=5.5, mfc="white")
        else:
            ax.annotate("", (end + span * 0.035, row), (end, row),
                        arrowprops={"arrowstyle": "->", "lw": 1, "color": "black"})
    ax.set_yticks(y, list(frame["patient_id"]), fontsize=7)
    ax.set(xlabel=xlabel, xlim=(0, span * 1.12), ylim=(-0.7, len(frame) - 0.3))
    handles = [Rectangle((0, 0), 1, 1, color=palette.get(g, NEUTRAL), label=g) for g in order]
    handles.append(Rectangle((0, 0), 1, 1, facecolor="white", edgecolor=NEUTRAL, hatch="///",
                             label="no remission"))
    handles += [plt.Line2D([], [], ls="", marker=m, color="black", mfc="white", label=lab)
                for m, lab in SWIMMER_MARKS.values()]
    handles += [plt.Line2D([], [], ls="", marker="s", color="black", label="death (cause)"),
                plt.Line2D([], [], ls="", marker="o", color="black", mfc="white",
                           label="lost to follow-up"),
                plt.Line2D([], [], ls="", marker=r"$\rightarrow$", color="black", ms=10,
                           label="alive at last contact")]
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="lower right")
    return _finish(fig, ax, title)


def patient_flow(stages: Sequence[tuple[str, pd.Series]], colour_by: pd.Series, *,
                 study: str | None = None, title: str | None = None) -> plt.Figure:
    """A flow diagram: patients split stage by stage, with counts, as ribbons.

    Parameters
    ----------
    stages : sequence of (title, Series)
        For each stage, its title and each patient's label at that stage (one
        Series per stage, all on the cohort's index). The first stage is
        usually a single label for everyone.
    colour_by : Series
        Each patient's group; ribbons take the group colours.
    study : str, optional
        The study the groups belong to, whose colours they take (without
        one, the first study naming each group).

    Returns
    -------
    matplotlib.figure.Figure
        Nodes are bars whose height is their number of patients, labelled
        ``name (n)``; a ribbon joins two nodes of consecutive stages with the
        patients they share.
    """
    book_style()
    palette = _group_colours(study)
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH, 5.2))
    n = len(colour_by)
    gap = max(1.0, 0.06 * n)
    groups = list(dict.fromkeys(colour_by))
    positions = []          # per stage: label -> (bottom, top)
    for s, (_, labels) in enumerate(stages):
        names = list(dict.fromkeys(labels))
        total = n + gap * (len(names) - 1)
        bottom = (n + gap * 4 - total) / 2
        spans = {}
        for name in names[::-1]:
            size = int((labels == name).sum())
            spans[name] = (bottom, bottom + size)
            bottom += size + gap
        positions.append(spans)
    node_w = 0.12
    for s, (_, labels) in enumerate(stages):
        for name, (low, high) in positions[s].items():
            ax.add_patch(Rectangle((s - node_w / 2, low), node_w, high - low, color="#333333"))
            ax.annotate(f"{name} ({int(round(high - low))})", (s + node_w / 2 + 0.03,
                        (low + high) / 2), va="center", fontsize=8, zorder=3,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                              "alpha": 0.8})
        if s == 0:
            continue
        previous = stages[s - 1][1]
        out_fill = {k: v[0] for k, v in positions[s - 1].items()}
        in_fill = {k: v[0] for k, v in positions[s].items()}
        for a in positions[s - 1]:
            for b in positions[s]:
                for group in groups:
                    size = int(((previous == a) & (labels == b) & (colour_by == group)).sum())
                    if not size:
                        continue
                    _ribbon(ax, s - 1 + node_w / 2, out_fill[a], s - node_w / 2, in_fill[b],
                            size, palette.get(group, NEUTRAL))
                    out_fill[a] += size
                    in_fill[b] += size
    for s, (stage_title, _) in enumerate(stages):
        ax.annotate(stage_title, (s, n + gap * 4.2), ha="center", fontsize=9, weight="bold")
    handles = [Rectangle((0, 0), 1, 1, color=palette.get(g, NEUTRAL), alpha=0.6, label=g)
               for g in groups]
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="lower left",
              bbox_to_anchor=(0, -0.08), ncol=len(groups))
    ax.set(xlim=(-0.2, len(stages) - 0.25), ylim=(-gap, n + gap * 5))
    ax.axis("off")
    if title:
        ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig


def _ribbon(ax: plt.Axes, x0: float, y0: float, x1: float, y1: float, size: float,
            colour) -> None:
    mid = (x0 + x1) / 2
    verts = [(x0, y0), (mid, y0), (mid, y1), (x1, y1),
             (x1, y1 + size), (mid, y1 + size), (mid, y0 + size), (x0, y0 + size), (x0, y0)]
    codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
             MplPath.LINETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
    ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=colour, alpha=0.55, lw=0))


# ------------------------------------------------------------------ values

def value_strip(frame: pd.DataFrame, column: str, by: str, order: Sequence[str] | None = None,
                *, log: bool = False, ylabel: str | None = None, note: str | None = None,
                title: str | None = None, seed: int = 0,
                ax: plt.Axes | None = None) -> plt.Figure:
    """Each patient's value as a point, one column per group, with the group's median.

    Parameters
    ----------
    frame : DataFrame
        A cohort frame; rows with no value in ``column`` are left out.
    column : str
        The measured column, e.g. ``peak_expansion``.
    by : str
        The column that defines the groups, usually ``group``; points take
        the group colours.
    order : sequence, optional
        Order of the groups (default: as they first appear).
    log : bool
        Draw the values on a log scale.
    note : str, optional
        A line of text over the groups, e.g. the test that compares them.
    seed : int
        Seed of the horizontal jitter (the figure is the same on every run).

    Returns
    -------
    matplotlib.figure.Figure
        Points are jittered horizontally; a black bar marks each group's median.
    """
    book_style()
    order = list(order) if order is not None else list(dict.fromkeys(frame[by]))
    fig, ax = _axes(ax, 4.0, BOOK_WIDTH * 0.75)
    palette = _group_colours(_study_of(frame))
    rng = np.random.default_rng(seed)
    for i, group in enumerate(order):
        values = frame.loc[frame[by] == group, column].dropna().astype(float).to_numpy()
        x = i + rng.uniform(-0.17, 0.17, len(values))
        ax.scatter(x, values, s=34, color=palette.get(group, NEUTRAL), alpha=0.85,
                   edgecolor="white", lw=0.5, zorder=2)
        if len(values):
            ax.plot([i - 0.3, i + 0.3], [np.median(values)] * 2, color="black", lw=2, zorder=3)
    ax.set_xticks(range(len(order)),
                  [f"{g}\n(n={int(frame.loc[frame[by] == g, column].notna().sum())})"
                   for g in order])
    ax.set_xlim(-0.6, len(order) - 0.4)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel or column)
    if note:
        ax.annotate(note, (0.5, 1.0), xycoords="axes fraction", ha="center", va="bottom",
                    fontsize=9)
    if title:
        ax.set_title(title, loc="left", pad=18 if note else 6)
    ax.grid(axis="y", lw=0.4, alpha=0.5, which="major")
    sns.despine(ax=ax)
    fig.tight_layout()
    return fig


def km_overlay(sampled: Sequence[tuple[np.ndarray, np.ndarray]],
               shown: tuple[np.ndarray, np.ndarray], colour=NEUTRAL, *,
               printed_median: float | None = None, xlabel: str = "days since infusion",
               ylabel: str = "probability", title: str | None = None,
               ax: plt.Axes | None = None) -> plt.Figure:
    """Kaplan-Meier curves of many consistent cohorts, with the one a chapter shows on top.

    Parameters
    ----------
    sampled : sequence of (times, survival)
        One curve per sampled cohort, as the steps of its Kaplan-Meier
        estimate (:func:`cart_lib.analysis.questions.km_curve`, computed once
        by ``make data``: :func:`cart_lib.analysis.derive.sample_curves`),
        drawn thin and translucent; where they pile up, the published figures
        pin the curve down.
    shown : (time, event)
        The curve of the cohort the chapter uses, drawn bold.
    printed_median : float, optional
        The published median, marked by a dashed guide.

    Returns
    -------
    matplotlib.figure.Figure
    """
    book_style()
    fig, ax = _axes(ax, 3.8)
    alpha = min(0.5, 8.0 / max(len(sampled), 1))
    for times, survival in sampled:
        ax.step(times, survival, where="post", color=colour, lw=0.8, alpha=alpha)
    curve = KaplanMeierFitter().fit(np.asarray(shown[0], float), np.asarray(shown[1], bool))
    sf = curve.survival_function_.iloc[:, 0]
    ax.step(sf.index, sf.to_numpy(), where="post", color="black", lw=1.8,
            label="the cohort this book shows")
    ax.plot([], [], color=colour, lw=0.8, label=f"{len(sampled)} consistent cohorts of the sample")
    if printed_median is not None:
        ax.axvline(printed_median, ls="--", lw=1, color="black")
        ax.annotate(f"published median {printed_median:g}", (printed_median, 0.98),
                    xytext=(4, 0), textcoords="offset points", fontsize=8, va="top")
    ax.axhline(0.5, ls=":", lw=0.8, color=NEUTRAL)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, 1.03), xlim=(0, None))
    if title:
        ax.set_title(title, loc="left")
    ax.legend(frameon=False, loc="lower left", fontsize=8)
    sns.despine(ax=ax)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ what a p-value pins down

def _zoom_window(frame: pd.DataFrame, target: PrintedP) -> tuple[float, float]:
    """A p-value window around the printed value holding the nearest configuration on each side.

    At least ten printed steps either side, and never below zero: wide enough
    to show that the neighbours of a fitting configuration fall outside the band.
    """
    p = frame["p"].to_numpy()
    below = p[p < target.low]
    above = p[p >= target.high]
    reach = 10 * target.step
    if below.size:
        reach = max(reach, 1.15 * (target.value - below.max()))
    if above.size:
        reach = max(reach, 1.15 * (above.min() - target.value))
    reach = min(reach, 0.95 * target.value, 12 * target.step + 0.5 * target.value)
    return max(target.value - reach, 0.0), target.value + reach


def pinning_plot(frame: pd.DataFrame, target: PrintedP, *, labels: dict[str, str] | None = None,
                 title: str | None = None, seed: int = 0) -> plt.Figure:
    """Every configuration's p-value, one row per reading, with the printed value's band.

    Left: every configuration on a log scale of p. Right: a close-up around
    the printed value, where the band of p-values that print as published is
    shaded and the configurations that fit are drawn large and black; what
    fits is written at the right of each row. Configurations that point the
    wrong way (against the text's direction) are drawn open. Points are
    jittered vertically within their row, with a fixed seed, to show how many
    configurations share a p-value.

    Parameters
    ----------
    frame : DataFrame
        Rows of :func:`cart_lib.analysis.pinning.configurations`.
    target : PrintedP
        The printed p-value (:func:`cart_lib.analysis.pinning.printed_p`).
    labels : dict, optional
        Reading id to the row label shown (default: the reading id, marked
        ``(adopted)`` where it applies).
    title : str, optional
        Title over the left panel.
    seed : int
        Seed of the vertical jitter (the figure is the same on every run).

    Returns
    -------
    matplotlib.figure.Figure
    """
    book_style()   # the book's one figure style
    readings = list(dict.fromkeys(frame["reading"]))
    fig, (full, zoom) = plt.subplots(
        1, 2, figsize=(BOOK_WIDTH, 0.5 * len(readings) + 1.9), sharey=True,
        layout="constrained", gridspec_kw={"width_ratios": [1.0, 1.0]})
    rng = np.random.default_rng(seed)
    names = labels or {}
    ticks, verdicts = [], []
    for row, reading in enumerate(readings):
        part = frame[frame["reading"] == reading]
        y = len(readings) - 1 - row + rng.uniform(-0.25, 0.25, len(part))
        p = part["p"].to_numpy()
        ok = part["direction_ok"].to_numpy()
        fits = part["fits"].to_numpy()
        for ax in (full, zoom):
            ax.scatter(p[ok & ~fits], y[ok & ~fits], s=11, color=NEUTRAL, alpha=0.55,
                       lw=0, zorder=2)
            ax.scatter(p[~ok], y[~ok], s=11, facecolor="none", edgecolor=NEUTRAL,
                       alpha=0.55, lw=0.7, zorder=2)
            ax.scatter(p[fits], y[fits], s=36, color="black", zorder=3)
        found = list(part.loc[part["fits"], "label"])
        verdicts.append(found[0] if len(found) == 1 else
                        f"{len(found)} fit" if found else "none fits")
        adopted = " (adopted)" if part["adopted"].iloc[0] else ""
        ticks.append(names.get(reading, reading + adopted))
    rows = list(range(len(readings)))[::-1]
    full.set_yticks(rows, ticks, fontsize=8)
    full.set_ylim(-0.6, len(readings) - 0.4)
    right = zoom.secondary_yaxis("right")
    right.set_yticks(rows, verdicts, fontsize=8)
    right.tick_params(length=0)
    right.spines["right"].set_visible(False)
    smallest = max(float(frame["p"][frame["p"] > 0].min()), 1e-12)
    full.set_xscale("log")
    full.set_xlim(smallest / 2, 1.6)
    full.set_xlabel("p, every configuration (log scale)", fontsize=9)
    zoom.set_xlim(*_zoom_window(frame, target))
    zoom.set_xlabel(f"p, close-up around {target.text}", fontsize=9)
    for ax in (full, zoom):
        ax.axvspan(target.low, target.high, color=NEUTRAL, alpha=0.3, lw=0, zorder=0)
        ax.axvline(target.value, color="black", lw=0.6, zorder=1)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", lw=0.4, alpha=0.5)
        sns.despine(ax=ax)
    handles = [
        Patch(color=NEUTRAL, alpha=0.3, label=f"prints as {target.text}"),
        Line2D([], [], ls="", marker="o", ms=7, color="black", label="fits"),
        Line2D([], [], ls="", marker="o", ms=4, color=NEUTRAL, label="does not print so"),
        Line2D([], [], ls="", marker="o", ms=4, mfc="none", color=NEUTRAL,
               label="wrong direction"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=8)
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    return fig


# ------------------------------------------------------------------ arms across studies

def forest(arms: pd.DataFrame, pooled: Mapping[str, Pooled], *,
           pooled_label: str = "pooled, allogeneic arms",
           open_label: str = "not fixed by the figures") -> plt.Figure:
    """One panel per outcome: each arm's rate with its exact interval, and the pooled estimate.

    Parameters
    ----------
    arms : DataFrame
        As :func:`cart_lib.analysis.meta.arm_rates` returns; rows not ``fixed`` are marked, not drawn.
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
            colour = palette.get((arm["study"], arm["group"]), NEUTRAL)
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
