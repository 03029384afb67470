"""Benchmark: building the book, as someone editing a chapter, a ledger or the library sees it.

Usage: ``.venv/bin/python benchmarks/bench_book.py [--repeat N] [--project PATH]``

Works in temporary copies of the project (``cart_lib.book.bookbuild.working_copy``,
a fresh one for each round), never in the working tree, and times, N times
each, in that order:

template book, clean build
    ``jupyter-book build`` of the book ``jupyter-book create`` makes (Jupyter
    Book's own template: a Markdown page, a MyST Markdown page and a small
    notebook), in the same environment: the yardstick the other rows are
    divided by, since the machine's speed drifts;
clean build, every chapter executed
    ``make book`` with no ``_build/`` and no stored-outputs file
    (``chapters/stored-outputs.json``), so that every notebook executes;
clean build
    ``make book`` with no ``_build/``, as on a clean clone: a chapter whose
    stored outputs are current (nothing it read changed since ``make
    notebooks`` stored them) is taken as stored, the others execute;
no-op rebuild
    ``make book`` again, nothing changed;
Sphinx with nothing to do
    ``jupyter-book build`` itself on the same unchanged book, which is what
    ``make book`` would cost without its own up-to-date check;
one-line ledger edit
    a comment line appended to ``data/claims/hu2019.yaml``, with the
    ledger's new SHA-256 written where ``data/`` records it (the provenance
    of the cohort and the sample, the readings, the derived results, and
    the readings' new SHA-256 where those record it), which is what ``make data``
    writes for an edit that changes no claim (without it the chapters refuse
    a sample drawn from another version of the ledger); then ``make book``
    (every chapter that read one of those files executed again);
plotting-function edit
    a line added to ``cart_lib/book/plots.py``, then ``make book`` (every chapter
    that imports the plots executed again);
nbval
    ``make nbval`` (nbval on every chapter against its stored outputs, one
    worker per core), or ``pytest chapters`` in a project without that target.

``--project PATH`` measures another checkout of the project (an older commit,
say) in this environment. Prints a Markdown table of medians (with the range)
and of each median's ratio to the template book's clean build.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cart_lib.core import paths
from cart_lib.book.bookbuild import working_copy

ROWS = ("template book, clean build", "clean build, every chapter executed",
        "clean build", "no-op rebuild (`make book`)",
        "Sphinx with nothing to do", "rebuild after a one-line ledger edit",
        "rebuild after a plotting-function edit", "nbval on the chapters")


def timed(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 1 else f"{1000 * value:.0f} ms"


def append(path: Path, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line)
    # Two edits within one clock tick would look unchanged to make.
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))


def ledger_edit(copy: Path, run: int) -> None:
    """A comment line in hu2019's ledger, and its new SHA-256 where the data records it.

    A record rewritten so is itself recorded by others (the readings, in the
    provenance of the derived verdicts): its new digest is written there in
    turn, as ``make data`` would.
    """
    def sha256(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    ledger = copy / "data/claims/hu2019.yaml"
    todo = [(ledger, sha256(ledger))]
    append(ledger, f"# benchmark edit {run}\n")
    while todo:
        path, old = todo.pop()
        new = sha256(path)
        for record in sorted((copy / "data").rglob("*.json")):
            text = record.read_text()
            if old in text:
                todo.append((record, sha256(record)))
                record.write_text(text.replace(old, new))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--project", type=Path, default=paths.ROOT,
                        help="checkout to measure (default: this one)")
    args = parser.parse_args()
    venv = (paths.ROOT / ".venv").resolve()
    # -o: the copy shares the environment and must never rebuild it.
    make = ["make", "-o", ".venv/.installed"]
    times: dict[str, list[float]] = {name: [] for name in ROWS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        jupyter_book = str(venv / "bin/jupyter-book")
        subprocess.run([jupyter_book, "create", str(tmp / "template")], check=True,
                       capture_output=True)
        for run in range(args.repeat):
            # A fresh copy each round: the edits below leave stored outputs stale.
            copy = tmp / f"project-{run}"
            if args.project.resolve() == paths.ROOT:
                working_copy(copy)
            else:                                    # another checkout, with this environment
                subprocess.run(["cp", "-a", str(args.project), str(copy)], check=True)
                for name in (".venv", "_build", ".git"):
                    subprocess.run(["rm", "-rf", str(copy / name)], check=True)
                (copy / ".venv").symlink_to(venv)
            env = {**os.environ, "PYTHONPATH": str(copy)}
            has_nbval = "\nnbval:" in (copy / "Makefile").read_text()
            nbval = [*make, "nbval"] if has_nbval else [sys.executable, "-m", "pytest", "-q",
                                                        "chapters"]
            subprocess.run(["rm", "-rf", "_build"], cwd=tmp / "template", check=True)
            row = iter(times.values())
            next(row).append(timed([jupyter_book, "build", "."], tmp / "template", env))
            stored = copy / "chapters/stored-outputs.json"
            kept = stored.read_bytes() if stored.exists() else None
            stored.unlink(missing_ok=True)
            next(row).append(timed([*make, "book"], copy, env))
            if kept is not None:
                stored.write_bytes(kept)
            subprocess.run(["rm", "-rf", "_build"], cwd=copy, check=True)
            next(row).append(timed([*make, "book"], copy, env))
            next(row).append(timed([*make, "book"], copy, env))
            next(row).append(timed([jupyter_book, "build", ".", "-W", "-n", "--keep-going"],
                                   copy, env))
            ledger_edit(copy, run)
            next(row).append(timed([*make, "book"], copy, env))
            append(copy / "cart_lib/book/plots.py", f"# benchmark edit {run}\n")
            next(row).append(timed([*make, "book"], copy, env))
            next(row).append(timed(nbval, copy, env))
            print(f"run {run + 1}/{args.repeat}: "
                  + ", ".join(seconds(t[-1]) for t in times.values()), file=sys.stderr)
    template = statistics.median(times[ROWS[0]])
    print(f"| step | median of {args.repeat} | range | median / template's clean build |")
    print("|---|---|---|---|")
    for name, values in times.items():
        middle = statistics.median(values)
        print(f"| {name} | {seconds(middle)} | {seconds(min(values))} to {seconds(max(values))} "
              f"| {middle / template:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
