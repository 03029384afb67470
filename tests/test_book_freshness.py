"""The built book is never older than the library and data behind it.

Each test builds a small probe book in a copy of the project (the project's
own Makefile, ``_config.yml`` and library, with a table of contents holding
probe notebooks), edits the copy's ``cart_lib/`` or ``data/``, runs
``make book`` again and reads the value in the rebuilt HTML. The working tree
is never edited.

Only the notebooks that read a changed file run again: each probe of the
two-study book glues a token drawn afresh on every execution, so a page
whose token is unchanged was not executed again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from cart_lib.book.bookbuild import read_stored, settings, stale, working_copy
from cart_lib.core.paths import ROOT

PROBE_TEXT = ("(probe)=\n# Probe\n\n"
              "Library value: {glue:text}`library_value`.\n"
              "Data value: {glue:text}`data_value`.\n")
PROBE_CODE = ("from myst_nb import glue\n"
              "from cart_lib import probe\n"
              "from cart_lib.core import paths\n"
              "glue('library_value', probe.VALUE, display=False)\n"
              "glue('data_value', (paths.DATA / 'probe.txt').read_text().strip(), display=False)")


def make_book(copy: Path) -> subprocess.CompletedProcess:
    """``make book`` in the copy, its kernel and Sphinx importing the copy's ``cart_lib``."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    # -o: the copy shares the project's environment; never rebuild it from here.
    return subprocess.run(["make", "-o", ".venv/.installed", "book"], cwd=copy, env=env,
                          capture_output=True, text=True)


def built(copy: Path) -> str:
    """The probe page's two sentences, as the rebuilt HTML shows them."""
    page = re.sub(r"<[^>]+>", "", (copy / "_build/html/chapters/probe.html").read_text())
    return " ".join(re.findall(r"(?:Library|Data) value: [^.]*\.", page))


def write(path: Path, text: str) -> None:
    path.write_text(text)
    # Two edits within one clock tick would look unchanged to make.
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))


@pytest.fixture
def probe_book(tmp_path: Path) -> Path:
    """A copy of the project whose book is one probe notebook, built once."""
    copy = working_copy(tmp_path / "project")
    (copy / "_toc.yml").write_text("format: jb-book\nroot: chapters/probe\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(PROBE_TEXT),
                                         nbformat.v4.new_code_cell(PROBE_CODE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, copy / "chapters/probe.ipynb")
    (copy / "cart_lib/probe.py").write_text("VALUE = 1\n")
    (copy / "data/probe.txt").write_text("alpha\n")
    done = make_book(copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Library value: 1." in built(copy) and "Data value: alpha." in built(copy)
    return copy


def test_library_and_data_edits_reach_the_rebuilt_html(probe_book: Path):
    write(probe_book / "cart_lib/probe.py", "VALUE = 2\n")
    done = make_book(probe_book)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Library value: 2." in built(probe_book)

    write(probe_book / "data/probe.txt", "beta\n")
    done = make_book(probe_book)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Data value: beta." in built(probe_book)

    # Without the rule (no inputs tracked) the same edit leaves the page
    # stale: this is what the test above would catch if the rule went away.
    config = yaml.safe_load((probe_book / "_config.yml").read_text())
    config["sphinx"]["config"]["book_inputs"] = []
    write(probe_book / "_config.yml", yaml.safe_dump(config))
    assert make_book(probe_book).returncode == 0
    write(probe_book / "cart_lib/probe.py", "VALUE = 3\n")
    done = make_book(probe_book)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Library value: 2." in built(probe_book)


def test_an_unchanged_project_is_not_rebuilt(probe_book: Path):
    done = make_book(probe_book)
    assert done.returncode == 0
    assert "jupyter-book" not in done.stdout, "make ran Sphinx with nothing changed"


def test_a_broken_glue_key_fails_every_build_until_fixed(probe_book: Path):
    nb_path = probe_book / "chapters/probe.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("`data_value`", "`no_such_key`")
    nbformat.write(nb, nb_path)
    for attempt in ("first", "second"):
        done = make_book(probe_book)
        assert done.returncode != 0, f"the {attempt} build passed with a broken glue key"
        assert "no_such_key" in done.stdout + done.stderr


# ------------------------------------------------------------ only what changed

STUDY_TEXT = ("(probe-{study})=\n# Probe {study}\n\n"
              "Title: {{glue:text}}`title`.\n"
              "Library value: {{glue:text}}`library_value`.\n"
              "Run: {{glue:text}}`run`.\n")
STUDY_CODE = ("import uuid\n"
              "from myst_nb import glue\n"
              "from cart_lib import ledger, probe\n"
              "glue('title', ledger.load('{study}').title, display=False)\n"
              "glue('library_value', probe.VALUE, display=False)\n"
              "glue('run', uuid.uuid4().hex[:12], display=False)")
STUDIES = ("hu2019", "zhang2020")


def shown(copy: Path, study: str) -> dict[str, str]:
    """Title, library value and run token as the page of ``study``'s probe shows them."""
    page = re.sub(r"<[^>]+>", "", (copy / f"_build/html/chapters/probe-{study}.html").read_text())
    return {key: re.search(rf"{key}: ([^\n]*?)\.\s", page).group(1)
            for key in ("Title", "Library value", "Run")}


@pytest.fixture
def study_book(tmp_path: Path) -> Path:
    """A copy of the project whose book is two probes, one per study's ledger, built once."""
    copy = working_copy(tmp_path / "project")
    (copy / "_toc.yml").write_text("format: jb-book\nroot: chapters/probe-hu2019\n"
                                   "chapters:\n  - file: chapters/probe-zhang2020\n")
    for study in STUDIES:
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell(STUDY_TEXT.format(study=study)),
            nbformat.v4.new_code_cell(STUDY_CODE.format(study=study))])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, copy / f"chapters/probe-{study}.ipynb")
    (copy / "cart_lib/probe.py").write_text("VALUE = 1\n")
    done = make_book(copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return copy


def test_a_ledger_edit_reexecutes_only_the_chapters_that_read_it(study_book: Path):
    before = {study: shown(study_book, study) for study in STUDIES}
    ledger = study_book / "data/claims/hu2019.yaml"
    old = before["hu2019"]["Title"]
    assert old in ledger.read_text()
    write(ledger, ledger.read_text().replace(old, old + " (edited)", 1))
    done = make_book(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = {study: shown(study_book, study) for study in STUDIES}
    assert after["hu2019"]["Title"] == old + " (edited)"
    assert after["hu2019"]["Run"] != before["hu2019"]["Run"], "the chapter reading it did not run"
    assert after["zhang2020"] == before["zhang2020"], "a chapter that does not read it ran again"
    assert "probe-hu2019.ipynb: executing again (changed since it ran: data/claims/hu2019.yaml" \
        in done.stdout


def test_an_edit_to_a_module_every_chapter_imports_reexecutes_all(study_book: Path):
    before = {study: shown(study_book, study) for study in STUDIES}
    write(study_book / "cart_lib/probe.py", "VALUE = 2\n")
    done = make_book(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for study in STUDIES:
        after = shown(study_book, study)
        assert after["Library value"] == "2" and after["Run"] != before[study]["Run"], study
    # An edit to a module neither imports runs neither again.
    before = {study: shown(study_book, study) for study in STUDIES}
    write(study_book / "cart_lib/analysis/rscript.py",
          (study_book / "cart_lib/analysis/rscript.py").read_text() + "\n# edited\n")
    done = make_book(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {study: shown(study_book, study) for study in STUDIES} == before


def test_a_file_appearing_beside_one_a_chapter_read_reexecutes_it(study_book: Path):
    """A chapter may have looked for a file without opening it: a new file there counts."""
    before = {study: shown(study_book, study) for study in STUDIES}
    write(study_book / "data/claims/new-study.questions.yaml", "study: none\n")
    done = make_book(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for study in STUDIES:
        assert shown(study_book, study)["Run"] != before[study]["Run"], study


def test_a_chapter_broken_by_a_library_edit_fails_every_build_until_fixed(probe_book: Path):
    """A notebook that fails is never shown from the cache as it was before the edit."""
    write(probe_book / "cart_lib/probe.py", "raise RuntimeError('probe broken')\n")
    for attempt in ("first", "second"):
        done = make_book(probe_book)
        assert done.returncode != 0, f"the {attempt} build passed with a failing chapter"
        assert "probe broken" in done.stdout + done.stderr
    write(probe_book / "cart_lib/probe.py", "VALUE = 5\n")
    done = make_book(probe_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Library value: 5." in built(probe_book)


def test_a_file_edited_while_its_chapter_runs_runs_the_chapter_again(tmp_path: Path):
    """What a record holds is the file before the chapter ran, not after."""
    copy = working_copy(tmp_path / "project")
    (copy / "_toc.yml").write_text("format: jb-book\nroot: chapters/probe\n")
    # The chapter reads the value, then the file changes under it (as an
    # editor saving during a build would do).
    code = ("from myst_nb import glue\n"
            "from cart_lib.core import paths\n"
            "path = paths.DATA / 'probe.txt'\n"
            "glue('data_value', path.read_text().strip(), display=False)\n"
            "path.write_text('gamma\\n')")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("(probe)=\n# Probe\n\nData value: {glue:text}`data_value`.\n"),
        nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, copy / "chapters/probe.ipynb")
    (copy / "data/probe.txt").write_text("alpha\n")
    done = make_book(copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Data value: alpha." in built(copy)
    done = make_book(copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Data value: gamma." in built(copy)


# ------------------------------------------------------------ stored outputs

def store_outputs(copy: Path) -> subprocess.CompletedProcess:
    """``make notebooks`` in the copy: execute its chapters in place and record what they read."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(["make", "-o", ".venv/.installed", "notebooks"], cwd=copy, env=env,
                          capture_output=True, text=True)


def test_a_clean_build_takes_stored_outputs_while_nothing_they_read_changed(study_book: Path):
    """Executing nothing is right only while every file a chapter read is as it was."""
    done = store_outputs(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    stored = {study: shown_in_notebook(study_book, study) for study in STUDIES}

    shutil.rmtree(study_book / "_build")
    done = make_book(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for study in STUDIES:
        assert shown(study_book, study)["Run"] == stored[study], f"{study} was executed"
        assert f"probe-{study}.ipynb: taking its stored outputs" in done.stdout

    # The ledger one probe read changes: that probe runs, in this build and
    # in a clean one; the other keeps its stored outputs.
    ledger = study_book / "data/claims/hu2019.yaml"
    old = shown(study_book, "hu2019")["Title"]
    write(ledger, ledger.read_text().replace(old, old + " (edited)", 1))
    for build in ("incremental", "clean"):
        if build == "clean":
            shutil.rmtree(study_book / "_build")
        done = make_book(study_book)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert shown(study_book, "hu2019")["Title"] == old + " (edited)", build
        assert shown(study_book, "hu2019")["Run"] != stored["hu2019"], build
        assert shown(study_book, "zhang2020")["Run"] == stored["zhang2020"], build

    # Without the stored-outputs file named, a clean build executes every chapter.
    config = yaml.safe_load((study_book / "_config.yml").read_text())
    config["sphinx"]["config"]["book_stored_outputs"] = ""
    write(study_book / "_config.yml", yaml.safe_dump(config))
    shutil.rmtree(study_book / "_build")
    done = make_book(study_book)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert shown(study_book, "zhang2020")["Run"] != stored["zhang2020"]


def shown_in_notebook(copy: Path, study: str) -> str:
    """The run token a probe's stored outputs hold."""
    nb = nbformat.read(copy / f"chapters/probe-{study}.ipynb", as_version=4)
    for output in nb.cells[1].outputs:
        data = output.get("data", {})
        if output.get("metadata", {}).get("scrapbook", {}).get("name") == "run":
            return re.sub(r"^'|'$", "", data["application/papermill.record/text/plain"])
    raise AssertionError(f"no stored run token in probe-{study}")


def test_the_chapters_stored_outputs_are_current():
    """Every chapter's stored outputs were computed from the library and data as committed.

    Otherwise a clean build executes the chapter (correct, but slow) and
    nbval compares it against outputs of another version: run ``make notebooks``.
    """
    book = settings(ROOT)
    records = read_stored(ROOT / book["stored"])
    chapters = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").glob("*.ipynb"))
    assert sorted(records) == chapters
    scope = {"inputs": sorted(book["inputs"]), "environment": sorted(book["environment"])}
    for name in chapters:
        why = stale(nbformat.read(ROOT / name, as_version=4), records[name], ROOT, None, scope)
        assert why is None, f"{name}: stored outputs not current ({why}): run `make notebooks`"


def test_a_stale_record_is_reported(tmp_path: Path):
    """The check above can fail: an edited file, an edited code cell, another scope."""
    book = settings(ROOT)
    name = "chapters/claims-ledger.ipynb"
    record = read_stored(ROOT / book["stored"])[name]
    nb = nbformat.read(ROOT / name, as_version=4)
    scope = {"inputs": sorted(book["inputs"]), "environment": sorted(book["environment"])}
    first = next(f for f in record["files"] if f.startswith("data/"))
    edited = {**record, "files": {**record["files"], first: "0" * 64}}
    assert stale(nb, edited, ROOT, None, scope) == f"changed since it ran: {first}"
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.source += "\n# edited"
    assert stale(nb, record, ROOT, None, scope) == "its code cells changed"
    assert stale(nb, record, ROOT, None, {**scope, "inputs": ["cart_lib"]}) \
        == "book_inputs or book_environment changed"
