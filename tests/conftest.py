"""Shared fixtures: small, valid ledgers to corrupt one field at a time."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

MINIMAL = {
    "study": "toy",
    "title": "A toy study",
    "reference": {"authors": "Doe J", "title": "Toy", "journal": "Nowhere", "year": 2000},
    "sources": {"abstract": "a made-up abstract"},
    "design": "made up for tests",
    "size_claim": "total",
    "groups": {"a": {"car_source": "autologous"}, "b": {"car_source": "donor-derived"}},
    "record": {"cr_d30": {}, "crs_grade": {"min": 0, "max": 4, "step": 1}},
    "rules": {"lfs_non_responder": "assessment", "earliest_assessment_day": 14, "why": "test"},
    "variables": {"severe_crs": {"expr": "crs_grade >= 3", "description": "severe CRS"}},
    "claims": [
        {"id": "total", "printed": "10 patients",
         "locator": {"source": "abstract", "paragraph": 1},
         "says": "patients", "reads": ["count"], "precision": {"count": 1},
         "measure": {"population": "True", "statistic": "count"}},
        {"id": "cr", "printed": "9 (90.0%)",
         "locator": {"source": "abstract", "paragraph": 1},
         "says": "remissions", "reads": ["count", "percent"],
         "precision": {"count": 1, "percent": 0.1},
         "measure": {"population": "group == 'a'", "event": "cr_d30", "statistic": "count"}},
        {"id": "crs_p", "printed": "p = 0.049",
         "locator": {"source": "abstract", "paragraph": 1},
         "says": "severe CRS differs", "reads": ["p"], "precision": {"p": 0.001},
         "question": "which test?",
         "readings": [
             {"id": "fisher", "population": "True", "groups": ["group == 'a'", "group == 'b'"],
              "statistic": "p_value", "test": "fisher_exact", "event": "severe_crs",
              "adopted": True},
             {"id": "chi2", "population": "True", "groups": ["group == 'a'", "group == 'b'"],
              "statistic": "p_value", "test": "chi2", "event": "severe_crs", "adopted": False},
         ]},
    ],
}


@pytest.fixture
def toy_ledger():
    """A deep copy of a valid ledger, as a dict, to corrupt in a test."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def write_ledger(tmp_path: Path):
    """Write a ledger dict (or raw text) to ``toy.yaml`` and return its path."""
    def write(content, name: str = "toy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content,
                                                                                sort_keys=False))
        return path
    return write
