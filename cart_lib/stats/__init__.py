"""Pure numbers: statistics, their intervals, the tests across groups, claim inversion.

Functions of counts, times and values; nothing here reads a ledger or a
cohort (annotations may name them).

- :mod:`cart_lib.stats.statistics`: proportions, medians, Kaplan-Meier, tests and their p-values;
- :mod:`cart_lib.stats.intervals`: confidence intervals of proportions and Kaplan-Meier figures;
- :mod:`cart_lib.stats.group_tests`: the tests a p-value can name, and what each compares;
- :mod:`cart_lib.stats.inversion`: the tables and ranks a printed p-value or interval admits.
"""

# Public modules, imported on demand (``from cart_lib.stats import ...``).
__all__ = ["group_tests", "intervals", "inversion", "statistics"]
