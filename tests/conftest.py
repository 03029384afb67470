"""Shared fixtures: small, valid ledgers to corrupt one field at a time."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

#: The study columns the toy ledgers of the tests declare, where the book's studies put them.
STUDY_COLUMNS = {
    "age_years": {"dtype": "float", "description": "age at infusion, years", "min": 0,
                  "max": 120, "after": "prior_hsct"},
    "dose_e5_per_kg": {"dtype": "float", "description": "infused CAR T cells, 10^5 per kg",
                       "min": 0, "max": 10000},
    "mrd_negative": {"dtype": "bool", "description": "MRD-negative remission", "needs": "cr_d30",
                     "after": "cr_d30"},
    "crs_grade": {"dtype": "int", "description": "CRS grade", "min": 0, "max": 5},
    "neurotox_grade": {"dtype": "int", "description": "neurotoxicity grade", "min": 0, "max": 5},
    "agvhd": {"dtype": "bool", "description": "acute GVHD"},
    "agvhd_site": {"dtype": "str", "description": "organ of acute GVHD",
                   "allowed": ["skin", "gut", "liver"], "needs": "agvhd"},
    "peak_expansion": {"dtype": "float", "description": "peak expansion", "min": 0, "max": 1e9},
}
#: Their dtypes, for a table of the evaluators (``cohort.empty(n, STUDY_DTYPES)``).
STUDY_DTYPES = {name: column["dtype"] for name, column in STUDY_COLUMNS.items()}
#: What every arm of the toy ledgers received.
CAR_T = {"treatment": "CAR-T"}

MINIMAL = {
    "study": "toy",
    "title": "A toy study",
    "reference": {"authors": "Doe J", "title": "Toy", "journal": "Nowhere", "year": 2000},
    "sources": {"abstract": "a made-up abstract"},
    "design": "made up for tests",
    "size_claim": "total",
    "groups": {"a": CAR_T | {"car_source": "autologous", "donor": "none", "prior_hsct": False},
               "b": CAR_T | {"car_source": "donor-derived", "donor": "unknown",
                             "prior_hsct": True}},
    "columns": STUDY_COLUMNS,
    "record": {"cr_d30": {}, "crs_grade": {"min": 0, "max": 4, "step": 1}},
    "rules": {"response_window_days": 30, "lfs_non_responder": "assessment",
              "earliest_assessment_day": 14, "why": "test"},
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
