"""Each chapter's text (MyST Markdown beside the executed notebook) stays in sync with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from cart_lib.book import notebooks
from cart_lib.core import paths

CHAPTERS = sorted(paths.CHAPTERS.glob("*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_its_text_in_sync(chapter: Path):
    text = notebooks.text_path(chapter)
    assert text.exists(), f"{text} is missing: run 'make notebooks'"
    expected = notebooks.as_text(nbformat.read(chapter, as_version=4))
    assert text.read_text(encoding="utf-8") == expected, (
        f"{text} differs from {chapter.name}: an edit of the text is taken into the notebook by "
        f"'make notebooks', an edit of the notebook is written to the text by it too")


def test_an_edit_of_the_text_is_taken_into_the_notebook_keeping_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CHAPTER_TEXT", tmp_path / "text")
    chapter = tmp_path / "methods.ipynb"
    shutil.copy(paths.CHAPTERS / "methods.ipynb", chapter)
    notebooks.write_text(chapter)
    assert not notebooks.take_text(chapter)                  # in sync: nothing to take
    text = notebooks.text_path(chapter)
    edited = text.read_text(encoding="utf-8").replace(
        "# Methods: how the book knows what it knows", "# Methods: how this book knows")
    edited = edited.replace("holds = claim.holds_for()[\"p\"]", "holds = claim.holds_for()['p']")
    text.write_text(edited, encoding="utf-8")
    assert notebooks.take_text(chapter)
    before = nbformat.read(paths.CHAPTERS / "methods.ipynb", as_version=4)
    after = nbformat.read(chapter, as_version=4)
    assert after.cells[0].source.splitlines()[1] == "# Methods: how this book knows"
    changed = [i for i, c in enumerate(after.cells) if "holds_for()['p']" in c.source]
    assert len(changed) == 1          # its outputs are replaced when make notebooks executes it
    kept = [i for i, c in enumerate(before.cells) if c.cell_type == "code" and i not in changed]
    assert all(after.cells[i].outputs == before.cells[i].outputs for i in kept)
    assert notebooks.as_text(after) == edited
