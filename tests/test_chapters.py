"""House rules of the book's chapters, checked on their sources.

nbval checks that each chapter's stored outputs still hold; these tests check
what a reader relies on regardless of the numbers: every chapter is in the
table of contents, opens with a labelled title, never skips a heading level,
types no number into its prose (numbers come from glue), gives every figure a
caption, a name and alt text, says near the top that reconstructed patients
are reconstructions, and is committed executed.
"""

import re

import nbformat
import pytest
import yaml

from cart_lib.core import paths

NOTEBOOKS = sorted(paths.CHAPTERS.glob("*.ipynb"))
# What a typed number in prose is not: glue and other roles, code, labels and
# headings, links, years, "CD19", "95%" and grade labels.
NOT_NUMBERS = [
    (r"\{[\w:-]+\}`[^`]*`", 0), (r"```.*?```", re.S), (r"`[^`]*`", 0),
    (r"^#+ .*$|\([^)]*\)=|https?://\S+|10\.\d{4,}/\S+", re.M),
    (r"\b(19|20)\d\d\b|\bCD19\b|\b95\s*%|\bgrade\s*[≥>=]*\s*\d(-\d)?\b", re.I),
    (r"\b[a-z]+\d{4}\b", 0),     # study slugs such as zhang2020
    (r"10[⁰¹²³⁴⁵⁶⁷⁸⁹]+|10\^\d+", 0),  # units such as 10⁵ cells
]


def _markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for entry in toc.get("chapters", [])]


def test_every_chapter_is_in_the_table_of_contents():
    listed = set(_toc_files())
    for path in NOTEBOOKS:
        assert f"chapters/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_opens_with_a_labelled_title_and_keeps_heading_order(path):
    nb = nbformat.read(path, as_version=4)
    first = _markdown(nb)[0].splitlines()
    assert re.fullmatch(r"\(\S+\)=", first[0]) and first[1].startswith("# "), (
        f"{path.name}: the first cell must be a (label)= target and one H1")
    levels = [len(m) for text in _markdown(nb)
              for m in re.findall(r"^(#+) ", re.sub(r"```.*?```", "", text, flags=re.S), re.M)]
    assert levels.count(1) == 1, f"{path.name}: one H1 per chapter"
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"{path.name}: heading level jumps from {before} to {after}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_prose_types_no_numbers(path):
    nb = nbformat.read(path, as_version=4)
    typed = []
    for text in _markdown(nb):
        for pattern, flags in NOT_NUMBERS:
            text = re.sub(pattern, " ", text, flags=flags)
        typed += re.findall(r"(?<![\w.])\d+(?:\.\d+)?%?", text)
    assert not typed, f"{path.name}: numbers typed into prose (glue them): {typed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_a_caption_a_name_and_alt_text(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not images:
            continue
        meta = cell.metadata.get("mystnb", {})
        assert meta.get("figure", {}).get("caption"), f"{path.name} cell {index}: no caption"
        assert meta.get("figure", {}).get("name"), f"{path.name} cell {index}: no figure name"
        assert meta.get("image", {}).get("alt"), f"{path.name} cell {index}: no alt text"
        assert len(images) == 1, f"{path.name} cell {index}: one image per figure cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapters_with_reconstructed_data_say_so_at_the_top(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if not re.search(r"\bStudy\(|load_frame|load_table", code):
        return
    top = "\n".join(_markdown(nb)[:2]).lower()
    assert "reconstruct" in top and ("admonition" in top or "{warning}" in top
                                     or "{note}" in top), (
        f"{path.name}: shows reconstructed data without a notice near the top")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_is_committed_executed(path):
    nb = nbformat.read(path, as_version=4)
    missing = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
    assert not missing, f"{path.name}: code cells without stored outputs: {missing}"
