"""Doctests that name the toy study read it from ``tests/data/toy/``, not from ``data/``.

The library's examples use a small made-up study (``tests/data/toy/claims/toy.yaml``
and its cohort, written by the search), so that they do not change when a
real study's ledger or cohort does; ``tests/test_toy_study.py`` checks their
expected values independently.
"""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem

from cart_lib.core import paths

TOY = paths.ROOT / "tests" / "data" / "toy"


@pytest.fixture(autouse=True)
def toy_study_for_doctests(request, monkeypatch):
    """Point the ledgers and cohorts at the toy study for a doctest that names it."""
    item = request.node
    if isinstance(item, DoctestItem) and any('"toy"' in example.source
                                             for example in item.dtest.examples):
        monkeypatch.setattr(paths, "CLAIMS", TOY / "claims")
        monkeypatch.setattr(paths, "COHORTS", TOY / "cohorts")
    yield
