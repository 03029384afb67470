"""Every error of the library, under :class:`CartError`: bad input ends in one clear message.

Each names what is wrong where: the file, the claim or patient, the field and
the rule. The modules that raise them re-export them under their old names.
"""

from __future__ import annotations


class CartError(Exception):
    """Base class: bad input that the user can fix.

    The message names the file, the row or claim, and the rule broken.
    """


class LedgerError(CartError):
    """A claims ledger breaks the ledger schema."""

    def __init__(self, file: str, claim: str | None, field: str | None, rule: str):
        self.file, self.claim, self.field, self.rule = file, claim, field, rule
        where = file
        if claim:
            where += f": claim '{claim}'"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {rule}")


class ExpressionError(CartError, ValueError):
    """An expression is not in the grammar or names an unknown column (also a ValueError)."""


class CohortError(CartError):
    """A cohort CSV (or an in-memory cohort) breaks the record's rules.

    Parameters
    ----------
    file : str
        The file (or ``source`` label) the cohort came from.
    patient : str or None
        The patient the first violation is about, where there is one.
    column : str or None
        The column the first violation is about, where there is one.
    rule : str
        The rule broken, in words.
    row : int, optional
        1-based data row (header excluded), named when the row has no patient id.
    cohort : int, optional
        In a sample of many cohorts, the cohort the patient belongs to.
    more : int, optional
        How many further violations were found.

    Examples
    --------
    >>> raise CohortError("data/cohorts/toy.csv", "P07", "relapse_day",
    ...                   "relapse_day is given only when relapse is true", more=2)
    Traceback (most recent call last):
    ...
    cart_lib.core.errors.CohortError: data/cohorts/toy.csv: patient 'P07', column 'relapse_day': relapse_day is given only when relapse is true (and 2 more violations)
    """

    def __init__(self, file: str, patient: str | None, column: str | None, rule: str, *,
                 row: int | None = None, cohort: int | None = None, more: int = 0):
        self.file, self.patient, self.column, self.rule = file, patient, column, rule
        self.row, self.cohort, self.more = row, cohort, more
        where = [str(file)]
        if cohort is not None:
            where.append(f"cohort {cohort}")
        if patient is not None:
            where.append(f"patient {patient!r}")
        elif row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        message = where[0] + ": " + ", ".join(where[1:]) if len(where) > 1 else where[0]
        message += f": {rule}"
        if more:
            message += f" (and {more} more violation{'s' if more != 1 else ''})"
        super().__init__(message)


class SearchError(CartError):
    """No cohort satisfying every claim was found; names the claims that conflict."""

    def __init__(self, study: str, message: str, claims: list[str] | None = None,
                 proven: bool = False):
        self.claims = claims or []
        self.proven = proven      #: the claims cannot hold together (not merely not found)
        super().__init__(f"{study}: {message}")


class SampleError(CartError):
    """The sampler could not draw the cohorts asked for."""


class ClaimsNotMatched(CartError):
    """Some claims of a study are not matched by its committed cohort."""
