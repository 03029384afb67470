"""The consistency audit: which printed numbers hold together, which do not, and what stays open.

Everything here is derived from a study's claims ledger, never from a
particular reconstruction, so that a finding holds for *every* cohort that
matches the published figures:

- **Count facts.** Each printed count names a set of patients (its claim's
  population and event, as ledger expressions). Expressions are split into
  conjuncts over record columns, so that ``post_hsct and matched_sibling``
  and ``no_hsct and matched_sibling`` are seen as two cells of one
  partition. Sizes are taken from printed counts and denominators, from
  p-values and exact intervals whose inversion leaves a single table
  (:mod:`cart_lib.stats.inversion`), and derived through partitions: a set split
  on a column whose values cover it has the size of its parts.
- **Arithmetic checks.** Restated counts agree; parts add up to their
  total (or stay below it when not every part is printed); a subset is no
  larger than its superset; every printed percentage matches its count and
  denominator at the printed precision.
- **Figures.** Each figure can print at all at the sizes the figures fix
  (:meth:`CountFacts.figure_checks`): a count within the denominator printed
  with it, a percentage of a population of unknown size at some
  denominator up to the cohort's, a proportion's interval, a 2x2 p-value.
  A failure names the claim and the roles at stake, and the conventions,
  interval methods or counts under which the figure would print;
  ``reconstruct`` runs these with the checks above before any search.
- **Range checks.** Medians lie within their ranges; ranges of the same
  times over nested populations nest (a follow-up range must contain the
  survival range of the same patients, since both are times to death or
  last contact); single days lie within the ranges that cover them.
- **Ambiguities.** Each alternative reading is put in place of the adopted
  one, and the checks above are re-run; a failing check shows the reading
  cannot hold with the other figures. Inversion and a witness cohort decide
  more.
- **Undetermined quantities.** Exact bounds where the printed figures give
  them (:func:`km_followed_beyond_median`, :func:`frechet_bounds`) and a summary of
  quantities over many consistent cohorts (:func:`summarise_samples`).

Examples
--------
The toy study of the tests (``tests/data/toy/``) prints its group sizes and
a remission rate of 80.0% in group a:

>>> from cart_lib import ledger
>>> facts = CountFacts(ledger.load("toy"))
>>> facts.size_of("group == 'a'"), facts.size_of("group == 'a'", "cr_d30")
(10, 8)
>>> all(c.holds for c in facts.checks)
True
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np
import pandas as pd

from ..core import expressions, paths, printed
from ..core.errors import LedgerError
from ..stats import inversion
from ..ledger import Claim, Ledger, Reading, UNITS, expand_names

#: Largest numeric grid treated as a finite set of values (larger ones stay opaque).
MAX_GRID = 200


# ====================================================================== selections

@dataclass(frozen=True)
class Selection:
    """A set of patients as a conjunction: allowed values per column, and opaque conditions.

    Attributes
    ----------
    columns : frozenset of (str, frozenset)
        For each constrained column with a finite domain, the values allowed.
    opaque : frozenset of str
        Conditions over several or unbounded columns, in canonical text.
    """

    columns: frozenset = frozenset()
    opaque: frozenset = frozenset()

    def constraint(self, column: str):
        """The values this selection allows for ``column``, or None if unconstrained."""
        for name, values in self.columns:
            if name == column:
                return values
        return None

    def without(self, column: str) -> Selection:
        """The same selection with ``column`` unconstrained."""
        return Selection(frozenset((n, v) for n, v in self.columns if n != column), self.opaque)


class Domains:
    """The finite value sets a ledger's columns can take, and conversion of expressions.

    Parameters
    ----------
    ledger : Ledger
        The study's ledger: its groups, record domains and variables.
    """

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.compiler = ledger.compiler()
        groups = ledger.groups
        self.dtypes = ledger.dtypes()
        self.group_level = {"group"} | {c for c in self.dtypes
                                        if groups and all(c in a for a in groups.values())}
        self.values: dict[str, tuple] = {"group": tuple(groups)}
        self.where: dict[str, str | None] = {}
        for column, domain in ledger.record.items():
            dtype = self.dtypes[column]
            if domain.log:
                continue
            values = tuple(domain.grid(dtype).tolist())
            if len(values) > MAX_GRID:
                continue
            self.values[column] = values
            self.where[column] = domain.where

    # ------------------------------------------------------------ parsing
    def selection(self, *texts: str | None) -> Selection:
        """The conjunction of expressions as a :class:`Selection` (None and "True" add nothing)."""
        columns: dict[str, frozenset] = {}
        opaque: set[str] = set()
        for text in texts:
            if text is None:
                continue
            for node in self._conjuncts(ast.parse(text, mode="eval").body):
                column, values = self._constraint(node)
                if column is not None and self.where.get(column) and values and \
                        not self._holds_when_empty(node, column):
                    # A condition false on an empty value selects only patients the
                    # column applies to.
                    for c, v in self.selection(self.where[column]).columns:
                        columns[c] = columns[c] & v if c in columns else v
                if column is None:
                    opaque.add(ast.unparse(node))
                elif column in columns:
                    columns[column] = columns[column] & values
                else:
                    columns[column] = values
        # A constraint that allows every value is no constraint.
        kept = {c: v for c, v in columns.items() if v != frozenset(self.values[c])}
        return Selection(frozenset(kept.items()), frozenset(opaque))

    def _conjuncts(self, node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            return [c for v in node.values for c in self._conjuncts(v)]
        if isinstance(node, ast.Constant) and node.value is True:
            return []
        if isinstance(node, ast.Name) and node.id in self.ledger.variables:
            var = self.ledger.variables[node.id]
            if var.expr:
                return self._conjuncts(ast.parse(var.expr, mode="eval").body)
            return [ast.Name(var.column, ast.Load())]
        return [node]

    def _constraint(self, node: ast.expr) -> tuple[str | None, frozenset]:
        """The single column a condition constrains and the values it allows (or None)."""
        text = ast.unparse(node)
        columns = expand_names(expressions.names(text), self.ledger)
        if columns and columns <= self.group_level:
            table = {"group": np.array(list(self.ledger.groups), dtype=object)}
            for column in columns - {"group"}:
                raw = [a[column] for a in self.ledger.groups.values()]
                table[column] = (np.array(raw, dtype=object) if isinstance(raw[0], str)
                                 else np.array(raw, dtype=float))
            mask = self.compiler.mask(text)(table)
            return "group", frozenset(g for g, m in zip(self.ledger.groups, mask) if m)
        if len(columns) == 1:
            (column,) = columns
            if column in self.values:
                values = self.values[column]
                array = (np.array(values, dtype=object) if isinstance(values[0], str)
                         else np.array(values, dtype=float))
                mask = self.compiler.mask(text)({column: array})
                return column, frozenset(v for v, m in zip(values, mask) if m)
        return None, frozenset()

    def _holds_when_empty(self, node: ast.expr, column: str) -> bool:
        empty = (np.array([None], dtype=object) if isinstance(self.values[column][0], str)
                 else np.array([np.nan]))
        return bool(self.compiler.mask(ast.unparse(node))({column: empty})[0])

    # ------------------------------------------------------------ relations
    def subset(self, a: Selection, b: Selection) -> bool:
        """Whether every patient of ``a`` is in ``b``, as far as their conditions show."""
        if not b.opaque <= a.opaque:
            return False
        for column, values in b.columns:
            mine = a.constraint(column)
            if mine is None or not mine <= values:
                return False
        return True

    def covers(self, base: Selection, column: str) -> bool:
        """Whether every patient of ``base`` has a value of ``column`` (it is never empty there)."""
        where = self.where.get(column)
        return where is None or self.subset(base, self.selection(where))

    def describe(self, sel: Selection) -> str:
        """A selection in words a reader can check against the ledger."""
        parts = []
        for column, values in sorted(sel.columns, key=lambda cv: cv[0]):
            shown = sorted(_show(v, self.dtypes.get(column)) for v in values)
            parts.append(f"{column} = {shown[0]}" if len(shown) == 1
                         else f"{column} in {{{', '.join(shown)}}}")
        parts += sorted(sel.opaque)
        return " and ".join(parts) or "all patients"


def _show(value, dtype: str | None) -> str:
    if dtype == "bool":
        return "yes" if value else "no"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


# ====================================================================== count facts

@dataclass
class Fact:
    """The size of a set of patients, and where it comes from."""

    selection: Selection
    size: int
    source: str          #: claim id(s), or the derivation
    how: str             #: ``printed``, ``inverted`` or ``derived``
    basis: frozenset = frozenset()   #: the claims the size rests on
    formula: str = ""    #: for a derived size, the arithmetic behind it

    @property
    def shown(self) -> str:
        """The size, with the arithmetic behind it where it is derived."""
        return f"{self.size} (= {self.formula})" if self.formula else str(self.size)


@dataclass
class Check:
    """One arithmetic or range relation between printed figures, and whether it holds."""

    kind: str
    claims: tuple[str, ...]
    statement: str
    holds: bool
    roles: tuple[str, ...] = ()   #: the printed roles at stake, for a check of one claim's figure

    @property
    def named(self) -> str:
        """The check as an error names it: claims, roles, and what fails."""
        roles = f" ({', '.join(self.roles)})" if self.roles else ""
        return f"{', '.join(self.claims)}{roles}: {self.statement}"


class FigureChecks:
    """The checks of each printed figure against the sizes :class:`CountFacts` knows.

    A percentage against its count and denominator, and, before any search
    (:meth:`figure_checks`), every count, percentage, interval and 2x2
    p-value against the sizes the figures fix. Mixed into :class:`CountFacts`,
    whose ``ledger``, ``domains``, ``checks``, ``reading`` and ``size_of`` it reads.
    """

    def percent_of(self, claim: Claim, reading: Reading) -> tuple[int, int] | None:
        """Count and denominator behind a claim's percentage, printed or fixed by other figures."""
        numbers = {role: tok.value for role, tok in claim.numbers().items()}
        k = numbers.get("count", self.size_of(reading.population, reading.event))
        n = numbers.get("denominator", self.size_of(reading.population))
        return None if k is None or not n else (int(k), int(n))

    def _percent_check(self, claim: Claim, reading: Reading) -> None:
        if "percent" not in claim.reads or not reading.measure.proportion:
            return
        token, step = claim.numbers()["percent"], claim.precision["percent"]
        convention = reading.rounding
        named = _convention_words(convention)
        roles = tuple(r for r in ("count", "denominator", "percent") if r in claim.reads)
        got = self.percent_of(claim, reading)
        if got is None:
            # No count is known: some count of the known denominator must print as printed.
            n = self.size_of(reading.population)
            if not n:
                return
            fits = [k for k in range(n + 1)
                    if printed.rounds_to(100 * k / n, token.value, step, convention)]
            statement = (f"some k/{n} prints as {token.text}% {named}" if fits else
                         f"no k/{n} prints as {token.text}% {named}"
                         + _other_conventions(token.value, step, n, convention))
            self.checks.append(Check("percentage", (claim.id,), statement, bool(fits), roles))
            return
        k, n = got
        value = 100 * k / n
        holds = printed.rounds_to(value, token.value, step, convention)
        statement = f"{k}/{n} = {printed.fmt(value, token.decimals)}% against printed {token.text}%"
        if not holds:
            statement += f" ({named})" + _other_conventions(token.value, step, n, convention, k)
        self.checks.append(Check("percentage", (claim.id,), statement, holds, roles))

    # ------------------------------------------------------------ figures
    def figure_checks(self) -> list[Check]:
        """Each figure's own numbers against the sizes the printed figures fix.

        Beyond the percentage checks (which every report shows), these ask
        whether a figure can print at all: a count no larger than the
        denominator printed with it; a percentage whose denominator is not
        known, at some denominator up to the cohort's size; a proportion's
        interval, at its count and denominator where they are known, else at
        any up to the cohort's size (:func:`cart_lib.inversion.feasible_proportions`);
        a p-value of a 2x2 table, at group sizes the figures fix
        (:func:`cart_lib.inversion.feasible_tables`). Each names the claim and
        the roles at stake; only the adopted readings are checked.
        """
        try:
            total = cohort_size(self.ledger, self)
        except LedgerError:
            total = None
        out: list[Check] = []
        for claim in self.ledger.claims:
            reading = self.reading(claim)
            numbers = {role: tok.value for role, tok in claim.numbers().items()}
            if reading.measure.proportion and {"count", "denominator"} <= numbers.keys():
                k, n = int(numbers["count"]), int(numbers["denominator"])
                out.append(Check("count", (claim.id,), f"count {k} within its denominator {n}",
                                 k <= n, ("count", "denominator")))
            if reading.measure.proportion and "percent" in numbers and total and \
                    not {"ci_low", "ci_high"} & numbers.keys() and \
                    self.percent_of(claim, reading) is None and \
                    not self.size_of(reading.population):
                out.append(self._percent_anywhere(claim, reading, total))
            if reading.measure.proportion and {"ci_low", "ci_high"} & numbers.keys():
                check = self._interval_check(claim, reading, total)
                if check is not None:
                    out.append(check)
            if reading.measure.takes_groups and "p" in numbers:
                check = self._table_check(claim, reading)
                if check is not None:
                    out.append(check)
        return out

    def _percent_anywhere(self, claim: Claim, reading: Reading, total: int) -> Check:
        """A percentage of a population of unknown size: some k/n, n up to the cohort, prints it."""
        token, step = claim.numbers()["percent"], claim.precision["percent"]
        fits = [(k, n) for n in range(1, total + 1) for k in range(n + 1)
                if printed.rounds_to(100 * k / n, token.value, step, reading.rounding)]
        statement = (f"some k/n with n up to {total} patients prints as {token.text}% "
                     f"{_convention_words(reading.rounding)}")
        if not fits:
            statement = "no" + statement[4:]
            others = [(k, n, name) for name in printed.CONVENTIONS if name != reading.rounding
                      for n in range(1, total + 1) for k in range(n + 1)
                      if printed.rounds_to(100 * k / n, token.value, step, name)]
            statement += "".join(f"; {k}/{n} does {_convention_words(name)}"
                                 for k, n, name in others[:3]) or \
                "; nor does any under another convention"
        return Check("percentage", (claim.id,), statement, bool(fits), ("percent",))

    def _interval_check(self, claim: Claim, reading: Reading, total: int | None) -> Check | None:
        """Whether a count and denominator the figures allow print as the proportion and its interval."""
        measure, numbers = reading.measure, claim.numbers()
        if not hasattr(measure, "method"):
            return None
        method, convention = measure.method(reading), reading.rounding
        reads = tuple((r, numbers[r].value, claim.precision[r]) for r in claim.reads
                      if r in ("percent", "ci_low", "ci_high"))
        level = (numbers["level"].value if "level" in numbers else 95.0) / 100
        roles = tuple(r for r in claim.reads if r in ("count", "denominator", "percent",
                                                       "ci_low", "ci_high"))
        words = _convention_words(convention)
        known = self.percent_of(claim, reading)
        n = known[1] if known else self.size_of(reading.population)
        if not n:
            if not total:
                return None
            fits = inversion.feasible_proportions(reads, level, total, method, convention)
            statement = (f"some k/n with n up to {total} patients prints as {claim.printed!r} "
                         f"with the {method} interval {words}")
            if not fits:
                statement = "no" + statement[4:] + _other_intervals(
                    reads, level, None, method, convention, (), total)
            return Check("interval", (claim.id,), statement, bool(fits), roles)
        counts = [known[0]] if known else list(range(n + 1))
        if "percent" in numbers:
            token, step = numbers["percent"], claim.precision["percent"]
            counts = [k for k in counts
                      if printed.rounds_to(100 * k / n, token.value, step, convention)]
            if not counts:
                return None            # the percentage check names it
        fits = [k for k in counts if _prints(reads, level, k, n, method, convention)]
        if fits:
            return Check("interval", (claim.id,),
                         f"{', '.join(f'{k}/{n}' for k in fits)} "
                         f"{'prints' if len(fits) == 1 else 'print'} as {claim.printed!r} "
                         f"with the {method} interval {words}", True, roles)
        def miss(k: int) -> float:     # how far k/n's interval is from the printed one
            low, high = _proportion_ci(k, n, level, method)
            got = {"ci_low": 100 * low, "ci_high": 100 * high}
            return sum(abs(got[r] - v) for r, v, _ in reads if r in got)

        shown = []
        for k in sorted(counts, key=miss)[:2]:
            low, high = _proportion_ci(k, n, level, method)
            shown.append(f"{k}/{n} gives {_ci_text(claim, 100 * k / n, 100 * low, 100 * high)}")
        statement = (f"no k/{n} prints as {claim.printed!r} with the {method} interval {words} "
                     f"({'; '.join(shown)})"
                     + _other_intervals(reads, level, n, method, convention, counts, total))
        return Check("interval", (claim.id,), statement, False, roles)

    def _table_check(self, claim: Claim, reading: Reading) -> Check | None:
        """Whether a p-value of a 2x2 table can print at the group sizes the figures fix."""
        test = reading.test
        # Boschloo's test is left out: enumerating its tables takes seconds.
        if not reading.measure.invertible(reading) or test not in inversion.TWO_BY_TWO or \
                test is inversion.Test.boschloo_exact:
            return None
        n1 = self.size_of(reading.population, reading.groups[0])
        n2 = self.size_of(reading.population, reading.groups[1])
        if not n1 or not n2:
            return None
        token, step = claim.numbers()["p"], claim.precision["p"]
        fits = inversion.feasible_tables(test, reading.direction, token.value, step, n1, n2)
        way = {"first_higher": ", the first group higher", "first_lower": ", the first group "
               "lower", None: ""}[reading.direction]
        statement = (f"{len(fits)} table(s) of {n1} vs {n2} patients give p = {token.text} "
                     f"under {test.value}{way}")
        if not fits:
            others = [t.value for t in inversion.TWO_BY_TWO if t is not test
                      and t is not inversion.Test.boschloo_exact
                      and inversion.feasible_tables(t, reading.direction, token.value, step, n1, n2)]
            statement = (f"no table of {n1} vs {n2} patients gives p = {token.text} under "
                         f"{test.value}{way}"
                         + (f"; {' and '.join(others)} {'does' if len(others) == 1 else 'do'}"
                            if others else "; nor does another 2x2 test"))
        return Check("p-value", (claim.id,), statement, bool(fits), ("p",))


class CountFacts(FigureChecks):
    """Sizes of patient sets fixed by a study's printed figures, and the checks among them.

    Parameters
    ----------
    ledger : Ledger
    replace : mapping of str to Reading, optional
        Readings to use instead of the adopted ones, by claim id (to test an
        alternative reading against the other figures).
    """

    def __init__(self, ledger: Ledger, replace: Mapping[str, Reading] | None = None):
        self.ledger = ledger
        self.domains = Domains(ledger)
        self.replace = dict(replace or {})
        self.facts: list[Fact] = []
        self.checks: list[Check] = []
        self._sizes: dict[Selection, Fact] = {}
        self._seen: set[tuple] = set()
        self._parts: set[tuple[Selection, Selection]] = set()
        for claim in ledger.claims:
            self._printed_facts(claim, self.reading(claim))
        self._derive()
        for claim in ledger.claims:
            self._inverted_facts(claim, self.reading(claim))
        self._derive()
        self._subset_checks()
        for claim in ledger.claims:
            self._percent_check(claim, self.reading(claim))
        unique: dict[str, Check] = {}
        for check in self.checks:
            unique.setdefault(check.statement, check)
        self.checks = list(unique.values())

    def reading(self, claim: Claim) -> Reading:
        """The reading in use for a claim."""
        return self.replace.get(claim.id, claim.adopted)

    # ------------------------------------------------------------ facts
    def size_of(self, *texts: str | None) -> int | None:
        """The size of the set a conjunction of expressions selects, if the figures fix it."""
        fact = self._sizes.get(self.domains.selection(*texts))
        return fact.size if fact else None

    def _add(self, sel: Selection, size: int, source: str, how: str,
             basis: frozenset | None = None, formula: str = "") -> None:
        size = int(size)
        basis = basis if basis is not None else frozenset({source})
        known = self._sizes.get(sel)
        if known is None:
            fact = Fact(sel, size, source, how, basis, formula)
            self.facts.append(fact)
            self._sizes[sel] = fact
            return
        if known.source == source:
            return
        other = Fact(sel, size, source, how, basis, formula)
        if _informative([known, other]):
            self.checks.append(Check(
                "restated", _ids(known.source, source),
                f"{self.domains.describe(sel)}: {known.shown} ({known.source}) and "
                f"{other.shown} ({source})", known.size == size))

    def _printed_facts(self, claim: Claim, reading: Reading) -> None:
        for parts, count in reading.measure.printed_counts(claim, reading):
            self._add(self.domains.selection(*parts), count, claim.id, "printed")

    def _inverted_facts(self, claim: Claim, reading: Reading) -> None:
        """Counts a p-value or an interval pins down on its own."""
        for parts, count in reading.measure.pinned_counts(claim, reading, self.size_of):
            self._add(self.domains.selection(*parts), count, claim.id, "inverted")

    # ------------------------------------------------------------ partitions
    def _derive(self) -> None:
        """Add sizes implied by partitions, and check every partition the facts complete."""
        for _ in range(10):
            before = len(self.facts)
            for fact in list(self.facts):
                for column, _values in sorted(fact.selection.columns, key=lambda cv: cv[0]):
                    self._partition(fact.selection.without(column), column, self._seen)
            if len(self.facts) == before:
                break

    def _partition(self, base: Selection, column: str, seen: set) -> None:
        if not self.domains.covers(base, column):
            return
        allowed = base.constraint(column) or frozenset(self.domains.values[column])
        rest = base.without(column)
        parts = [f for f in self.facts if f.selection.without(column) == rest
                 and (f.selection.constraint(column) or allowed) < allowed]
        disjoint = _disjoint_cover(parts, column, allowed)
        total = self._sizes.get(base)
        for chosen in disjoint:
            key = (base, tuple(sorted(id(f) for f in chosen)), total is not None)
            if key in seen:
                continue
            seen.add(key)
            covered = frozenset().union(*(f.selection.constraint(column) for f in chosen))
            names = _ids(*(f.source for f in chosen))
            terms = " + ".join(str(f.size) for f in chosen)
            value = sum(f.size for f in chosen)
            basis = frozenset().union(*(f.basis for f in chosen))
            split = f"{self.domains.describe(base)}, split by {column}"
            if covered == allowed:
                if total is None:
                    self._add(base, value, f"sum of {', '.join(names)}", "derived", basis, terms)
                elif _informative([total, *chosen]):
                    self._parts.update((f.selection, base) for f in chosen)
                    self.checks.append(Check(
                        "adds up", _ids(total.source, *names),
                        f"{split}: {' + '.join(f.shown for f in chosen)} = {value}, "
                        f"total {total.shown}", value == total.size))
            elif total is not None:
                missing = allowed - covered
                part = Selection(rest.columns | {(column, missing)}, rest.opaque)
                if missing == frozenset(self.domains.values[column]):
                    part = rest
                holds = value <= total.size
                if len(chosen) > 1 and _informative([total, *chosen]):
                    self.checks.append(Check(
                        "within total", _ids(total.source, *names),
                        f"{split}: {' + '.join(f.shown for f in chosen)} = {value}, "
                        f"at most {total.shown}", holds))
                if holds and part not in self._sizes:
                    self._add(part, total.size - value,
                              f"{total.source} less {', '.join(names)}", "derived",
                              total.basis | basis, f"{total.size} - {terms.replace(' + ', ' - ')}")

    # ------------------------------------------------------------ checks
    def _subset_checks(self) -> None:
        """Each set is no larger than the smallest known sets that contain it."""
        for fact in self.facts:
            parents = [f for f in self.facts if f is not fact
                       and self.domains.subset(fact.selection, f.selection)
                       and f.selection != fact.selection]
            direct = [p for p in parents if not any(
                q is not p and self.domains.subset(q.selection, p.selection)
                and q.selection != p.selection and self.domains.subset(fact.selection, q.selection)
                for q in parents)]
            for parent in direct:
                if not _informative([fact, parent]) or \
                        (fact.selection, parent.selection) in self._parts:
                    continue
                self.checks.append(Check(
                    "subset", _ids(fact.source, parent.source),
                    f"{self.domains.describe(fact.selection)}: {fact.shown}, within "
                    f"{self.domains.describe(parent.selection)}: {parent.shown}",
                    fact.size <= parent.size))


def _ci_text(claim: Claim, percent: float, low: float, high: float) -> str:
    """A proportion and its interval at the claim's printed precision."""
    decimals = {r: printed.decimals_of(claim.precision[r]) for r in claim.reads}
    return (f"{printed.fmt(percent, decimals.get('percent', 1))}% "
            f"({printed.fmt(low, decimals.get('ci_low', 1))}–"
            f"{printed.fmt(high, decimals.get('ci_high', 1))}%)")


@lru_cache(maxsize=None)
def _proportion_ci(k: int, n: int, level: float, method: str) -> tuple[float, float]:
    return inversion.intervals.proportion_ci(k, n, level, method)


def _prints(reads: tuple, level: float, k: int, n: int, method: str,
            convention: str | None) -> bool:
    """Whether k/n and its interval print as ``reads`` ((role, value, step) of percent and bounds)."""
    low, high = _proportion_ci(k, n, level, method)
    got = {"percent": 100 * k / n, "ci_low": 100 * low, "ci_high": 100 * high}
    return all(printed.rounds_to(got[r], v, s, convention) for r, v, s in reads)


def _other_intervals(reads: tuple, level: float, n: int | None, method: str,
                     convention: str | None, counts, total: int | None) -> str:
    """Where an interval fails: the methods, conventions and denominators under which it prints."""
    found = []
    for other in inversion.intervals.PROPORTION_INTERVALS:
        for name in (convention, *printed.CONVENTIONS):
            if (other, name) == (method, convention):
                continue
            if n is not None:
                fits = [(k, n) for k in counts if _prints(reads, level, k, n, other, name)]
            elif total:
                fits = inversion.feasible_proportions(reads, level, total, other, name)
            else:
                fits = []
            if fits:
                found.append(f"{fits[0][0]}/{fits[0][1]} does with the {other} interval"
                             + ("" if name == convention else f" {_convention_words(name)}"))
                break
    out = "; " + "; ".join(found[:3]) if found else "; nor with another interval or convention"
    if total and n is not None:
        anywhere = inversion.feasible_proportions(reads, level, total, method, convention)
        anywhere = [f"{k}/{m}" for k, m in anywhere if m != n][:3]
        out += (f"; with the {method} interval, {', '.join(anywhere)} "
                f"{'does' if len(anywhere) == 1 else 'do'}" if anywhere else
                f"; no k/n with n up to {total} does with the {method} interval")
    return out


def cohort_size(ledger: Ledger, facts: CountFacts | None = None) -> int:
    """How many patients the study has: its size claim's count, else the sum of its groups' sizes.

    Without a ``size_claim``, every group's size must be fixed by the printed
    figures (:class:`CountFacts`: a count of the group, or what partitions
    derive).

    Raises
    ------
    LedgerError
        When neither a size claim nor the groups' sizes fix it; the message
        says what to add.

    Examples
    --------
    >>> from cart_lib import ledger
    >>> cohort_size(ledger.load("hu2019"))
    31
    """
    if ledger.size_claim is not None:
        return int(ledger.claim(ledger.size_claim).numbers()["count"].value)
    facts = facts if facts is not None else CountFacts(ledger)
    sizes = {group: facts.size_of(f"group == {group!r}") for group in ledger.groups}
    missing = [group for group, size in sizes.items() if size is None]
    if missing:
        file = paths.relative(ledger.path) if ledger.path else ledger.study
        raise LedgerError(file, None, "size_claim",
                          f"no size_claim, and no printed figure fixes the size of group(s) "
                          f"{', '.join(repr(g) for g in missing)}: name a claim that counts "
                          f"the whole cohort as size_claim, or add a count of each such group "
                          f"(for example event \"group == {missing[0]!r}\" in population "
                          f"\"True\")")
    return sum(sizes.values())


def _other_conventions(value: float, step: float, n: int, convention: str | None,
                       k: int | None = None) -> str:
    """Where a printed percentage fails: the conventions under which it would print, if any.

    >>> _other_conventions(23.07, 0.01, 13, None)
    '; 3/13 does when truncated'
    """
    counts = [k] if k is not None else range(n + 1)
    found = [(j, name) for name in printed.CONVENTIONS if name != convention for j in counts
             if printed.rounds_to(100 * j / n, value, step, name)]
    words = {"half-up": "rounding half up", "half-even": "rounding half to even",
             "truncate": "truncated"}
    if found:
        return "".join(f"; {j}/{n} does when {words[name]}" if name == "truncate" else
                       f"; {j}/{n} does {words[name]}" for j, name in found)
    if k is None:
        return "; nor does any under another convention"
    # The printed count cannot give it: say which counts of the same denominator would.
    others = sorted({j for name in (convention, *printed.CONVENTIONS) for j in range(n + 1)
                     if printed.rounds_to(100 * j / n, value, step, name)})
    return (f"; {k}/{n} prints so under no convention, "
            + (f"and no k/{n} does" if not others else
               " and ".join(f"{j}/{n}" for j in others) + (" does" if len(others) == 1
                                                             else " do")))


def _convention_words(convention: str | None) -> str:
    """A reading's rounding convention in words.

    >>> _convention_words(None), _convention_words("half-up")
    ('under every rounding convention', 'rounding half up')
    """
    words = {"half-up": "rounding half up", "half-even": "rounding half to even",
             "truncate": "truncated"}
    return words[convention] if convention else "under every rounding convention"


def _informative(facts: list[Fact]) -> bool:
    """Whether a relation among facts can fail: no fact may rest on all the others' claims.

    A size derived from a partition satisfies that partition by construction;
    checking it again would only restate the derivation.
    """
    if sum(f.how == "derived" for f in facts) > 1:
        return False     # a consequence of the checks behind each derived size
    for i, fact in enumerate(facts):
        others = frozenset().union(*(f.basis for j, f in enumerate(facts) if j != i))
        if others <= fact.basis:
            return False
    return True


def _ids(*sources: str) -> tuple[str, ...]:
    out: list[str] = []
    for source in sources:
        for part in source.replace("sum of ", "").replace(" less ", ", ").split(", "):
            if part and part not in out:
                out.append(part)
    return tuple(out)


def _disjoint_cover(parts: list[Fact], column: str, allowed: frozenset) -> list[list[Fact]]:
    """Maximal sets of pairwise disjoint parts (at most a few; parts are few)."""
    if not parts or len(parts) > 12:
        return []
    out = []
    for size in range(len(parts), 0, -1):
        for combo in combinations(parts, size):
            values = [f.selection.constraint(column) for f in combo]
            if sum(len(v) for v in values) != len(frozenset().union(*values)):
                continue
            if any(set(map(id, combo)) < set(map(id, o)) for o in out):
                continue
            out.append(list(combo))
    # Keep covers of the whole domain and, otherwise, the largest disjoint families.
    full = [c for c in out if frozenset().union(*(f.selection.constraint(column) for f in c))
            == allowed]
    return full or out[:1]


# ====================================================================== ranges

#: Endpoints whose time is the time to death or last contact.
_LAST_CONTACT = {"overall_survival", "follow_up"}


@dataclass
class Span:
    """Times a reading reports over a set of patients: its median, minimum and maximum (days)."""

    claim: str
    selection: Selection
    kind: str                     #: ``last_contact`` or ``lfs`` (leukaemia-free survival)
    low: tuple[float, float] | None = None   #: rounding interval of the minimum
    high: tuple[float, float] | None = None  #: rounding interval of the maximum
    median: tuple[float, float] | None = None
    single: bool = False          #: a day every patient of the set shares
    bound: tuple[str, float] | None = None   #: comparator and bound, in days


def spans(ledger: Ledger, domains: Domains | None = None,
          replace: Mapping[str, Reading] | None = None) -> list[Span]:
    """The time ranges, medians, days and bounds a study printed, in record days."""
    domains = domains or Domains(ledger)
    out = []
    for claim in ledger.claims:
        reading = (replace or {}).get(claim.id, claim.adopted)
        kind = _time_kind(reading)
        if kind is None:
            continue
        holds = {r: (a * reading.scale, b * reading.scale) for r, (a, b) in claim.holds_for().items()}
        span = Span(claim.id, domains.selection(reading.population), kind)
        fixed = reading.measure.time_span(claim, reading, holds)
        if fixed is None:
            continue
        each = fixed.pop("each", None)
        if each:
            span.selection = domains.selection(reading.population, each)
        for name, value in fixed.items():
            setattr(span, name, value)
        out.append(span)
    return out


def _time_kind(reading: Reading) -> str | None:
    if reading.variable == "last_contact_day" or (
            reading.endpoint is not None and reading.endpoint in _LAST_CONTACT):
        return "last_contact"
    if reading.endpoint is not None and reading.endpoint == "leukemia_free_survival":
        return "lfs"
    return None


def range_checks(ledger: Ledger, replace: Mapping[str, Reading] | None = None) -> list[Check]:
    """Checks among printed times: medians within ranges, nested populations, bounds.

    Times to death or last contact over a set of patients must lie within
    the range printed for any set that contains it, and equal it for the
    same set; leukaemia-free survival ends no later than that time, so its
    range over a set starts and ends no later than theirs.
    """
    domains = Domains(ledger)
    items = spans(ledger, domains, replace)
    checks = []
    for s in items:
        if s.median and s.low and s.high:
            ok = s.low[0] < s.median[1] and s.median[0] < s.high[1]
            checks.append(Check("median in range", (s.claim,),
                                f"{s.claim}: median within its range", ok))
    for a, b in combinations(items, 2):
        for x, y in ((a, b), (b, a)):
            if not (x.low and y.low) or not domains.subset(x.selection, y.selection):
                continue
            same = x.selection == y.selection
            if same and (x, y) != (a, b):
                continue
            where = domains.describe(x.selection if same else y.selection)
            if x.kind == y.kind:
                inside = x.low[1] > y.low[0] and x.high[0] < y.high[1]
                statement = (f"{x.claim} and {y.claim}: the same times ({where}) print the same "
                             f"range" if same and not x.single and not y.single else
                             f"{x.claim} within the range of {y.claim} ({where})")
                if same and not x.single and not y.single:
                    inside = _overlap(x.low, y.low) and _overlap(x.high, y.high)
                checks.append(Check("ranges", (x.claim, y.claim), statement, inside))
            elif same and {x.kind, y.kind} == {"lfs", "last_contact"}:
                lfs, last = (x, y) if x.kind == "lfs" else (y, x)
                ok = lfs.low[0] < last.low[1] and lfs.high[0] < last.high[1]
                checks.append(Check("ranges", (lfs.claim, last.claim),
                                    f"{lfs.claim} ends no later than {last.claim} ({where})", ok))
    for s in items:
        if s.bound is None:
            continue
        for t in items:
            if t.high and t.selection == s.selection and t.kind == s.kind:
                comparator, bound = s.bound
                ok = {"<=": t.high[0] <= bound, "<": t.high[0] < bound,
                      ">=": t.low[1] > bound, ">": t.low[1] > bound}[comparator]
                checks.append(Check("bound", (t.claim, s.claim),
                                    f"{t.claim} respects the bound {comparator} {bound:.1f} "
                                    f"days of {s.claim}", ok))
    return checks


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# ====================================================================== reports

def arithmetic_frame(ledger: Ledger) -> pd.DataFrame:
    """Every arithmetic and range check of a study's adopted readings, one row each."""
    facts = CountFacts(ledger)
    rows = [{"study": ledger.study, "kind": c.kind, "claims": ", ".join(c.claims),
             "check": c.statement, "holds": "yes" if c.holds else "NO"}
            for c in facts.checks + range_checks(ledger)]
    return pd.DataFrame(rows)


def derived_frame(ledger: Ledger) -> pd.DataFrame:
    """Sizes the figures fix without printing them: derived from partitions or inverted."""
    facts = CountFacts(ledger)
    rows = [{"study": ledger.study, "patients": facts.domains.describe(f.selection),
             "size": f.size, "how": f.how, "from": f.source}
            for f in facts.facts if f.how != "printed"]
    return pd.DataFrame(rows, columns=["study", "patients", "size", "how", "from"])


def failed_checks(ledger: Ledger, replace: Mapping[str, Reading] | None = None,
                  figures: bool = False) -> list[Check]:
    """The checks that fail when the given readings replace the adopted ones.

    With ``figures``, also each figure's own numbers against the sizes the
    printed figures fix (:meth:`CountFacts.figure_checks`): whether every
    count, percentage, interval and 2x2 p-value can print at all. This is
    what ``reconstruct`` runs before any search, from the ledger alone, in
    well under a second; every failure is listed, each naming its claims and
    the roles at stake (:attr:`Check.named`).

    Examples
    --------
    >>> from cart_lib import ledger
    >>> failed_checks(ledger.load("zhang2020"), figures=True)
    []
    """
    facts = CountFacts(ledger, replace)
    checks = facts.checks + range_checks(ledger, replace)
    if figures:
        checks += facts.figure_checks()
    return [c for c in checks if not c.holds]


@dataclass
class ReadingVerdict:
    """Whether one reading of an ambiguous figure can hold, and why."""

    study: str
    claim: str
    reading: str
    adopted: bool
    literal: bool
    verdict: str     #: ``feasible``, ``infeasible`` or ``not decided``
    reason: str
    feasible_set: int | None = None   #: configurations inversion admits, where it applies


def reading_verdicts(ledger: Ledger, table=None, evaluator=None,
                     searched: Mapping[tuple[str, str], dict] | None = None) -> list[ReadingVerdict]:
    """For every reading of every ambiguous claim: can it hold, and what shows it.

    Parameters
    ----------
    ledger : Ledger
    table : cohort table, optional
        A cohort matching every adopted reading: an alternative it also
        matches is thereby shown feasible together with the other figures.
    evaluator : Evaluator, optional
        The evaluator for ``table``.
    searched : mapping, optional
        Searches with an alternative reading adopted
        (:func:`cart_lib.reconstruct.load_readings`), by (claim, reading):
        they decide what no check and no cohort decides.
    """
    facts = CountFacts(ledger)
    out = []
    for claim in ledger.claims:
        if len(claim.readings) < 2:
            continue
        for reading in claim.readings:
            v = ReadingVerdict(ledger.study, claim.id, reading.id, reading.adopted,
                               reading.literal, "not decided", "")
            admitted, where = configurations(facts, claim, reading, table)
            v.feasible_set = None if admitted is None else len(admitted)
            failed = failed_checks(ledger, {claim.id: reading})
            if failed:
                v.verdict, v.reason = "infeasible", "; ".join(c.statement for c in failed)
            elif admitted is not None and not admitted:
                v.verdict = "infeasible"
                v.reason = f"no configuration of {where} gives the printed figure"
            elif table is not None and evaluator is not None and \
                    evaluator.reading_result(claim, reading, table).matched:
                v.verdict = "feasible"
                v.reason = ("the reconstructed cohort matches it together with every adopted "
                            "reading")
            elif admitted is not None:
                v.verdict = "feasible on its own"
                v.reason = f"{len(admitted)} configuration(s) of {where} fit"
            else:
                v.reason = "no check decides it; a search with this reading adopted would"
            search = (searched or {}).get((claim.id, reading.id))
            if search is not None and v.verdict in ("not decided", "feasible on its own"):
                if search["found"]:
                    v.verdict = "feasible"
                    v.reason = (f"a search with this reading adopted found a cohort that matches "
                                f"every other figure and obeys every timeline rule and stated "
                                f"fact (seed {search['seed']}, {search['moves']:,} moves)")
                else:
                    v.verdict = "not found"
                    v.reason = (f"no cohort matching it with every other figure, rule and fact "
                                f"was found within {search['moves']:,} moves; not proven "
                                f"infeasible")
            out.append(v)
    return out


def configurations(facts: CountFacts, claim: Claim, reading: Reading, table):
    """What inversion admits for a reading, at group sizes the figures fix (else any split)."""
    if not inversion.invertible(reading):
        return None, ""
    numbers = claim.numbers()
    if reading.measure.takes_groups and reading.test in inversion.TWO_BY_TWO:
        target, step = numbers["p"].value, claim.precision["p"]
        n1 = facts.size_of(reading.population, reading.groups[0])
        n2 = facts.size_of(reading.population, reading.groups[1])
        if n1 and n2:
            return (inversion.feasible_tables(reading.test, reading.direction, target, step,
                                              n1, n2),
                    f"{n1} vs {n2} patients (sizes the figures fix), {reading.test.value}")
        total = facts.size_of(reading.population)
        if total is None and table is not None:
            total = int(facts.domains.ledger.compiler().mask(reading.population)(table).sum())
        if not total:
            return None, ""
        return (inversion.feasible_tables_any_split(reading.test, reading.direction, target,
                                                    step, total),
                f"{total} patients split in any way, {reading.test.value}")
    if table is None:
        return None, ""
    inv = inversion.invert_reading(claim, reading, facts.ledger, table, any_split=False)
    return inv.feasible, f"{inv.sizes}, {inv.method}"


def invert_from_ledger(ledger: Ledger) -> list[tuple[Claim, Reading, object, str]]:
    """Invert every p-value and interval from the ledger alone, before any cohort exists.

    Group sizes come from the printed figures (:class:`CountFacts`). Returns,
    for each reading that prints a p-value or an interval, ``(claim,
    reading, inversion, why)``: the :class:`cart_lib.stats.inversion.ReadingInversion`,
    or None with the reason it cannot be inverted.
    """
    facts = CountFacts(ledger)
    out = []
    for claim in ledger.claims:
        for reading in claim.readings:
            if not inversion.prints_p_or_interval(claim):
                continue
            why = inversion.why_not_invertible(reading)
            if why:
                out.append((claim, reading, None, why))
                continue
            if not reading.measure.takes_groups:
                n = facts.size_of(reading.population) or cohort_size(ledger, facts)
                out.append((claim, reading, inversion.invert_sizes(claim, reading, n), ""))
                continue
            n1 = facts.size_of(reading.population, reading.groups[0])
            n2 = facts.size_of(reading.population, reading.groups[1])
            total = facts.size_of(reading.population)
            if n1 and n2:
                out.append((claim, reading, inversion.invert_sizes(claim, reading, n1, n2), ""))
            elif total and reading.test in inversion.TWO_BY_TWO:
                inv = inversion.ReadingInversion(
                    claim.id, reading.id, reading.test.value, f"total {total}, any split",
                    [], list(inversion.feasible_tables_any_split(
                        reading.test, reading.direction, claim.numbers()["p"].value,
                        claim.precision["p"], total)), reading.literal, reading.adopted)
                out.append((claim, reading, inv, ""))
            else:
                out.append((claim, reading, None, "the printed figures do not fix the sizes "
                                                  "of the two groups"))
    return out


def verdicts_frame(verdicts: Iterable[ReadingVerdict]) -> pd.DataFrame:
    """Reading verdicts as a table for the book."""
    rows = [{"study": v.study, "claim": v.claim, "reading": v.reading,
             "adopted": "yes" if v.adopted else "", "literal": "yes" if v.literal else "",
             "can hold": v.verdict, "why": v.reason} for v in verdicts]
    return pd.DataFrame(rows).set_index(["study", "claim", "reading"])


def infeasible_frame(ledger: Ledger, table=None) -> pd.DataFrame:
    """Claims marked infeasible as printed: every reading tried, and what inversion admits.

    Group sizes are those the printed figures fix; where they fix none, every
    split of the population is tried.
    """
    facts = CountFacts(ledger)
    rows = []
    for claim in ledger.claims:
        if not claim.infeasible_as_printed:
            continue
        for reading in claim.readings:
            found, where = configurations(facts, claim, reading, table)
            rows.append({"study": ledger.study, "claim": claim.id, "printed": claim.printed,
                         "reading": reading.id, "method": reading.method or "",
                         "tried": where, "configurations": None if found is None else len(found),
                         "literal": "yes" if reading.literal else "",
                         "adopted": "yes" if reading.adopted else ""})
    return pd.DataFrame(rows)


def slips_frame(ledgers: Iterable[Ledger]) -> pd.DataFrame:
    """Printed words that must be slips, with what they must mean; they change no number."""
    rows = [{"study": led.study, "printed": s.printed, "must mean": s.means,
             "where": str(s.locator), "claim": s.claim or "", "why": s.why}
            for led in ledgers for s in led.slips]
    return pd.DataFrame(rows, columns=["study", "printed", "must mean", "where", "claim", "why"])


# ====================================================================== undetermined

def km_followed_beyond_median(events_by_median: int, patients: int) -> int:
    """Most patients a Kaplan-Meier curve can still follow beyond its median time.

    If ``a`` patients remain at risk after the time the curve first falls to
    one half or below, and ``d`` events happened up to then, each factor of
    the product-limit estimate is at least ``s_{j+1} / s_j``, with ``s_j``
    the patients still at risk or failing at or after the ``j``-th event
    time; the product telescopes to at least ``a / (a + d)``, which is at
    most one half only if ``a <= d``. And the ``d`` patients who failed are
    not among the ``a``.

    Parameters
    ----------
    events_by_median : int
        An upper bound on the events up to and including the median time.
    patients : int
        Patients under the curve.

    Returns
    -------
    int
        The largest number of patients whose observed time can exceed the median.

    Examples
    --------
    >>> km_followed_beyond_median(6, 28)
    6
    >>> km_followed_beyond_median(7, 9)
    2
    """
    return int(min(events_by_median, patients - events_by_median))


def frechet_bounds(events: int, total: int, subgroup: int) -> tuple[int, int]:
    """Fewest and most of ``events`` among ``total`` patients that a subgroup can hold.

    Examples
    --------
    Two severe cases among 28 patients, 25 of whom had haploidentical donors:

    >>> frechet_bounds(2, 28, 25)
    (0, 2)
    """
    return max(0, events - (total - subgroup)), min(events, subgroup)


def summarise_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Summarise quantities over many cohorts that all match the published figures.

    Parameters
    ----------
    samples : DataFrame
        One row per sampled cohort, one numeric column per quantity (NaN where
        a cohort leaves it undefined, e.g. a median not reached).

    Returns
    -------
    DataFrame
        One row per quantity: ``cohorts`` (with a value), ``min``, ``median``,
        ``max`` and ``distinct`` values; ``pinned`` is ``yes`` when every
        cohort gives the same value.

    Examples
    --------
    >>> frame = pd.DataFrame({"deaths": [6, 6, 6], "os_1y": [0.3, 0.25, float("nan")]})
    >>> summarise_samples(frame)[["cohorts", "distinct", "pinned"]].to_dict("index")
    {'deaths': {'cohorts': 3, 'distinct': 1, 'pinned': 'yes'}, 'os_1y': {'cohorts': 2, 'distinct': 2, 'pinned': ''}}
    """
    rows = {}
    for name in samples.columns:
        values = pd.to_numeric(samples[name], errors="coerce").dropna().to_numpy(float)
        distinct = len(np.unique(values))
        rows[name] = {"cohorts": len(values),
                      "min": float(values.min()) if len(values) else math.nan,
                      "median": float(np.median(values)) if len(values) else math.nan,
                      "max": float(values.max()) if len(values) else math.nan,
                      "distinct": distinct,
                      "pinned": "yes" if distinct == 1 else ""}
    return pd.DataFrame.from_dict(rows, orient="index")
