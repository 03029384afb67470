"""The claims ledger: every number a study printed, its readings, and their checks.

``from cart_lib import ledger; ledger.load("hu2019")`` reads, validates and
checks a study's ledger (``data/claims/<study>.yaml``). The model is in
``_model``; the names below are the public ones.
"""

from ._model import (UNITS, Claim, Constraint, DeclaredEndpoint, Domain, Endpoint,
                     EndpointEvent, Fact, Ledger, Locator, NotClaim, Reading, Reference, Rules,
                     Slip, Statistic, StudyColumn, Test, Variable, check_claim, check_ledger,
                     expand_names, field_path, load, load_all, load_ledger)

__all__ = ["UNITS", "Claim", "Constraint", "DeclaredEndpoint", "Domain", "Endpoint",
           "EndpointEvent", "Fact", "Ledger", "Locator", "NotClaim", "Reading", "Reference",
           "Rules", "Slip", "Statistic", "StudyColumn", "Test", "Variable", "check_claim",
           "check_ledger", "expand_names", "field_path", "load", "load_all", "load_ledger"]
