"""cart_lib: claims ledgers, reconstructed patient records and their statistics.

The library is generic over studies: everything it knows about a particular
study comes from that study's ledger file under ``data/claims/``.

Sub-packages by concept, each importing only those above it in this list
(``tests/test_layers.py`` keeps it so):

1. :mod:`cart_lib.core`: errors, paths, expressions, printed numbers, the patient record;
2. :mod:`cart_lib.stats`: statistics, intervals, tests across groups, inversion (pure numbers);
3. :mod:`cart_lib.measures`: the registry of statistics a claim can state;
4. :mod:`cart_lib.ledger`: the claims ledger, validated against the registry and the record;
5. :mod:`cart_lib.cohort`: the cohort table, its endpoints, the one codec for its files;
6. :mod:`cart_lib.evaluate`: the evaluator, and the audit of the figures among themselves;
7. :mod:`cart_lib.reconstruct`: search, moves, objectives, sampling, plausibility;
8. :mod:`cart_lib.analysis`: pinning, meta-analysis, questions, reports, the R check (frames);
9. :mod:`cart_lib.book`: what a chapter needs, the figures, the book's build;
10. :mod:`cart_lib.cli`: ``python -m cart_lib``.

Sub-packages are imported on demand (``from cart_lib import ledger``).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "analysis", "book", "cli", "cohort", "core", "evaluate", "ledger",
           "measures", "reconstruct", "stats"]
