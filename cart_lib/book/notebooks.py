"""Execute the book's notebooks, several at once, record what each one read, and keep their text.

``python -m cart_lib.book.notebooks [--jobs J] [NOTEBOOK ...]`` (``make notebooks``)
executes the chapters in place, so their stored outputs are nbval's
reference. Stored outputs are results: regenerate them deliberately and
review the diff like code. Execution records no timing metadata, so that
re-executing an unchanged notebook rewrites it byte for byte. What each
notebook read goes to the stored-outputs file
(:data:`cart_lib.core.paths.STORED_OUTPUTS`), so that the book's build takes
the stored outputs, instead of executing the notebook, for as long as none
of it changed (:mod:`cart_lib.book.bookbuild`); a notebook that failed loses
its record.

Each notebook runs in its own kernel, a process of its own, and up to
``jobs`` kernels run at once (by default one per core): :func:`execute_many`.
The book's build (:mod:`cart_lib.book.bookbuild`) executes its stale notebooks
the same way before Sphinx reads them.

With ``track=True`` the kernel also records what the notebook read, for the
build to know which notebooks a changed file concerns. Before the first
cell, and without a trace in the notebook (silent execution, no history, so
execution counts are those of a plain run), it installs an audit hook
(:func:`sys.addaudithook`) that notes every file opened and every folder
listed, and whether the notebook started another process (whose reads the
hook cannot see); after the last cell it adds the file of every module
imported (``sys.modules``: a module read from its bytecode cache opens no
source file) and writes the record, a :class:`Reads`.

Each chapter also has its text, the notebook's prose and code without
outputs as MyST Markdown (:func:`as_text`, by jupytext), in
``chapters/text/<chapter>.md``, so that a change to a chapter reads as text
in a diff. ``make notebooks`` first takes into a notebook any edit made to
its text (:func:`take_text`), then executes it and writes the text again; a
test keeps every pair in sync. The executed notebook stays nbval's reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbclient
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient.util import ensure_async

from ..core import paths

#: Run silently in the kernel before the first cell; ``OUT`` becomes where the record goes.
TRACKER = """
def _cart_lib_track(out):
    import json, os, sys
    reads, listed, spawned, on = set(), set(), set(), [True]

    def hook(event, args):
        if not on[0]:
            return
        try:
            if event == "open" or event in ("os.listdir", "os.scandir"):
                path = args[0] if args else None
                if path is None and event != "open":
                    path = "."
                if isinstance(path, (str, bytes, os.PathLike)):
                    (reads if event == "open" else listed).add(
                        os.path.realpath(os.fsdecode(path)))
            elif event in ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn",
                           "os.exec", "os.fork", "os.forkpty"):
                spawned.add(event)
        except Exception:
            pass

    sys.addaudithook(hook)

    def dump():
        on[0] = False
        modules = set()
        for module in list(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if isinstance(name, str):
                modules.add(os.path.realpath(name))
        with open(out, "w") as handle:
            json.dump({"reads": sorted(reads), "listed": sorted(listed),
                       "modules": sorted(modules), "spawned": sorted(spawned)}, handle)
    return dump


_cart_lib_dump = _cart_lib_track(OUT)
del _cart_lib_track
"""
DUMP = "_cart_lib_dump()"


@dataclass
class Reads:
    """What one notebook's kernel read while its cells ran (absolute, real paths)."""

    reads: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    spawned: list[str] = field(default_factory=list)


@dataclass
class Executed:
    """One notebook's execution: the executed notebook, or the error that stopped it."""

    path: Path
    nb: nbformat.NotebookNode | None
    seconds: float
    reads: Reads | None = None
    error: BaseException | None = None


#: The text format of a chapter (jupytext's MyST Markdown).
TEXT_FORMAT = "md:myst"


def text_path(notebook: str | Path) -> Path:
    """Where a chapter's text lives: ``chapters/text/<chapter>.md``."""
    return paths.CHAPTER_TEXT / f"{Path(notebook).stem}.md"


def as_text(nb: nbformat.NotebookNode) -> str:
    """A notebook's prose and code, without outputs, as MyST Markdown."""
    return jupytext.writes(nb, fmt=TEXT_FORMAT)


def write_text(notebook: str | Path, nb: nbformat.NotebookNode | None = None) -> Path:
    """Write a chapter's text from its notebook (read from disk if not given)."""
    nb = nbformat.read(notebook, as_version=4) if nb is None else nb
    path = text_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(as_text(nb), encoding="utf-8")
    return path


def take_text(notebook: str | Path) -> bool:
    """Take an edit of a chapter's text into its notebook, keeping the outputs; True if any.

    The cells come from the text, their outputs from the notebook
    (:func:`jupytext.combine.combine_inputs_with_outputs`); ``make notebooks``
    then executes the notebook, so a cell whose code changed gets new ones.
    """
    path, text = Path(notebook), text_path(notebook)
    if not text.exists():
        return False
    nb = nbformat.read(path, as_version=4)
    edited = text.read_text(encoding="utf-8")
    if edited == as_text(nb):
        return False
    combined = combine_inputs_with_outputs(jupytext.reads(edited, fmt=TEXT_FORMAT), nb,
                                           fmt=TEXT_FORMAT)
    nbformat.write(combined, path)
    return True


def default_jobs() -> int:
    """Kernels run at once by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                           # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


async def _silent(client: nbclient.NotebookClient, code: str) -> None:
    msg_id = client.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    reply = await client.async_wait_for_reply(msg_id)
    if reply is None or reply["content"]["status"] != "ok":
        content = {} if reply is None else reply["content"]
        raise RuntimeError(f"the dependency tracker failed in the kernel: "
                           f"{content.get('ename')}: {content.get('evalue')}")


async def _execute(path: Path, timeout: int, track: bool, allow_errors: bool) -> Executed:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     record_timing=False, allow_errors=allow_errors,
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cart-reads-") as tmp:
        out = Path(tmp) / "reads.json"
        try:
            # As nbclient's own async_execute, with the tracker around the cells.
            client.reset_execution_trackers()
            async with client.async_setup_kernel():
                info = await client.async_wait_for_reply(await ensure_async(
                    client.kc.kernel_info()))
                if info is not None and "language_info" in info["content"]:
                    nb.metadata["language_info"] = info["content"]["language_info"]
                if track:
                    await _silent(client, TRACKER.replace("OUT", repr(str(out))))
                for index, cell in enumerate(nb.cells):
                    await client.async_execute_cell(
                        cell, index, execution_count=client.code_cells_executed + 1)
                if track:
                    await _silent(client, DUMP)
                client.set_widgets_metadata()
        except BaseException as error:               # noqa: BLE001 (reported to the caller)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            return Executed(path, None, time.perf_counter() - start, error=error)
        reads = Reads(**json.loads(out.read_text())) if track else None
    return Executed(path, nb, time.perf_counter() - start, reads)


def execute_many(targets: list[Path], jobs: int | None = None, timeout: int = 600,
                 track: bool = False, allow_errors: bool = False) -> list[Executed]:
    """Execute notebooks, up to ``jobs`` at once, each in its own folder; results in order.

    A notebook whose execution fails gives an :class:`Executed` holding the
    error; the others still run.
    """
    jobs = default_jobs() if not jobs or jobs < 1 else jobs

    async def run_all() -> list[Executed]:
        gate = asyncio.Semaphore(jobs)

        async def one(path: Path) -> Executed:
            async with gate:
                return await _execute(Path(path), timeout, track, allow_errors)

        return list(await asyncio.gather(*(one(t) for t in targets)))

    return asyncio.run(run_all()) if targets else []


def execute(path: str | Path, timeout: int = 600) -> None:
    """Execute one notebook in its own folder and write it back with its outputs."""
    done = execute_many([Path(path)], jobs=1, timeout=timeout)[0]
    if done.error is not None:
        raise done.error
    nbformat.write(done.nb, done.path)


def main(argv: list[str] | None = None) -> int:
    """Execute the notebooks named on the command line, or every chapter, in place."""
    parser = argparse.ArgumentParser(prog="python -m cart_lib.book.notebooks",
                                     description="Execute notebooks in place, several at once.")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    parser.add_argument("--jobs", type=int, default=0,
                        help="kernels at once (default: one per core)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from .bookbuild import execution_record, read_stored, settings, snapshot, write_stored

    root = Path(os.path.realpath(paths.ROOT))
    targets = [Path(os.path.realpath(t)) for t in
               (args.notebooks or sorted(paths.CHAPTERS.glob("*.ipynb")))]
    for target in targets:
        if take_text(target):
            print(f"took the edits of {text_path(target)} into {target}", flush=True)
    jobs = args.jobs or default_jobs()
    print(f"executing {len(targets)} notebooks, {min(jobs, len(targets))} at once", flush=True)
    book = settings(root)
    before = snapshot(root, book["inputs"], book["environment"])
    stored = root / book["stored"] if book["stored"] else None
    records = read_stored(stored)
    failed = 0
    for done in execute_many(targets, jobs=jobs, track=True):
        name = done.path.relative_to(root).as_posix()
        records.pop(name, None)
        if done.error is not None:
            failed += 1
            print(f"FAILED {done.path} ({done.seconds:.1f} s):\n{done.error}", file=sys.stderr)
            continue
        nbformat.write(done.nb, done.path)
        write_text(done.path, done.nb)
        records[name] = execution_record(done.nb, done.reads, root, book["inputs"],
                                         book["environment"], before)
        print(f"executed {done.path} ({done.seconds:.1f} s)", flush=True)
    if stored is not None:
        write_stored(stored, records)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
