"""Heavy results computed once by ``make data`` and read by the chapters, with what they came from.

Some of what the book shows takes seconds to compute and changes only when
a ledger, a cohort, the sample or the library does: every configuration a
printed p-value's test could have seen, the audit's verdict on every reading
of an ambiguous figure, and summaries over the thousand cohorts of each
sample. ``python -m cart_lib derive [--study S]`` (part of ``make data``)
computes them and writes, per study, under ``data/derived/``:

``<study>.pinning.json``
    :func:`cart_lib.analysis.pinning.configurations` for every claim with a
    p-value reading it can enumerate, at the group sizes the printed figures
    fix, or over every split of the patients where they fix none (the rows
    of :func:`cart_lib.analysis.pinning.to_rows`); read with :func:`pinning`.
``<study>.verdicts.json``
    :func:`cart_lib.evaluate.audit.reading_verdicts` on the committed cohort
    with the searched readings, and for every claim the number of
    configurations inversion admits under its adopted reading, and
    :func:`cart_lib.evaluate.audit.infeasible_frame`; read with
    :func:`verdicts`, :func:`feasible_sets` and :func:`infeasible`.
``<study>.sample.json``
    over the committed sample: the questions' summary and findings
    (:mod:`cart_lib.analysis.questions`), the plausibility report
    (:func:`cart_lib.reconstruct.plausibility.report`) and the survival
    curves the questions file asks for; read with :func:`sample_summary`,
    :func:`sample_findings`, :func:`sample_plausibility` and :func:`sample_curves`.

Each file records its provenance: the SHA-256 of every data file the
computation read (ledger, cohort, sample, questions, readings), and of the
library's source files it imports (found by parsing the imports of this
module, transitively: :func:`code_files`), with the package versions. The
files hold no time, so that computing them again writes the same bytes.

Reading a file checks the data files' digests and refuses a file computed
from other data, naming the command that writes it again; :func:`stale`
also compares the library's code, which the tests require to match (an
edit to the library must not silently leave a derived number behind).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .. import ledger as ledger_mod
from ..core import paths
from ..core.errors import CartError
from ..evaluate import Evaluator, audit
from ..reconstruct import load_readings, load_table, plausibility, sample
from ..stats import inversion
from . import pinning as pinning_mod
from . import questions

__all__ = ["PRODUCTS", "code_files", "compute", "feasible_sets", "infeasible", "load",
           "pinning", "sample_curves", "sample_findings", "sample_plausibility", "sample_size",
           "sample_summary", "stale", "verdicts", "write"]

#: What ``derive`` writes for each study, in this order.
PRODUCTS = ("pinning", "verdicts", "sample")
#: Packages whose versions can change a derived number.
PACKAGES = ("lifelines", "numpy", "pandas", "scipy", "statsmodels")
NOTICE = ("Results computed once from the claims ledger, the reconstructed cohort and the "
          "sample of consistent cohorts (python -m cart_lib derive); the cohorts are "
          "reconstructions, not the trials' patient records.")


def _run(study: str) -> str:
    return f"run 'python -m cart_lib derive --study {study}' (part of 'make data')"


# ------------------------------------------------------------------ provenance

def code_files(module: str = __name__) -> list[Path]:
    """The library's source files ``module`` runs when imported: itself, its imports, theirs.

    Found by parsing (nothing is imported): every ``import`` and ``from ...
    import`` of a ``cart_lib`` module, anywhere in a file (imports inside
    functions too), and the package ``__init__`` of each module found.

    Examples
    --------
    >>> names = [p.name for p in code_files("cart_lib.core.paths")]
    >>> names
    ['__init__.py', '__init__.py', 'paths.py']
    """
    top = paths.LIBRARY.name
    found: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in found or not (name == top or name.startswith(top + ".")):
            continue
        base = paths.LIBRARY.parent.joinpath(*name.split("."))
        file = base / "__init__.py" if (base / "__init__.py").is_file() else base.with_suffix(".py")
        if not file.is_file():
            continue                                 # a name imported from a module, not a module
        found[name] = file
        package = name if file.name == "__init__.py" else name.rpartition(".")[0]
        todo.append(name.rpartition(".")[0])         # a package runs before its modules
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    origin = ".".join(parts[:len(parts) - node.level + 1])
                    origin = f"{origin}.{node.module}" if node.module else origin
                else:
                    origin = node.module or ""
                todo += [origin, *(f"{origin}.{alias.name}" for alias in node.names)]
    return sorted(found.values())


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _code() -> dict:
    files = code_files()
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(paths.LIBRARY.parent).as_posix()
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return {"files": [p.relative_to(paths.LIBRARY.parent).as_posix() for p in files],
            "sha256": digest.hexdigest()}


def _inputs(study: str, product: str) -> list[Path]:
    files = [paths.ledger_path(study)]
    if product in ("pinning", "verdicts"):
        files.append(paths.cohort_path(study))
    if product == "verdicts":
        files.append(paths.readings_path(study))
    if product == "sample":
        files += [paths.questions_path(study), paths.sample_path(study)]
    return files


def _provenance(study: str, product: str) -> dict:
    return {"cart_lib": __version__, "code": _code(),
            "inputs": {paths.relative(p): _sha256(p) for p in _inputs(study, product)},
            "packages": {name: metadata.version(name) for name in PACKAGES}}


# ------------------------------------------------------------------ frames as rows

def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def _table(frame: pd.DataFrame) -> dict:
    """A frame as columns and rows (and its index, unless a plain range)."""
    out = {"columns": [str(c) for c in frame.columns],
           "rows": [[_plain(v) for v in row] for row in frame.itertuples(index=False)]}
    if not isinstance(frame.index, pd.RangeIndex):
        out["index"] = [_plain(v) for v in frame.index]
        out["index_name"] = frame.index.name
    return out


def _frame(table: dict) -> pd.DataFrame:
    frame = pd.DataFrame(table["rows"], columns=table["columns"])
    if "index" in table:
        frame.index = pd.Index(table["index"], name=table["index_name"])
    return frame


# ------------------------------------------------------------------ computing

def _sizes_fixed(facts: audit.CountFacts, reading) -> bool:
    if reading.test not in inversion.TWO_BY_TWO:
        return True
    return bool(facts.size_of(reading.population, reading.groups[0])
                and facts.size_of(reading.population, reading.groups[1]))


def _compute_pinning(study: str) -> dict:
    led = ledger_mod.load(study)
    table = load_table(study)
    facts = audit.CountFacts(led)
    claims = {}
    for claim in led.claims:
        readings = set(pinning_mod.enumerable(claim))
        if not readings:
            continue
        # Where the printed figures fix no group sizes, every split of the patients is tried.
        any_split = not all(_sizes_fixed(facts, r) for r in claim.readings if r.id in readings)
        frame = pinning_mod.configurations(led, table, claim.id, any_split=any_split)
        claims[claim.id] = {"any_split": any_split, "columns": list(pinning_mod.STORED),
                            "rows": pinning_mod.to_rows(frame)}
    return {"claims": claims}


def _compute_verdicts(study: str) -> dict:
    led = ledger_mod.load(study)
    table = load_table(study)
    found = audit.reading_verdicts(led, table, Evaluator(led), load_readings(study))
    facts = audit.CountFacts(led)
    sets = {}
    for claim in led.claims:
        admitted, _ = audit.configurations(facts, claim, claim.adopted, table)
        sets[claim.id] = None if admitted is None else len(admitted)
    return {"verdicts": [asdict(v) for v in found], "feasible_sets": sets,
            "infeasible": _table(audit.infeasible_frame(led, table))}


def _compute_sample(study: str) -> dict:
    tables = sample.load_tables(study)
    values = questions.values(study, tables)
    spec, led = questions.load(study)
    steps = questions.curves(study, tables)
    curves = {c.id: {"says": c.says, "endpoint": c.endpoint, "population": c.population,
                     "limit": c.limit, "steps": [[x.tolist(), y.tolist()] for x, y in steps[c.id]]}
              for c in spec.curves}
    return {"cohorts": len(values),
            "summary": _table(questions.summary(values)),
            "findings": _table(questions.findings(study, values)),
            "plausibility": _table(plausibility.report(led, tables)),
            "curves": curves}


_COMPUTE = {"pinning": _compute_pinning, "verdicts": _compute_verdicts,
            "sample": _compute_sample}


def compute(study: str, product: str) -> dict:
    """One derived result of ``study``, with its provenance, as written to its file."""
    if product not in _COMPUTE:
        raise ValueError(f"unknown derived result {product!r}; known: {', '.join(PRODUCTS)}")
    return {"study": study, "product": product, "notice": NOTICE,
            "provenance": _provenance(study, product), **_COMPUTE[product](study)}


# ------------------------------------------------------------------ files

def _encode(value, indent: int = 0) -> str:
    """JSON with one table row (or one record) per line: readable diffs, a small file."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        items = [f"{pad} {json.dumps(k)}: {_encode(v, indent + 1)}"
                 for k, v in sorted(value.items())]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and all(isinstance(v, (list, dict)) for v in value):
        items = [f"{pad} {json.dumps(v, sort_keys=True, ensure_ascii=False)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def write(study: str, folder: Path | None = None,
          products: tuple[str, ...] = PRODUCTS) -> list[Path]:
    """Compute and write each of ``products`` of ``study`` (in ``data/derived/`` or ``folder``)."""
    written = []
    for product in products:
        record = compute(study, product)
        path = paths.derived_path(study, product, folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_encode(record) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written


def _read(study: str, product: str, folder: Path | None) -> tuple[Path, dict]:
    path = paths.derived_path(study, product, folder)
    if not path.is_file():
        raise CartError(f"{paths.relative(path)}: not computed yet; {_run(study)}")
    return path, json.loads(path.read_text(encoding="utf-8"))


def _changed_inputs(record: dict) -> list[str]:
    changed = []
    for name, digest in record["provenance"]["inputs"].items():
        path = paths.ROOT / name
        if not path.is_file() or _sha256(path) != digest:
            changed.append(name)
    return changed


def load(study: str, product: str, folder: Path | None = None) -> dict:
    """The record of one derived result, refused when a data file it came from has changed.

    Raises
    ------
    CartError
        When the file is missing, or the ledger, cohort, sample, questions or
        readings it was computed from differ from the committed ones; the
        message names the file and the command that writes it again.
    """
    path, record = _read(study, product, folder)
    changed = _changed_inputs(record)
    if changed:
        raise CartError(f"{paths.relative(path)} was computed from another version of "
                        f"{', '.join(changed)}; {_run(study)}")
    return record


def stale(study: str, product: str, folder: Path | None = None) -> list[str]:
    """Why a derived file no longer matches what it was computed from: empty when current.

    Compares the data files and the library's source files (:func:`code_files`)
    with those its provenance records.
    """
    path = paths.derived_path(study, product, folder)
    if not path.is_file():
        return [f"{paths.relative(path)} is missing"]
    record = json.loads(path.read_text(encoding="utf-8"))
    reasons = [f"{name} changed" for name in _changed_inputs(record)]
    code = _code()
    if record["provenance"]["code"]["files"] != code["files"]:
        reasons.append("the library's modules it imports changed")
    elif record["provenance"]["code"]["sha256"] != code["sha256"]:
        reasons.append("the library's source changed")
    if record["provenance"]["inputs"].keys() != {paths.relative(p)
                                                 for p in _inputs(study, product)}:
        reasons.append("it was computed from other files")
    return reasons


# ------------------------------------------------------------------ what chapters read

def pinning(study: str, claim_id: str) -> pd.DataFrame:
    """:func:`cart_lib.analysis.pinning.configurations` of a claim, as ``derive`` computed it."""
    claims = load(study, "pinning")["claims"]
    if claim_id not in claims:
        raise CartError(f"{study}: no enumerable p-value claim {claim_id!r} in the derived "
                        f"results; computed: {', '.join(claims) or 'none'}")
    return pinning_mod.from_rows(ledger_mod.load(study), claim_id, claims[claim_id]["rows"])


def verdicts(study: str) -> list[audit.ReadingVerdict]:
    """:func:`cart_lib.evaluate.audit.reading_verdicts` of the study, as ``derive`` computed them."""
    return [audit.ReadingVerdict(**v) for v in load(study, "verdicts")["verdicts"]]


def feasible_sets(study: str) -> dict[str, int | None]:
    """For each claim, how many configurations inversion admits under its adopted reading.

    None where inversion does not apply; see :func:`cart_lib.evaluate.audit.configurations`.
    """
    return load(study, "verdicts")["feasible_sets"]


def infeasible(study: str) -> pd.DataFrame:
    """:func:`cart_lib.evaluate.audit.infeasible_frame` on the committed cohort, as ``derive`` computed it."""
    return _frame(load(study, "verdicts")["infeasible"])


def sample_size(study: str) -> int:
    """How many cohorts of the committed sample the summaries were computed on."""
    return load(study, "sample")["cohorts"]


def sample_summary(study: str) -> pd.DataFrame:
    """:func:`cart_lib.analysis.questions.summary` over the committed sample."""
    return _frame(load(study, "sample")["summary"])


def sample_findings(study: str) -> pd.DataFrame:
    """:func:`cart_lib.analysis.questions.findings` over the committed sample."""
    return _frame(load(study, "sample")["findings"])


def sample_plausibility(study: str) -> pd.DataFrame:
    """:func:`cart_lib.reconstruct.plausibility.report` on every cohort of the committed sample."""
    return _frame(load(study, "sample")["plausibility"])


def sample_curves(study: str) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The curves of the questions file (:func:`cart_lib.analysis.questions.curves`), by id."""
    return {curve_id: [(np.asarray(x, float), np.asarray(y, float)) for x, y in c["steps"]]
            for curve_id, c in load(study, "sample")["curves"].items()}
