"""Errors that end a command with one clear message instead of a traceback."""

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
