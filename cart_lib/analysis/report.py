"""Tables of claims, for the command line and the book.

Each function returns plain rows or a pandas DataFrame, so that the CLI, the
chapters and the tests read the same thing.
"""

from __future__ import annotations

import pandas as pd

from .. import ledger as ledger_mod
from ..core import paths


def claim_rows(study: str | None = None) -> list[dict]:
    """One row per claim, in ledger order.

    Parameters
    ----------
    study : str, optional
        Restrict to one study; all studies when omitted.

    Returns
    -------
    list of dict
        Keys ``id``, ``study``, ``printed``, ``read`` (the value read for
        each role, in order), ``reproduced``, ``status``,
        ``statistic``, ``says``, ``locator``, ``holds_for``, ``reading``,
        ``rounding`` (the convention the figure needs, ``any`` when it prints
        the same under every one), ``alternatives``, ``question``,
        ``problems``. ``reproduced`` is the figure computed
        from the study's committed cohort, written as printed, and ``status``
        is ``match``, ``mismatch`` or ``infeasible-as-printed``; before a
        cohort exists they are None and ``pending``. ``problems`` lists what
        the ledger alone shows cannot hold about the figure
        (:func:`cart_lib.audit.failed_checks`, every figure against the sizes
        the printed figures fix), empty when nothing does.

    Examples
    --------
    >>> rows = claim_rows("toy")          # the toy study of the tests
    >>> [(row["id"], row["printed"], row["status"], row["read"]) for row in rows[:2]]
    [('total', '20 patients', 'match', {'count': 20}), ('n_a', '10 in group a', 'match', {'count': 10})]
    """
    from ..evaluate.audit import failed_checks

    studies = [study] if study else paths.studies()
    rows = []
    for slug in studies:
        led = ledger_mod.load(slug)
        problems: dict[str, list[str]] = {}
        for check in failed_checks(led, figures=True):
            for claim_id in check.claims:
                problems.setdefault(claim_id, []).append(check.named)
        results = {}
        if paths.cohort_path(slug).exists():
            from ..evaluate import Evaluator
            from ..reconstruct import load_table
            results = {r.claim.id: r for r in Evaluator(led).evaluate(load_table(slug))}
        for claim in led.claims:
            adopted = claim.adopted
            result = results.get(claim.id)
            rows.append({
                "id": claim.id,
                "study": led.study,
                "printed": claim.printed,
                "read": {role: int(tok.value) if tok.decimals == 0 else tok.value
                         for role, tok in claim.numbers().items()},
                "reproduced": result.adopted.reproduced if result else None,
                "status": result.status if result else "pending",
                "statistic": adopted.statistic.value,
                "says": claim.says,
                "locator": str(claim.locator),
                "holds_for": {role: list(iv) for role, iv in claim.holds_for().items()},
                "reading": adopted.id,
                "rounding": adopted.rounding or "any",
                "alternatives": [r.id for r in claim.readings if not r.adopted],
                "question": claim.question,
                "problems": problems.get(claim.id, []),
            })
    return rows


def read_text(read: dict) -> str:
    """The values a figure is read as, role by role: ``count=3, denominator=13, percent=23.07``.

    >>> read_text({"count": 3, "denominator": 13, "percent": 23.07, "p": 0.00001})
    'count=3, denominator=13, percent=23.07, p=0.00001'
    """
    from decimal import Decimal

    return ", ".join(f"{role}={Decimal(repr(value)):f}" for role, value in read.items())


def claims_frame(study: str) -> pd.DataFrame:
    """The claims of one study as a table for the book: printed, read, reproduced, status."""
    rows = claim_rows(study)
    frame = pd.DataFrame(rows)[["id", "printed", "read", "reproduced", "status", "statistic",
                                "reading", "rounding"]]
    frame["read"] = frame["read"].map(read_text)
    return frame.set_index("id")


def intervals_frame(claim: ledger_mod.Claim) -> pd.DataFrame:
    """For one claim: each printed number, its role, and the values that print the same."""
    rows = []
    convention = claim.adopted.rounding
    brackets = {None: "()", "half-up": "[)", "truncate": "[)"}
    for role, token in claim.numbers().items():
        low, high = claim.holds_for()[role]
        left, right = brackets.get(convention, "[]" if (token.value / claim.precision[role]) % 2
                                   == 0 else "()")
        rows.append({"role": role, "printed": token.text + ("%" if token.percent else ""),
                     "precision": claim.precision[role],
                     "holds for": f"{left}{low:g}, {high:g}{right}"})
    return pd.DataFrame(rows).set_index("role")


def facts_frame(study: str | None = None) -> pd.DataFrame:
    """Every fact the studies' texts state in words, with the sentence it rests on."""
    rows = [{"study": led.study, "fact": fact.id, "sentence": fact.sentence,
             "where": str(fact.locator), "says": fact.says, "patients": fact.population,
             "each of them": fact.holds}
            for led in ([ledger_mod.load(study)] if study else ledger_mod.load_all())
            for fact in led.facts]
    return pd.DataFrame(rows).set_index(["study", "fact"])


def rules_frame() -> pd.DataFrame:
    """The record's timeline rules, and which study records the columns each one reads.

    ``A`` in an expression stands for the study's earliest assessment day (a ledger rule).
    """
    from ..core import expressions
    from ..core.record import timeline_rules

    ledgers = ledger_mod.load_all()
    rows = []
    for rule in timeline_rules(None):
        names = (expressions.names(rule.population) | expressions.names(rule.holds)) - {"A"}
        row = {"rule": rule.id, "says": rule.says, "patients": rule.population,
               "each of them": rule.holds}
        for led in ledgers:
            waived = rule.id in led.rules.waive
            row[led.study] = "waived" if waived else ("applies" if names <= led.recorded()
                                                      else "not recorded")
        rows.append(row)
    return pd.DataFrame(rows).set_index("rule")


def ambiguities_frame(study: str | None = None) -> pd.DataFrame:
    """Every reading of every claim that has more than one, with its status in the ledger."""
    rows = []
    for led in ([ledger_mod.load(study)] if study else ledger_mod.load_all()):
        for claim in led.claims:
            if len(claim.readings) < 2:
                continue
            for reading in claim.readings:
                rows.append({"study": led.study, "claim": claim.id, "question": claim.question,
                             "reading": reading.id,
                             "adopted": "yes" if reading.adopted else "",
                             "literal": "yes" if reading.literal else "",
                             "why": reading.why or ""})
    return pd.DataFrame(rows).set_index(["study", "claim", "reading"])
