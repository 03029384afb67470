"""The project's paths, in one place: nothing else hard-codes them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CLAIMS = DATA / "claims"
COHORTS = DATA / "cohorts"
CHAPTERS = ROOT / "chapters"


def ledger_path(study: str) -> Path:
    """Path of the claims ledger of ``study``."""
    return CLAIMS / f"{study}.yaml"


def cohort_path(study: str) -> Path:
    """Path of the reconstructed cohort CSV of ``study``."""
    return COHORTS / f"{study}.csv"


def studies() -> list[str]:
    """Slugs of every study that has a ledger, sorted."""
    return sorted(p.stem for p in CLAIMS.glob("*.yaml"))
