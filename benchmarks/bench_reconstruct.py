"""Benchmark: reconstructing a study, and evaluating all its claims on a cohort.

Usage: ``.venv/bin/python benchmarks/bench_reconstruct.py [--seeds N] [--budget S]``

Each reconstruction runs in a fresh process (``python -m cart_lib reconstruct``,
writing to a temporary folder), so its time includes the start-up and the
first computation of every cached p-value, as a user would see it. Claim
evaluation is timed in-process on the committed cohort, with the book's
evaluators (lifelines, scipy) and with the search's fast ones. Prints a
Markdown table of medians for the README.

The project's machine is a virtual one whose speed drifts by up to twice
from hour to hour with nothing else running on it; a fixed pure-Python loop
is timed before and after (``reference``) so that figures taken at different
times can be compared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

from cart_lib import ledger
from cart_lib.core import paths
from cart_lib.evaluate import Evaluator
from cart_lib.reconstruct import load_table


def reference_seconds() -> float:
    """The best of three timings of a fixed pure-Python loop: how fast the machine is right now."""
    def loop() -> int:
        total = 0
        for i in range(3_000_000):
            total += i
        return total
    return min(timeit.repeat(loop, number=1, repeat=3))


def reconstruct_times(study: str, seeds: int, budget: float) -> list[float | None]:
    times: list[float | None] = []
    with tempfile.TemporaryDirectory() as out:
        for seed in range(seeds):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "cart_lib", "reconstruct", "--study", study,
                                   "--seed", str(seed), "--out", out, "--quiet",
                                   "--time-budget", str(budget)], capture_output=True)
            elapsed = time.perf_counter() - start
            times.append(elapsed if done.returncode == 0 else None)
            print(f"  {study} seed {seed}: "
                  f"{f'{elapsed:.1f} s' if done.returncode == 0 else 'not found within budget'}",
                  file=sys.stderr, flush=True)
    return times


def evaluation_ms(study: str, fast: bool) -> float:
    led, table = ledger.load(study), load_table(study)
    evaluator = Evaluator(led, fast=fast)
    evaluator.evaluate(table)                                  # warm the caches once
    runs = timeit.repeat(lambda: evaluator.evaluate(table), number=5, repeat=5)
    return 1000 * statistics.median(runs) / 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--study", help="one study (default: all)")
    args = parser.parse_args()
    before = reference_seconds()
    print("| study | claims | reconstruct: median (found / seeds) | evaluate all claims: book / search |")
    print("|---|---|---|---|")
    for study in [args.study] if args.study else paths.studies():
        times = reconstruct_times(study, args.seeds, args.budget)
        found = [t for t in times if t is not None]
        median = f"{statistics.median(found):.1f} s" if found else "n/a"
        print(f"| {study} | {len(ledger.load(study).claims)} | {median} ({len(found)}/{len(times)}) "
              f"| {evaluation_ms(study, False):.0f} ms / {evaluation_ms(study, True):.1f} ms |",
              flush=True)
    print(f"\nreference loop: {before:.2f} s before, {reference_seconds():.2f} s after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
