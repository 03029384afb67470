"""Building the book: never older than the code and data behind it, and no slower than need be.

A Sphinx extension (``sphinx: extra_extensions`` in ``_config.yml``) that
closes the one gap in Jupyter Book's execution cache: the cache keys a
notebook on its code cells only, so an edit to the library or to a data file
would leave every number in the book as it was.

Before Sphinx reads any page, the extension

1. finds the stale notebooks: those never executed by it, whose code cells
   changed, that have no entry in the execution cache, or that read a file
   that changed since (:func:`stale`). What a notebook read is recorded while
   it runs (:mod:`cart_lib.book.notebooks`: the files it opened, the folders it
   listed, the modules it imported) and kept beside the cache
   (:data:`RECORDS`), for the files under ``book_inputs`` (``cart_lib/``,
   ``data/``); every notebook also depends on every file of
   ``book_environment`` (``requirements.lock``). A notebook that started
   another process depends on every file under ``book_inputs``, since what
   that process read is not known;
2. executes the stale notebooks, several at once (``book_jobs`` kernels, by
   default one per core), and stores them in the execution cache, where
   myst-nb finds them when Sphinx reads the page. A notebook that fails is
   left out of the cache, so myst-nb executes it again itself and fails the
   build with its error;
3. makes Sphinx re-read each notebook executed since its last successful
   read, which it would not otherwise do (it re-reads a page only when the
   page's own source changed), and every page that is not a notebook when
   any input changed.

A stale notebook is not executed when its stored outputs are current: ``make
notebooks`` executes the chapters in place and records, in
``book_stored_outputs`` (:data:`cart_lib.core.paths.STORED_OUTPUTS`), what
each one read, under the same rules. When a notebook's code cells, the
files and folders it read and the environment are as that record holds
them, its stored outputs are what executing it would give (nbval checks
that they are), and the build takes them into the cache as they are. So a
clean build of an unchanged checkout executes nothing, and an edit executes
the chapters it concerns.

It also deletes the HTML of a page taken out of the book, which Sphinx leaves.

It also puts the project's version and the version and date of the data into
every page's footer, and offers :func:`working_copy`, a copy of the project
in which tests and benchmarks may edit the library and the data without
touching the working tree.
"""

from __future__ import annotations

import fnmatch
import hashlib
import html
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from .. import __version__
from ..core import paths

#: Files and folders, relative to the book's root, that the notebooks may read:
#: a notebook depends on those of their files it read or imported.
DEFAULT_INPUTS = (paths.LIBRARY.name, paths.DATA.name)
#: Files every notebook depends on, whether it reads them or not: the environment.
DEFAULT_ENVIRONMENT = ("requirements.lock",)
#: File in the execution cache recording, per notebook, what it read when it last ran.
RECORDS = "book-reads.json"
#: File, relative to the book's root, recording what each notebook's stored outputs were computed from.
DEFAULT_STORED = paths.STORED_OUTPUTS.relative_to(paths.ROOT).as_posix()
#: What the stored-outputs file says of itself.
STORED_ABOUT = ("What each chapter's stored outputs were computed from, written by `make notebooks` "
                "(cart_lib.book.notebooks): the key of its code cells, and the SHA-256 of every "
                "file and folder listing it read under book_inputs and of book_environment. "
                "The book takes a chapter's stored outputs instead of executing it while all "
                "of these are unchanged (cart_lib.book.bookbuild).")
#: What a copy of the project leaves out: build products, the environment, git's store.
NOT_COPIED = (".git", ".venv", paths.BUILD.name, "__pycache__", "*.egg-info", ".pytest_cache",
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


# ------------------------------------------------------------------ what a notebook read

def _file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _listing_digest(folder: Path) -> str | None:
    if not folder.is_dir():
        return None
    names = sorted(p.name for p in folder.iterdir() if p.name != "__pycache__")
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _in_scope(path: str, root: Path, inputs: Iterable[str]) -> str | None:
    """``path`` relative to ``root`` when it lies under one of ``inputs``, else None."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return None
    if "__pycache__" in rel.parts or rel.suffix == ".pyc":
        return None
    for name in inputs:
        top = Path(name)
        if rel == top or top in rel.parents:
            return rel.as_posix()
    return None


def snapshot(root: Path, inputs: Iterable[str], environment: Iterable[str]) -> dict:
    """The digest of every file and folder listing under ``inputs`` and of ``environment``.

    Taken before the notebooks run, so that what a record holds is what the
    files were when the notebook could read them: a file edited while a
    notebook runs then differs from its record, and the notebook runs again
    on the next build.
    """
    root = Path(os.path.realpath(root))
    inputs = list(inputs)
    files = {p.relative_to(root).as_posix(): _file_digest(p)
             for p in input_files(root, [*inputs, *environment])}
    folders = {p.relative_to(root).as_posix(): _listing_digest(p)
               for name in inputs for p in [root / name, *sorted((root / name).rglob("*"))]
               if p.is_dir() and "__pycache__" not in p.parts}
    return {"files": files, "folders": folders}


def dependencies(reads, root: Path, inputs: Iterable[str],
                 environment: Iterable[str], before: dict | None = None) -> dict:
    """What a notebook depends on, from what its kernel read (:class:`cart_lib.book.notebooks.Reads`).

    Returns ``{"files": {path: sha256 or None}, "folders": {path: sha256 of
    the names in it}}``, paths relative to ``root``. ``None`` stands for a
    file the notebook tried to open that did not exist: creating it makes the
    notebook stale. The folder of each file read counts as listed, so that a
    file appearing beside it (which the notebook may have looked for without
    opening) makes the notebook stale too. A notebook that started another
    process depends on every file and folder under ``inputs``. ``before``:
    the :func:`snapshot` taken before the notebook ran, whose digests the
    record holds (by default, the files as they are now).
    """
    root = Path(os.path.realpath(root))
    before = snapshot(root, inputs, environment) if before is None else before
    inputs = list(inputs)
    files: set[str] = set(environment)
    folders: set[str] = set()
    if reads.spawned:
        files |= {p.relative_to(root).as_posix() for p in input_files(root, inputs)}
        folders |= {p.relative_to(root).as_posix() for name in inputs
                    for p in [root / name, *sorted((root / name).rglob("*"))]
                    if p.is_dir() and "__pycache__" not in p.parts}
    for path in [*reads.reads, *reads.modules]:
        rel = _in_scope(path, root, inputs)
        if rel is not None:
            files.add(rel)
    for path in reads.listed:
        rel = _in_scope(path, root, inputs)
        if rel is not None:
            folders.add(rel)
    folders |= {Path(f).parent.as_posix() for f in files if Path(f).parent != Path(".")}
    return {"files": {f: before["files"].get(f) for f in sorted(files)},
            "folders": {d: before["folders"].get(d) for d in sorted(folders)}}


def changed_inputs(record: dict, root: Path) -> list[str]:
    """The files and folders of a notebook's record that are no longer as it read them."""
    root = Path(root)
    found = [f for f, digest in record["files"].items() if _file_digest(root / f) != digest]
    found += [f"{d}/" for d, digest in record["folders"].items()
              if _listing_digest(root / d) != digest]
    return found


def _scope(inputs: Iterable[str], environment: Iterable[str]) -> dict[str, list[str]]:
    return {"inputs": sorted(inputs), "environment": sorted(environment)}


def code_key(nb) -> str:
    """The execution cache's key of a notebook: its code cells and kernel, not its outputs or prose."""
    from jupyter_cache.cache.main import JupyterCacheBase

    # The hash is the cache's own, which reads nothing of the cache itself.
    return JupyterCacheBase.create_hashed_notebook(None, nb)[1]


def stale(nb, record: dict | None, root: Path, cache=None, scope: dict | None = None) -> str | None:
    """Why a notebook must run again before the book shows it, or None when it need not.

    ``record``: what :data:`RECORDS` (or the stored-outputs file) holds for
    it; ``cache``: the execution cache, which must hold the notebook (None:
    the outputs are the notebook's own, stored with it); ``scope``: the
    ``book_inputs`` and ``book_environment`` in force, which the record must
    have been made under.
    """
    if record is None:
        return "never executed with its reads recorded"
    if scope is not None and record.get("scope") != scope:
        return "book_inputs or book_environment changed"
    if record.get("key") != code_key(nb):
        return "its code cells changed"
    if cache is not None:
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            return "not in the execution cache"
    found = changed_inputs(record, root)
    if found:
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        return f"changed since it ran: {shown}"
    return None


def read_stored(path: Path | None) -> dict:
    """The records of the stored-outputs file (``{notebook: record}``), empty without one."""
    if path is None or not Path(path).is_file():
        return {}
    return json.loads(Path(path).read_text()).get("notebooks", {})


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` whole or not at all, the same bytes for the same data."""
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_stored(path: Path, records: dict) -> None:
    """Write the stored-outputs file."""
    _write_json(path, {"about": STORED_ABOUT, "notebooks": records})


def execution_record(nb, reads, root: Path, inputs: Iterable[str], environment: Iterable[str],
                     before: dict) -> dict:
    """What is kept of an executed notebook, by the build and in the stored-outputs file.

    Its code cells' key, the scope it ran under and what it read (:func:`dependencies`).
    """
    inputs, environment = list(inputs), list(environment)
    record = dependencies(reads, root, inputs, environment, before)
    record["key"] = code_key(nb)
    record["scope"] = _scope(inputs, environment)
    return record


def settings(root: Path) -> dict:
    """``book_inputs``, ``book_environment`` and ``book_stored_outputs`` as ``_config.yml`` sets them."""
    import yaml

    config_file = Path(root) / "_config.yml"
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else None
    given = ((config or {}).get("sphinx") or {}).get("config") or {}
    return {"inputs": list(given.get("book_inputs", DEFAULT_INPUTS)),
            "environment": list(given.get("book_environment", DEFAULT_ENVIRONMENT)),
            "stored": given.get("book_stored_outputs", DEFAULT_STORED)}


def refresh(root: Path, notebooks: dict[str, Path], cache_path: Path, inputs: Iterable[str],
            environment: Iterable[str], jobs: int = 0, timeout: int = 600,
            allow_errors: bool = False, log=print, stored: Path | None = None) -> dict[str, str]:
    """Bring the stale ``notebooks`` ({docname: path}) into the cache; return each one's run.

    A stale notebook whose stored outputs are current (``stored``, the
    stored-outputs file, holds a record of it that :func:`stale` finds
    nothing wrong with) is taken into the cache as stored; the others are
    executed. A run is an identifier that changes whenever the notebook is
    brought in again: Sphinx must re-read a page whose run it has not read.
    A notebook that fails gets a fresh run and no cache entry, so myst-nb
    executes it itself when Sphinx reads it and reports its error.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from .notebooks import execute_many

    inputs, environment = list(inputs), list(environment)
    cache_path = Path(cache_path)
    cache = get_cache(str(cache_path))
    store = cache_path / RECORDS
    records: dict = json.loads(store.read_text()) if store.is_file() else {}
    kept = read_stored(stored)
    scope = _scope(inputs, environment)
    took = {name: record.get("seconds", 0.0) for name, record in records.items()}
    todo: list[tuple[str, Path, str]] = []
    taken: list[tuple[str, Path, str, object]] = []
    for doc, path in sorted(notebooks.items()):
        name = Path(path).relative_to(root).as_posix()
        nb = nbformat.read(path, as_version=4)
        why = stale(nb, records.get(name), root, cache, scope)
        if why:
            # Never leave an entry computed from older inputs for myst-nb to find.
            records.pop(name, None)
            try:
                cache.remove_cache(cache.match_cache_notebook(nb).pk)
            except KeyError:
                pass
            if name in kept and stale(nb, kept[name], root, None, scope) is None:
                taken.append((doc, Path(path), name, nb))
                log(f"{name}: taking its stored outputs, which are current")
            else:
                todo.append((doc, Path(path), name))
                log(f"{name}: executing again ({why})")
    if todo or taken:
        _write_json(store, records)
    for doc, path, name, nb in taken:
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(path), data={"execution_seconds": 0.0}),
                                    check_validity=False, overwrite=True)
        records[name] = {**kept[name], "run": uuid.uuid4().hex, "seconds": took.get(name, 0.0)}
    # Longest first (as they last ran), so the pool does not end on one long notebook.
    todo.sort(key=lambda item: -took.get(item[2], 0.0))
    before = snapshot(root, inputs, environment) if todo else {}
    results = execute_many([p for _, p, _ in todo], jobs=jobs, timeout=timeout, track=True,
                           allow_errors=allow_errors)
    runs: dict[str, str] = {}
    for (doc, path, name), done in zip(todo, results):
        if done.error is not None:
            log(f"{name}: failed in {done.seconds:.1f} s; Sphinx runs it again to report why")
            runs[doc] = f"failed-{uuid.uuid4().hex}"
            continue
        cache.cache_notebook_bundle(
            CacheBundleIn(done.nb, str(path), data={"execution_seconds": done.seconds}),
            check_validity=False, overwrite=True)
        record = execution_record(done.nb, done.reads, root, inputs, environment, before)
        record["run"] = uuid.uuid4().hex
        record["seconds"] = round(done.seconds, 2)
        records[name] = record
        log(f"{name}: executed in {done.seconds:.1f} s; depends on {len(record['files'])} files")
    if todo or taken:
        _write_json(store, records)
    for doc, path in notebooks.items():
        name = Path(path).relative_to(root).as_posix()
        runs.setdefault(doc, records.get(name, {}).get("run", ""))
    return runs


# ------------------------------------------------------------------ Sphinx

def _set_footer(app, config) -> None:
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = (options.get("extra_footer") or "") + footer_html(Path(app.srcdir))
    config.html_theme_options = options


def _outdated(app, env, added, changed, removed) -> list[str]:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    root = Path(app.srcdir).resolve()
    inputs, environment = list(app.config.book_inputs), list(app.config.book_environment)
    config = env.mystnb_config
    reread: set[str] = set()
    if config.execution_mode == "cache":
        cache = Path(config.execution_cache_path or root / ".jupyter_cache")
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "book-inputs.sha256").unlink(missing_ok=True)   # the earlier, all-or-nothing rule
        notebooks = {}
        for doc in sorted(env.found_docs):
            path = Path(env.doc2path(doc)).resolve()
            excluded = any(fnmatch.fnmatch(path.relative_to(root).as_posix(), pattern)
                           for pattern in config.execution_excludepatterns)
            if path.suffix == ".ipynb" and not excluded:
                notebooks[doc] = path
        stored = app.config.book_stored_outputs
        runs = refresh(root, notebooks, cache, inputs, environment, jobs=app.config.book_jobs,
                       timeout=config.execution_timeout,
                       allow_errors=config.execution_allow_errors, log=logger.info,
                       stored=root / stored if stored else None)
        # Kept in the environment, which Sphinx saves only after reading every
        # page: a build that fails half-way re-reads these pages the next time.
        read = getattr(env, "book_notebook_runs", {})
        reread |= {doc for doc, run in runs.items() if read.get(doc) != run}
        env.book_notebook_runs = runs
    # Sphinx forgets a page taken out of the book but leaves its HTML, which
    # a reader (or the browser test) would still find, never to be updated.
    for docname in removed:
        if hasattr(app.builder, "get_outfilename"):
            Path(app.builder.get_outfilename(docname)).unlink(missing_ok=True)
    # Pages that are not notebooks compute nothing, but are cheap to read
    # again: every one of them when any input changed.
    digest = inputs_digest(root, inputs + environment)
    if getattr(env, "book_inputs_digest", None) != digest:
        env.book_inputs_digest = digest
        logger.info("book inputs changed: re-reading every page that is not a notebook")
        reread |= {doc for doc in env.found_docs if not env.doc2path(doc).endswith(".ipynb")}
    if reread - set(added):
        logger.info("re-reading %d pages whose inputs changed", len(reread - set(added)))
    return sorted(reread - set(added))


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
    app.add_config_value("book_environment", list(DEFAULT_ENVIRONMENT), "env", [list, tuple])
    # 0: one kernel per core.
    app.add_config_value("book_jobs", 0, "", [int])
    # "": never take a notebook's stored outputs, execute every stale one.
    app.add_config_value("book_stored_outputs", DEFAULT_STORED, "", [str])
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
