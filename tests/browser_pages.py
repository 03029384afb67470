"""Open the built book in headless Chromium and list what is wrong on each page.

Used by ``test_browser.py``. The browser is Debian's ``chromium``, driven
through Debian's ``chromedriver`` by Selenium; both paths are given, so
Selenium Manager never runs and nothing is downloaded. Pages are served over
HTTP on loopback, as a reader's browser would load them, not from ``file://``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import re
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = ("Chromium is not installed: the browser test needs Debian's chromium and "
                "chromium-driver (as root: apt-get install -y chromium chromium-driver); "
                ".ci/run installs them")
#: The machine's network is closed: without these Chromium tries Google's hosts at every start.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1280,900", "--hide-scrollbars")
#: Text that only a failed glue, a docutils error or an undrawn figure leaves in a page.
BROKEN_TEXT = ("Failed to format", "{glue:", "glue:text}", "glue:figure}", "glue:any}",
               "glue:md}", "found in glue data", "System Message:",
               "<Figure size")  # matplotlib's text for a figure that was not drawn
#: Statuses a claims table may show; anything else is reported.
STATUSES = {"match", "infeasible-as-printed", "pending"}
#: Folders of the build that hold no pages.
NOT_PAGES = {"_static", "_sources", "_images", "_downloads"}

# Runs in the page. Images are made eager and decoded, so that an image below
# the fold is loaded too and a broken one is known; claims tables are read
# into a grid (row and column spans honoured) to find each row's status.
INSPECT_JS = r"""
const done = arguments[arguments.length - 1];
(async () => { try {
  const article = document.querySelector('article') || document.body;
  const images = [];
  for (const img of document.images) {
    img.loading = 'eager';
    try { await img.decode(); } catch (e) {}
    images.push({src: img.currentSrc || img.src, width: img.naturalWidth,
                 alt: (img.getAttribute('alt') || '').trim(),
                 inArticle: article.contains(img)});
  }
  const grid = (rows) => {
    const out = [];
    rows.forEach((tr, r) => {
      out[r] = out[r] || [];
      let c = 0;
      for (const cell of tr.cells) {
        while (out[r][c] !== undefined) c++;
        for (let i = 0; i < cell.rowSpan; i++)
          for (let j = 0; j < cell.colSpan; j++) {
            out[r + i] = out[r + i] || [];
            out[r + i][c + j] = cell.textContent.trim();
          }
        c += cell.colSpan;
      }
    });
    return out;
  };
  const claims = [];
  for (const table of document.querySelectorAll('table')) {
    const head = grid([...(table.tHead ? table.tHead.rows : [])]);
    const column = head.map(row => row.indexOf('status')).find(i => i >= 0);
    if (column === undefined) continue;
    const body = grid([...table.tBodies].flatMap(b => [...b.rows]));
    claims.push({statuses: body.map(row => row[column]),
                 truncated: body.some(row => row.some(cell => cell === '...' || cell === '…'))});
  }
  const emptyFigures = [...article.querySelectorAll('figure')]
    .filter(f => !f.querySelector('img, svg, canvas, video')).map(f => f.id || '(unnamed)');
  const headings = [...article.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .map(h => [Number(h.tagName[1]), h.textContent.replace(/#$/, '').trim()]);
  const downloads = [...document.querySelectorAll('a.download')]
    .map(a => a.href);
  const footer = document.querySelector('.cart-build-info');
  done({images, emptyFigures, claims, headings, downloads, text: document.body.innerText,
        footer: footer ? footer.textContent : null});
  } catch (error) { done({error: String(error)}); }
})();
"""


@dataclass
class PageReport:
    """What one page showed, and what is wrong with it."""

    page: str
    problems: list[str] = field(default_factory=list)
    claims_rows: int = 0
    downloads: list[str] = field(default_factory=list)


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def html_files(html: Path) -> list[str]:
    """Every HTML file of a build, as paths relative to its root."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not NOT_PAGES & set(p.relative_to(html).parts))


def redirects(html: Path) -> dict[str, str]:
    """The files that only send the reader on (the root ``index.html``): file to target."""
    found = {name: REDIRECT.search((html / name).read_text()) for name in html_files(html)}
    return {name: match.group(1) for name, match in found.items() if match}


def pages(html: Path) -> list[str]:
    """Every page of a build a reader sees (redirects left out)."""
    return [name for name in html_files(html) if name not in redirects(html)]


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    return f"{INSTALL_HINT} (missing: {', '.join(missing)})" if missing else None


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on loopback; yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the test reports problems itself
            pass

    handler = functools.partial(Quiet, directory=str(root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


@contextmanager
def chromium(profile: Path):
    """A headless Chromium session (Selenium), with a fresh profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A driver path given to Service means Selenium Manager is never asked for one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, path: Path) -> None:
    """Save the whole page, not just the window, as a PNG."""
    # The checks scroll elements into view, which can leave a container
    # scrolled sideways; the picture should show the page as a reader opens it.
    driver.execute_script("document.querySelectorAll('*').forEach(e => { e.scrollLeft = 0; });"
                          "window.scrollTo(0, 0);")
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def inspect(driver, base: str, page: str, shots: Path | None) -> PageReport:
    """Open one page and check it.

    Checks: no console error; every image loads (non-zero natural width)
    and, in the article, has alt text; no text of a failed glue; every claims
    table (a table with a ``status`` column) shows all its rows and no
    ``mismatch``; one H1 and no skipped heading level; the footer states the
    version of the data; every download link answers with a file.
    """
    report = PageReport(page)
    driver.get_log("browser")  # drop what an earlier page left
    driver.get(base + page)
    seen = driver.execute_async_script(INSPECT_JS)
    if "error" in seen:
        raise RuntimeError(f"{page}: the page check failed in the browser: {seen['error']}")
    problems = report.problems
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"console error: {entry['message']}")
    for img in seen["images"]:
        if img["width"] == 0:
            problems.append(f"image did not load: {img['src']}")
        if img["inArticle"] and not img["alt"]:
            problems.append(f"image without alt text: {img['src']}")
    for name in seen["emptyFigures"]:
        problems.append(f"figure {name} shows no image")
    for text in BROKEN_TEXT:
        if text in seen["text"]:
            problems.append(f"page shows {text!r}")
    for table in seen["claims"]:
        report.claims_rows += len(table["statuses"])
        if table["truncated"]:
            problems.append("a claims table hides rows ('...'): show every claim")
        for status in table["statuses"]:
            if status == "mismatch":
                problems.append("a claims table shows a mismatch")
            elif status not in STATUSES | {"...", "…"}:  # a hidden row is reported above
                problems.append(f"a claims table shows an unknown status {status!r}")
    levels = [level for level, _ in seen["headings"]]
    if levels.count(1) != 1:
        problems.append(f"{levels.count(1)} H1 headings instead of one")
    for (before, _), (level, title) in zip(seen["headings"], seen["headings"][1:]):
        if level > before + 1:
            problems.append(f"heading {title!r} (H{level}) skips a level after H{before}")
    if not seen["footer"] or "data SHA-256" not in seen["footer"]:
        problems.append("the footer does not state the version of the data")
    for href in seen["downloads"]:
        report.downloads.append(href)
        try:
            with urllib.request.urlopen(href, timeout=10) as answer:
                answer.read()
        except OSError as error:
            problems.append(f"download {href} fails: {error}")
    if shots is not None:
        screenshot(driver, shots / (page.removesuffix(".html").replace("/", "__") + ".png"))
    return report
