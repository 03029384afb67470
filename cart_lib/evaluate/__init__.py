"""What the claims say: about a cohort (the evaluator), and about each other (the audit).

:class:`Evaluator` computes every claim's readings from a cohort table and
says whether each prints as published; :mod:`cart_lib.evaluate.audit` checks
the ledger's figures against one another (restated counts, parts and
totals, percentages, inversion) and judges each alternative reading. The
audit sits here, below the search, because a reconstruction runs its
arithmetic before searching and searches the readings it leaves open.
"""

# The modules named above are imported on demand.
from ._evaluator import (ALPHA, ClaimResult, Computed, Evaluator, ReadingResult, loss, matches,
                         reproduced_text)

__all__ = ["ALPHA", "ClaimResult", "Computed", "Evaluator", "ReadingResult", "audit", "loss",
           "matches", "reproduced_text"]
