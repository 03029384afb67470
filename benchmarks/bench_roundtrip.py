"""Benchmark: reconstructing survival-heavy studies made from known cohorts.

Usage: ``.venv/bin/python benchmarks/bench_roundtrip.py [--truths 3 5 8] [--seeds N]
[--budget S] [--survival P]``

Each truth seed draws a cohort of two arms (``tests/roundtrip.py``) and prints
the ledger a paper would print about it: counts, Kaplan-Meier medians in
months with their ranges, one-year survival with its interval, a log-rank
p-value with its direction, the one-year cumulative incidence of relapse.
The search then starts from the ledger alone, with each search seed, within
the time budget. ``--survival`` sets the share of directed moves that shift
events in time (:class:`cart_lib.reconstruct.moves.MoveMix`; 0 switches them
off). Prints each run and a Markdown summary: how many were found, and the
median time of those found.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import roundtrip  # noqa: E402

from cart_lib import ledger  # noqa: E402
from cart_lib.core.errors import SearchError  # noqa: E402
from cart_lib.reconstruct import moves  # noqa: E402
from cart_lib.reconstruct.search import Search  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truths", type=int, nargs="+", default=[3, 5, 8])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--budget", type=float, default=90.0)
    parser.add_argument("--survival", type=float, default=moves.SEARCH.survival)
    args = parser.parse_args()
    mix = dataclasses.replace(moves.SEARCH, survival=args.survival)
    found, times = 0, []
    with tempfile.TemporaryDirectory() as folder:
        for truth in args.truths:
            path = Path(folder) / str(truth) / "roundtrip.yaml"
            path.parent.mkdir()
            path.write_text(yaml.safe_dump(roundtrip.ledger(roundtrip.truth(truth)),
                                           sort_keys=False))
            led = ledger.load_ledger(path)
            for seed in range(args.seeds):
                search = Search(led, seed=seed, time_budget=args.budget)
                search.mover.mix = mix
                start = time.perf_counter()
                try:
                    search.run()
                    elapsed = time.perf_counter() - start
                    found += 1
                    times.append(elapsed)
                    print(f"truth {truth} seed {seed}: found in {elapsed:.1f} s", flush=True)
                except SearchError:
                    print(f"truth {truth} seed {seed}: not found within {args.budget:g} s",
                          flush=True)
    runs = len(args.truths) * args.seeds
    median = f"{statistics.median(times):.1f} s" if times else "-"
    print(f"\n| survival moves | found | median time when found |\n|---|---|---|\n"
          f"| {args.survival:g} | {found} of {runs} | {median} |")


if __name__ == "__main__":
    main()
