"""Benchmark: drawing many consistent cohorts of a study.

Usage: ``.venv/bin/python benchmarks/bench_sample.py [--n N] [--repeats R] [--jobs J] [--study S]``

Each draw runs in a fresh process (``python -m cart_lib sample``, writing to
a temporary folder), so its time includes start-up and the workers' imports,
as a user would see it. Prints a Markdown table of medians for the README.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from cart_lib.core import paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--study", help="one study (default: all)")
    args = parser.parse_args()
    print(f"| study | {args.n} cohorts, {args.jobs} jobs: median (runs) |")
    print("|---|---|")
    for study in [args.study] if args.study else paths.studies():
        times = []
        with tempfile.TemporaryDirectory() as out:
            for seed in range(args.repeats):
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "cart_lib", "sample", "--study", study,
                                "--n", str(args.n), "--seed", str(seed), "--jobs", str(args.jobs),
                                "--out", out, "--quiet"], check=True)
                times.append(time.perf_counter() - start)
                print(f"  {study} seed {seed}: {times[-1]:.1f} s", file=sys.stderr, flush=True)
        print(f"| {study} | {statistics.median(times):.1f} s ({len(times)}) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
