"""Building the book: never older than the code and data behind it.

A Sphinx extension (``sphinx: extra_extensions`` in ``_config.yml``) that
closes the one gap in Jupyter Book's execution cache: the cache keys a
notebook on its code cells only, so an edit to the library or to a data file
would leave every number in the book as it was. The extension hashes the
files the notebooks read (``book_inputs``: by default ``cart_lib/``, ``data/``
and ``requirements.lock``) and, when the hash differs from the one the cache
and the Sphinx environment were built against,

1. clears the execution cache, so every notebook runs again, and
2. makes Sphinx re-read every page, which it would not otherwise do: it
   re-reads a page only when the page's own source file changed.

It also deletes the HTML of a page taken out of the book, which Sphinx leaves.

It also puts the project's version and the version and date of the data into
every page's footer, and offers :func:`working_copy`, a copy of the project
in which tests and benchmarks may edit the library and the data without
touching the working tree.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import __version__, paths

#: Files and folders, relative to the book's root, that the notebooks read.
DEFAULT_INPUTS = ("cart_lib", "data", "requirements.lock")
#: File in the execution cache naming the inputs its notebooks were run with.
CACHE_STAMP = "book-inputs.sha256"
#: What a copy of the project leaves out: build products, the environment, git's store.
NOT_COPIED = (".git", ".venv", "_build", "__pycache__", "*.egg-info", ".pytest_cache",
              ".ipynb_checkpoints")


def input_files(root: Path, inputs: Iterable[str]) -> Iterator[Path]:
    """Every file under ``inputs`` (files or folders relative to ``root``), sorted.

    Bytecode caches are left out: Python rewrites them on import, and they
    hold nothing the sources do not.
    """
    for name in sorted(inputs):
        top = root / name
        found = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in found:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def inputs_digest(root: Path, inputs: Iterable[str]) -> str:
    """SHA-256 over the names and contents of the input files.

    Content, not modification time: a checkout that restores the same bytes
    does not force a rebuild, and any change of a byte does.

    Examples
    --------
    >>> a = inputs_digest(paths.ROOT, ["data"])
    >>> a == inputs_digest(paths.ROOT, ["data"]) and a != inputs_digest(paths.ROOT, [])
    True
    """
    inputs = sorted(inputs)
    total = hashlib.sha256("\n".join(inputs).encode())
    for path in input_files(root, inputs):
        total.update(path.relative_to(root).as_posix().encode() + b"\0")
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def data_version(root: Path = paths.ROOT) -> dict[str, str]:
    """The version of the data a build used, as the footer states it.

    Returns
    -------
    dict
        ``sha256``: the first 12 hex digits of :func:`inputs_digest` over
        ``data/``, which identifies the data exactly; ``committed``: the date
        of the last git commit that changed ``data/`` (deterministic, unlike
        the time of a build), with a note when ``data/`` holds uncommitted
        changes, or a note that the project is not a git checkout.
    """
    digest = inputs_digest(root, [paths.DATA.name])[:12]
    data = paths.DATA.name

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    # A copy of the project inside some other repository must not report that one's history.
    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != root.resolve():
        return {"sha256": digest, "committed": "not a git checkout"}
    date = git("log", "-1", "--format=%cs", "--", data)
    committed = f"{data}/ last committed {date}" if date else f"{data}/ never committed"
    if git("status", "--porcelain", "--", data):
        committed += ", with uncommitted changes since"
    return {"sha256": digest, "committed": committed}


def footer_html(root: Path = paths.ROOT) -> str:
    """The footer line: project version, and version and date of the data."""
    data = data_version(root)
    return (f'<p class="cart-build-info">cart_lib {html.escape(__version__)}; '
            f'data SHA-256 <code>{html.escape(data["sha256"])}</code> '
            f'({html.escape(data["committed"])}).</p>')


# ------------------------------------------------------------------ Sphinx

def _set_footer(app, config) -> None:
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = (options.get("extra_footer") or "") + footer_html(Path(app.srcdir))
    config.html_theme_options = options


def _outdated(app, env, added, changed, removed) -> list[str]:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    digest = inputs_digest(Path(app.srcdir), app.config.book_inputs)
    cache = Path(env.mystnb_config.execution_cache_path)
    stamp = cache / CACHE_STAMP
    if not stamp.is_file() or stamp.read_text() != digest:
        # Written before any notebook runs: every entry the cache gains from
        # here on was computed with these inputs.
        logger.info("book inputs changed: clearing the execution cache %s", cache)
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        stamp.write_text(digest)
    # Sphinx forgets a page taken out of the book but leaves its HTML, which
    # a reader (or the browser test) would still find, never to be updated.
    for docname in removed:
        if hasattr(app.builder, "get_outfilename"):
            Path(app.builder.get_outfilename(docname)).unlink(missing_ok=True)
    # Kept in the environment, which Sphinx saves only after reading every
    # page: a build that fails half-way re-reads everything the next time.
    if getattr(env, "book_inputs_digest", None) != digest:
        env.book_inputs_digest = digest
        logger.info("book inputs changed: re-reading every page")
        return sorted(env.found_docs - set(added))
    return []


def _drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    # Sphinx 7.4 keeps a script that an extension adds after the builder
    # started (sphinx-thebe, sphinx-togglebutton) twice, once named None and
    # once "", and the second `const THEBE_JS_URL` is a console error in
    # every page. Keep the first of each.
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", script) or "",
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app) -> dict:
    """Register the extension with Sphinx."""
    app.add_config_value("book_inputs", list(DEFAULT_INPUTS), "env", [list, tuple])
    app.connect("config-inited", _set_footer)
    app.connect("env-get-outdated", _outdated)
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"version": __version__, "parallel_read_safe": False, "parallel_write_safe": True}


# ------------------------------------------------------------------ copies

def working_copy(dest: Path, root: Path = paths.ROOT) -> Path:
    """Copy the project to ``dest``, sharing its environment, and return ``dest``.

    The copy keeps modification times (so ``make`` there finds the
    environment up to date) and links ``.venv`` instead of copying it. Run
    commands in the copy with ``PYTHONPATH`` set to it: the environment's
    editable install of ``cart_lib`` points at the original.
    """
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    (dest / ".venv").symlink_to((root / ".venv").resolve())
    return dest
