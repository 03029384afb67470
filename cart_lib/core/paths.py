"""The project's paths, in one place: nothing else hard-codes them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "cart_lib"
BUILD = ROOT / "_build"
DATA = ROOT / "data"
CLAIMS = DATA / "claims"
COHORTS = DATA / "cohorts"
SAMPLES = DATA / "samples"
DERIVED = DATA / "derived"
RSCRIPTS = DATA / "rscripts"
CHAPTERS = ROOT / "chapters"
#: The book's colour for each (study, group).
PALETTE = DATA / "palette.yml"
CHAPTER_TEXT = CHAPTERS / "text"
#: What each chapter's stored outputs were computed from (``make notebooks`` writes it).
STORED_OUTPUTS = CHAPTERS / "stored-outputs.json"


def ledger_path(study: str) -> Path:
    """Path of the claims ledger of ``study``."""
    return CLAIMS / f"{study}.yaml"


def cohort_path(study: str, folder: Path | None = None) -> Path:
    """Path of the reconstructed cohort CSV of ``study`` (in ``folder`` instead of ``data/cohorts/``)."""
    return (COHORTS if folder is None else Path(folder)) / f"{study}.csv"


def sample_path(study: str, folder: Path | None = None) -> Path:
    """Path of the sample of consistent cohorts of ``study`` (in ``folder`` instead of ``data/samples/``)."""
    return (SAMPLES if folder is None else Path(folder)) / f"{study}.csv.gz"


def rscript_path(study: str) -> Path:
    """Path of the generated R script of ``study`` (``python -m cart_lib rscript``)."""
    return RSCRIPTS / f"{study}.R"


def relative(path: Path) -> str:
    """A path as written in provenance files and messages: ``data/...`` inside the project."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def provenance_name(study: str) -> str:
    """File name of the provenance record beside a study's cohort or sample."""
    return f"{study}.provenance.json"


def provenance_path(data_file: Path, study: str) -> Path:
    """Path of the provenance record beside ``data_file``, a study's cohort or sample."""
    return Path(data_file).with_name(provenance_name(study))


def readings_path(study: str) -> Path:
    """Where the searches of a study's undecided readings are written (``make data``)."""
    return DERIVED / f"{study}.readings.json"


def derived_path(study: str, product: str, folder: Path | None = None) -> Path:
    """Where ``python -m cart_lib derive`` writes one of a study's derived results (``make data``).

    ``product`` is ``pinning``, ``verdicts`` or ``sample``
    (:mod:`cart_lib.analysis.derive`); ``folder`` instead of ``data/derived/``.
    """
    return (DERIVED if folder is None else Path(folder)) / f"{study}.{product}.json"


def questions_path(study: str) -> Path:
    """Path of the questions file of ``study``: quantities asked of every sampled cohort."""
    return CLAIMS / f"{study}.questions.yaml"


def studies() -> list[str]:
    """Slugs of every study that has a ledger, sorted.

    A ledger is ``<slug>.yaml``; files with a further dot in their stem
    (``<slug>.questions.yaml``) belong to a study but are not ledgers.
    """
    return sorted(p.stem for p in CLAIMS.glob("*.yaml") if "." not in p.stem)
