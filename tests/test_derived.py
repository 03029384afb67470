"""The derived results under ``data/derived/``: current, reproducible byte for byte, and read as computed.

``python -m cart_lib derive`` (``make data``) computes what the chapters
would otherwise compute each time they run; these tests hold the committed
files to the ledgers, cohorts, samples and library they record, and the
chapters' build to the files they read.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cart_lib import ledger
from cart_lib.analysis import derive, pinning, questions
from cart_lib.book.bookbuild import dependencies
from cart_lib.book.notebooks import execute_many
from cart_lib.core import paths
from cart_lib.core.errors import CartError, LedgerError
from cart_lib.evaluate import audit
from cart_lib.reconstruct import load_table

STUDIES = paths.studies()
RUN = "run '.venv/bin/python -m cart_lib derive' (or 'make data') and commit data/derived/"


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("product", derive.PRODUCTS)
def test_every_derived_file_matches_what_it_was_computed_from(study, product):
    reasons = derive.stale(study, product)
    assert not reasons, (f"{paths.relative(paths.derived_path(study, product))} is stale "
                         f"({'; '.join(reasons)}): {RUN}")


@pytest.mark.parametrize("study", STUDIES)
def test_derive_writes_the_committed_files_again_byte_for_byte(study, tmp_path):
    for path in derive.write(study, tmp_path):
        committed = paths.derived_path(study, path.name.split(".")[1])
        assert path.read_bytes() == committed.read_bytes(), \
            f"{paths.relative(committed)} differs from what derive computes now: {RUN}"


def test_the_pinning_read_is_the_pinning_computed():
    led, table = ledger.load("hu2019"), load_table("hu2019")
    for claim_id, any_split in [("severe_crs_p", False), ("expansion_p", False),
                                ("cgvhd_early_relapse_p", True)]:
        pd.testing.assert_frame_equal(
            derive.pinning("hu2019", claim_id),
            pinning.configurations(led, table, claim_id, any_split=any_split))


def test_the_verdicts_read_are_the_verdicts_computed():
    from cart_lib.evaluate import Evaluator
    from cart_lib.reconstruct import load_readings

    led, table = ledger.load("hu2019"), load_table("hu2019")
    computed = audit.reading_verdicts(led, table, Evaluator(led), load_readings("hu2019"))
    assert derive.verdicts("hu2019") == computed
    pd.testing.assert_frame_equal(derive.infeasible("hu2019"), audit.infeasible_frame(led, table))


def test_a_derived_file_of_another_ledger_is_refused_with_the_command(tmp_path):
    record = json.loads(paths.derived_path("hu2019", "pinning").read_text())
    record["provenance"]["inputs"]["data/claims/hu2019.yaml"] = "0" * 64
    paths.derived_path("hu2019", "pinning", tmp_path).write_text(json.dumps(record))
    with pytest.raises(CartError, match=r"computed from another version of "
                                        r"data/claims/hu2019\.yaml; run 'python -m cart_lib "
                                        r"derive --study hu2019' \(part of 'make data'\)"):
        derive.load("hu2019", "pinning", tmp_path)
    assert derive.stale("hu2019", "pinning", tmp_path) == ["data/claims/hu2019.yaml changed"]


def test_a_library_edit_makes_a_derived_file_stale(tmp_path):
    record = json.loads(paths.derived_path("zhang2020", "verdicts").read_text())
    record["provenance"]["code"]["sha256"] = "0" * 64
    paths.derived_path("zhang2020", "verdicts", tmp_path).write_text(json.dumps(record))
    assert derive.stale("zhang2020", "verdicts", tmp_path) == ["the library's source changed"]
    # The data are as computed: a chapter may still read it.
    assert derive.load("zhang2020", "verdicts", tmp_path)["study"] == "zhang2020"


def test_a_missing_derived_file_names_the_command(tmp_path):
    with pytest.raises(CartError, match="not computed yet; run 'python -m cart_lib derive"):
        derive.load("hu2019", "sample", tmp_path)


def test_the_code_digest_covers_what_the_computation_imports():
    names = {p.relative_to(paths.LIBRARY).as_posix() for p in derive.code_files()}
    assert {"analysis/derive.py", "analysis/pinning.py", "analysis/questions.py",
            "evaluate/audit.py", "reconstruct/sample.py", "reconstruct/plausibility.py",
            "stats/inversion.py", "ledger/_model.py", "__init__.py"} <= names
    assert not names & {"cli.py", "book/plots.py", "analysis/rscript.py", "analysis/meta.py"}


def test_a_curve_of_an_unknown_endpoint_is_refused(tmp_path):
    path = tmp_path / "hu2019.questions.yaml"
    text = paths.questions_path("hu2019").read_text()
    path.write_text(text.replace("endpoint: overall_survival\n    population: group == "
                                 "'RD-alloCAR' and cgvhd_at_collection",
                                 "endpoint: survival\n    population: group == "
                                 "'RD-alloCAR' and cgvhd_at_collection"))
    with pytest.raises(LedgerError, match="curves: os_rd_cgvhd.*unknown endpoint 'survival'"):
        questions.load("hu2019", path)


def test_a_chapter_reading_derived_results_depends_on_their_files(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from cart_lib.analysis import derive\n"
        "frame = derive.pinning('hu2019', 'expansion_p')\n"
        "curves = derive.sample_curves('zhang2020')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "reader.ipynb"
    nbformat.write(nb, path)
    done = execute_many([path], jobs=1, track=True)[0]
    assert done.error is None, done.error
    record = dependencies(done.reads, paths.ROOT, ["cart_lib", "data"], ["requirements.lock"])
    assert {"data/derived/hu2019.pinning.json", "data/derived/zhang2020.sample.json",
            "cart_lib/analysis/derive.py"} <= set(record["files"])
