"""Benchmark: building the book, as someone editing a chapter or the library sees it.

Usage: ``.venv/bin/python benchmarks/bench_book.py [--repeat N]``

Works in a temporary copy of the project (``cart_lib.bookbuild.working_copy``),
never in the working tree, and times, N times each, in that order:

clean build
    ``make book`` with no ``_build/`` (every notebook executed);
no-op rebuild
    ``make book`` again, nothing changed;
Sphinx with nothing to do
    ``jupyter-book build`` itself on the same unchanged book, which is what
    ``make book`` would cost without its own up-to-date check;
one-line library edit
    a comment appended to ``cart_lib/__init__.py``, then ``make book``
    (every notebook executed again, as the change requires);
nbval
    ``pytest chapters`` (nbval on every chapter against its stored outputs).

Prints a Markdown table of medians (with the range) for the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cart_lib.bookbuild import working_copy


def timed(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 1 else f"{1000 * value:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # -o: the copy shares the project's environment and must never rebuild it.
    make_book = ["make", "-o", ".venv/.installed", "book"]
    times: dict[str, list[float]] = {name: [] for name in (
        "clean build", "no-op rebuild (`make book`)", "Sphinx with nothing to do",
        "rebuild after a one-line library edit", "nbval on the chapters")}
    with tempfile.TemporaryDirectory() as tmp:
        copy = working_copy(Path(tmp) / "project")
        env = {**os.environ, "PYTHONPATH": str(copy)}
        jupyter_book = [str(copy / ".venv/bin/jupyter-book"), "build", ".", "-W", "-n",
                        "--keep-going"]
        for run in range(args.repeat):
            subprocess.run(["rm", "-rf", "_build"], cwd=copy, check=True)
            row = iter(times.values())
            next(row).append(timed(make_book, copy, env))
            next(row).append(timed(make_book, copy, env))
            next(row).append(timed(jupyter_book, copy, env))
            with open(copy / "cart_lib/__init__.py", "a") as init:
                init.write(f"# benchmark edit {run}\n")
            next(row).append(timed(make_book, copy, env))
            next(row).append(timed([sys.executable, "-m", "pytest", "-q", "chapters"], copy, env))
            print(f"run {run + 1}/{args.repeat}: "
                  + ", ".join(seconds(t[-1]) for t in times.values()), file=sys.stderr)
    print(f"| step | median of {args.repeat} | range |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {seconds(statistics.median(values))} "
              f"| {seconds(min(values))} to {seconds(max(values))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
