"""What a chapter needs in one object: a study's ledger, its cohort, and figures computed on it.

A chapter opens a study with ``study = Study("zhang2020")`` and asks it for
counts, rates with exact confidence intervals, survival endpoints and the
published claims, each in one short call; :func:`glue_all` puts the results
into the prose. Populations and events are the ledger's expressions (see
:mod:`cart_lib.core.expressions`), so a chapter counts patients with the same
words as the claims it checks.

Examples
--------
The toy study of the tests (``tests/data/toy/``):

>>> study = Study("toy")
>>> study.count("group == 'a'")
10
>>> r = study.rate("cr_d30", "group == 'a'")
>>> (r.k, r.n, round(r.percent, 1), round(r.low, 1), round(r.high, 1))
(8, 10, 80.0, 44.4, 97.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from .. import cohort as cohort_mod
from .. import ledger as ledger_mod
from ..core import printed
from ..analysis import report
from ..stats import statistics
from ..core.errors import ClaimsNotMatched
from ..evaluate import ClaimResult, Evaluator
from ..ledger import Statistic
from ..reconstruct import load_frame


@dataclass(frozen=True)
class Rate:
    """A proportion with its exact (Clopper-Pearson) confidence interval, in percent."""

    k: int
    n: int
    percent: float
    low: float
    high: float

    def text(self, digits: int = 1) -> str:
        """``k/n (p%; 95% CI low-high%)``, as a sentence would put it."""
        return (f"{self.k}/{self.n} ({self.percent:.{digits}f}%; 95% CI "
                f"{self.low:.{digits}f}\u2013{self.high:.{digits}f}%)")


class Study:
    """One study's ledger and committed cohort, with the computations chapters share.

    Parameters
    ----------
    slug : str
        The study's slug, e.g. ``"zhang2020"``.
    """

    def __init__(self, slug: str):
        self.slug = slug
        self.ledger = ledger_mod.load(slug)
        self.frame = load_frame(slug)
        self.table = cohort_mod.from_frame(self.frame)
        self.evaluator = Evaluator(self.ledger)
        self._results: dict[str, ClaimResult] | None = None

    # ------------------------------------------------------------ patients
    def mask(self, expr: str | None = None) -> np.ndarray:
        """Boolean mask of the patients an expression selects (everyone when omitted)."""
        return self.evaluator.mask(expr, self.table)

    def patients(self, expr: str | None = None) -> pd.DataFrame:
        """The cohort rows an expression selects."""
        return self.frame[self.mask(expr)]

    def count(self, event: str, population: str | None = None) -> int:
        """Number of patients of ``population`` for whom ``event`` holds."""
        return int((self.mask(population) & self.mask(event)).sum())

    def rate(self, event: str, population: str | None = None, level: float = 0.95) -> Rate:
        """Share of ``population`` with ``event``, with its exact confidence interval."""
        n = int(self.mask(population).sum())
        k = self.count(event, population)
        low, high = statistics.exact_ci(k, n, level)
        return Rate(k, n, 100 * k / n, 100 * low, 100 * high)

    def rates(self, rows: Mapping[str, tuple[str, str | None]], level: float = 0.95) -> pd.DataFrame:
        """A table of rates: row label to ``(event, population)``."""
        data = {label: vars(self.rate(event, population, level))
                for label, (event, population) in rows.items()}
        return pd.DataFrame.from_dict(data, orient="index")

    def endpoint(self, name: str, population: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Time and event of a survival endpoint for the patients of ``population``.

        ``name`` is ``overall_survival``, ``leukemia_free_survival`` or
        ``follow_up``; the rules are :mod:`cart_lib.cohort`'s and the ledger's.
        """
        time, event = self.evaluator.endpoint(name, self.table)
        keep = self.mask(population)
        return time[keep], np.asarray(event, bool)[keep]

    def sampled_endpoints(self, name: str, population: str | None = None,
                          limit: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """An endpoint's time and event in each cohort of the committed sample.

        The sample (:mod:`cart_lib.reconstruct.sample`) holds many cohorts that all match
        every claim; ``limit`` keeps the first ones only.
        """
        from ..reconstruct.sample import load_tables

        out = []
        for table in load_tables(self.slug)[:limit]:
            time, event = self.evaluator.endpoint(name, table)
            keep = self.evaluator.mask(population, table)
            out.append((time[keep], np.asarray(event, bool)[keep]))
        return out

    def km_median(self, name: str, population: str | None = None) -> float:
        """Kaplan-Meier median of an endpoint (lifelines); ``inf`` when not reached."""
        return statistics.km_median(*self.endpoint(name, population))

    # ------------------------------------------------------------ claims
    def results(self) -> dict[str, ClaimResult]:
        """Every claim evaluated on the committed cohort, by claim id."""
        if self._results is None:
            self._results = {r.claim.id: r for r in self.evaluator.evaluate(self.table)}
        return self._results

    def printed(self, claim_id: str) -> str:
        """A claim's figure as the study printed it."""
        return self.ledger.claim(claim_id).printed

    def reproduced(self, claim_id: str) -> str:
        """A claim's figure recomputed from the cohort, written as printed."""
        return self.results()[claim_id].adopted.reproduced

    def figure(self, claim_id: str, role: str) -> str:
        """One number of a claim recomputed from the cohort, written with the decimals printed.

        Rounds under the adopted reading's convention, as the claim check
        does, and half up where it names none (the figure is then off every
        tie): a simple median of 89.5 for a printed "90%" is written "90".
        """
        claim = self.ledger.claim(claim_id)
        value = self.results()[claim_id].adopted.computed.values[role]
        return printed.fmt(value, claim.numbers()[role].decimals, claim.adopted.rounding)

    def claim_figures(self, prefixed: bool = False) -> dict[str, str]:
        """Every claim's figures as text at the printed precision, by glue key.

        Parameters
        ----------
        prefixed : bool
            Start every key with the study's slug and a dot, for a chapter
            that glues the claims of two studies (claim ids repeat across
            studies, and a glue key may be glued once per notebook).

        Returns
        -------
        dict of str to str
            For each claim ``<id>``: ``<id>``, the whole figure recomputed
            from the cohort and written as printed; ``<id>.printed``, the
            figure as the study printed it; and ``<id>.<role>`` for each
            number the claim reads (``post_hsct_cr.percent``), each rounded
            as :meth:`figure` rounds it. A dot is safe in a key: glue's
            roles split a key from its format at the last colon and from a
            document path at ``::``.

        Examples
        --------
        >>> figures = Study("toy").claim_figures()
        >>> figures["cr_a"], figures["cr_a.ci_low"], figures["crs_p.p"]
        ('80.0% (95% CI 44.4–97.5%)', '44.4', '0.020')
        """
        prefix = f"{self.slug}." if prefixed else ""
        out: dict[str, str] = {}
        for claim in self.ledger.claims:
            key = prefix + claim.id
            out[key] = self._whole_figure(claim)
            out[f"{key}.printed"] = claim.printed
            out.update({f"{key}.{role}": self.figure(claim.id, role) for role in claim.reads})
        return out

    def _whole_figure(self, claim) -> str:
        # The evaluator writes the figure rounding half up; a reading that names
        # another convention is written again under it, number by number.
        result = self.results()[claim.id].adopted
        if claim.adopted.rounding in (None, "half-up") or claim.adopted.measure.written != "figure":
            return result.reproduced
        values = [result.computed.values.get(role, float("nan")) for role in claim.reads]
        return printed.rewrite(claim.printed, values, claim.adopted.rounding)

    def glue_claims(self, prefixed: bool = False) -> None:
        """Glue every figure of :meth:`claim_figures`, without displaying it (chapters only).

        A sentence that restates a published figure then names its claim:
        ``{glue:text}`post_hsct_cr.percent``` is the percentage of claim
        ``post_hsct_cr``, already written at the printed precision, so the
        prose types no format.
        """
        glue_all(self.claim_figures(prefixed))

    def claims_table(self) -> pd.DataFrame:
        """Printed figure, reproduced figure, status and adopted reading of every claim."""
        return report.claims_frame(self.slug)

    def check_claims(self) -> int:
        """Raise :class:`ClaimsNotMatched` unless every claim's adopted reading matches.

        Returns the number of claims checked.
        """
        failed = [cid for cid, r in self.results().items() if r.status == "mismatch"]
        if failed:
            raise ClaimsNotMatched(
                f"{self.slug}: {len(failed)} claim(s) not matched by data/cohorts/"
                f"{self.slug}.csv: {', '.join(failed)}")
        return len(self.results())


def plain(value):
    """A value as a plain Python ``int``, ``float`` or ``str`` (glue needs them plain)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    return str(value)


def glue_all(values: Mapping[str, object]) -> None:
    """Glue every value under its key, without displaying it (chapters only)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, plain(value), display=False)
