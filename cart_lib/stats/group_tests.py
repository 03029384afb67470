"""The tests a printed p-value can come from, and what each one compares.

A reading names its test (:class:`Test`); this module says what the test
reads from the record (an event, a variable or a survival endpoint), whether
it ranks its values (and so whether ties across groups matter), which tests
are computed from a 2x2 table, and which compare any number k >= 2 of groups
rather than exactly two. The ledger checks readings against it, the
evaluator and the inversion compute from it.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["K_GROUPS", "MANN_WHITNEY", "RANK_TESTS", "TEST_INPUT", "TWO_BY_TWO", "Test"]


class Test(str, Enum):
    """Tests a p-value can come from: two-group tests, and those of :data:`K_GROUPS`."""

    __test__ = False   # a name pytest would otherwise try to collect

    fisher_exact = "fisher_exact"                      #: Fisher's exact test on a 2x2 table
    chi2 = "chi2"                                      #: Pearson chi-square, no continuity correction
    chi2_yates = "chi2_yates"                          #: Pearson chi-square with Yates' correction
    mannwhitney_exact = "mannwhitney_exact"            #: Mann-Whitney U, exact distribution
    mannwhitney_asymptotic = "mannwhitney_asymptotic"  #: Mann-Whitney U, normal approximation
    boschloo_exact = "boschloo_exact"                  #: Boschloo's exact test on a 2x2 table
    logrank = "logrank"                                #: log-rank test of an endpoint
    kruskal_wallis = "kruskal_wallis"                  #: Kruskal-Wallis rank test, chi-square approximation


#: The field of a reading naming what a test compares.
TEST_INPUT = {
    Test.fisher_exact: "event", Test.chi2: "event", Test.chi2_yates: "event",
    Test.boschloo_exact: "event",
    Test.mannwhitney_exact: "variable", Test.mannwhitney_asymptotic: "variable",
    Test.logrank: "endpoint", Test.kruskal_wallis: "variable",
}
#: Tests computed from the 2x2 table of group by event.
TWO_BY_TWO = (Test.fisher_exact, Test.chi2, Test.chi2_yates, Test.boschloo_exact)
#: Mann-Whitney U tests, exact and asymptotic.
MANN_WHITNEY = (Test.mannwhitney_exact, Test.mannwhitney_asymptotic)
#: Rank tests, the only ones whose readings say whether ties are allowed.
RANK_TESTS = {*MANN_WHITNEY, Test.kruskal_wallis}
#: Tests that compare k >= 2 groups: the log-rank test across k groups, Pearson's
#: chi-square on the k x 2 table of group by event, and Kruskal-Wallis. Every
#: other test compares exactly two groups.
K_GROUPS = (Test.chi2, Test.logrank, Test.kruskal_wallis)
