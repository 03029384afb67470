"""The built book, as a reader's browser shows it (headless Chromium).

The book is built first (``make book``: a no-op when it is up to date), so
the test always sees the HTML of the current sources. Screenshots of every
page are saved under ``_build/screenshots/``. Without Chromium the tests are
skipped with the command that installs it, unless ``CART_REQUIRE_BROWSER`` is
set (``.ci/run`` sets it once it has installed Chromium), when they fail.

The last tests damage a copy of the built HTML the way a real fault would
and check that the page check reports it: a check that cannot fail proves
nothing.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from browser_pages import chromium, chromium_missing, inspect, pages, redirects, serve
from cart_lib.core import paths

HTML = paths.ROOT / "_build" / "html"
SHOTS = paths.ROOT / "_build" / "screenshots"


@pytest.fixture(scope="session")
def book() -> Path:
    """The book, built from the current sources."""
    done = subprocess.run(["make", "book"], cwd=paths.ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail("make book failed:\n" + done.stdout[-4000:] + done.stderr[-4000:])
    return HTML


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless Chromium session, or a skip that says how to install Chromium."""
    missing = chromium_missing()
    if missing:
        if os.environ.get("CART_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


@pytest.fixture(scope="session")
def reports(book: Path, browser) -> dict:
    """Every page of the book, opened once: page path to its report; screenshots saved."""
    shutil.rmtree(SHOTS, ignore_errors=True)
    with serve(book) as base:
        return {page: inspect(browser, base, page, SHOTS) for page in pages(book)}


def test_every_page_renders_cleanly(reports: dict):
    problems = [f"{page}: {p}" for page, r in reports.items() for p in r.problems]
    assert not problems, "\n".join(problems)
    assert sum(r.claims_rows for r in reports.values()) > 0, "no claims table found in the book"
    assert len(list(SHOTS.glob("*.png"))) == len(reports)


def test_every_page_belongs_to_the_current_book(book: Path):
    """No page is left over from an earlier build (a chapter since taken out)."""
    index = (book / "searchindex.js").read_text()
    docnames = json.loads(index[index.index("(") + 1:index.rindex(")")])["docnames"]
    current = {f"{name}.html" for name in docnames} | {"genindex.html", "search.html"}
    assert set(pages(book)) == current


def test_redirects_lead_to_pages(book: Path):
    for name, target in redirects(book).items():
        assert (book / name).parent.joinpath(target).is_file(), f"{name} sends readers to {target}"


def test_downloads_are_the_project_files(book: Path, reports: dict):
    """Every download is byte for byte the project's file of that name (under data/
    or at the top), and each study's chapter (a page named after the study) offers
    its cohort, its ledger and its R check."""
    # Several project files share a name (each cohort and each sample has a
    # provenance file): a download must equal one of them.
    project_files: dict[str, list[Path]] = {}
    for p in [*paths.DATA.rglob("*"), *paths.ROOT.glob("*")]:
        if p.is_file():
            project_files.setdefault(p.name, []).append(p)
    offered = {urlsplit(href).path.lstrip("/") for r in reports.values() for href in r.downloads}
    assert offered, "the book offers no download"
    for path in offered:
        built, name = book / path, Path(path).name
        assert name in project_files, f"{name} is no file of the project"
        assert any(filecmp.cmp(built, source, shallow=False) for source in project_files[name]), (
            f"{name} is stale")
    for study in paths.studies():
        report = reports.get(f"chapters/{study}.html")
        if report is not None:
            names = {Path(href).name for href in report.downloads}
            assert {f"{study}.csv", f"{study}.yaml", f"{study}.R"} <= names, (
                f"{study}'s chapter offers {names}")


# ------------------------------------------------------------------ the check can fail

@pytest.fixture
def damaged(book: Path, tmp_path: Path) -> Path:
    """A copy of the built HTML, to damage."""
    return Path(shutil.copytree(book, tmp_path / "html"))


def page_with(html: Path, needle: str) -> str:
    """The first page whose source contains ``needle``."""
    found = next((p for p in pages(html) if needle in (html / p).read_text()), None)
    assert found, f"no page contains {needle!r}"
    return found


def problems_of(html: Path, page: str, browser) -> list[str]:
    with serve(html) as base:
        return inspect(browser, base, page, None).problems


def insert(html: Path, page: str, markup: str) -> None:
    """Put ``markup`` at the top of the page's article, where a reader sees it."""
    source = html / page
    text, found = re.subn(r"(<article\b[^>]*>)", lambda m: m.group(1) + markup,
                          source.read_text(), count=1)
    assert found, f"{page} has no <article>"
    source.write_text(text)


def test_a_removed_figure_is_reported(damaged: Path, browser):
    shown = [(page, image) for page in pages(damaged)
             for image in sorted(damaged.glob("_images/*"))
             if image.name in (damaged / page).read_text()]
    if shown:
        # A figure of the book, its file gone from the build output.
        page, image = shown[0]
        image.unlink()
        name = image.name
    else:
        # The book has no figure yet: add one whose file is missing.
        page, name = "chapters/index.html", "missing-figure.png"
        insert(damaged, page, f'<figure><img src="../_images/{name}" alt="a figure"></figure>')
    assert any("image did not load" in p and name in p for p in problems_of(damaged, page, browser))


def test_text_of_a_broken_glue_is_reported(damaged: Path, browser):
    page = "chapters/index.html"
    insert(damaged, page, "<p>{glue:text}`no_such_key` and Failed to format text/plain data</p>")
    problems = problems_of(damaged, page, browser)
    assert any("{glue:" in p for p in problems) and any("Failed to format" in p for p in problems)


def test_a_mismatch_in_a_claims_table_is_reported(damaged: Path, browser):
    page = page_with(damaged, "<th>status</th>")
    source = damaged / page
    source.write_text(re.sub(r"<td>match</td>", "<td>mismatch</td>", source.read_text(), count=1))
    assert "a claims table shows a mismatch" in problems_of(damaged, page, browser)


def test_a_console_error_and_a_missing_alt_text_are_reported(damaged: Path, browser):
    page = "chapters/index.html"
    image = next(damaged.joinpath("_static").rglob("*.png"), None) or next(
        damaged.joinpath("_static").rglob("*.svg"))
    insert(damaged, page, f'<script>throw new Error("deliberate")</script>'
                          f'<img src="../{image.relative_to(damaged).as_posix()}">')
    problems = problems_of(damaged, page, browser)
    assert any("console error" in p and "deliberate" in p for p in problems), problems
    assert any("without alt text" in p for p in problems), problems
