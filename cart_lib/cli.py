"""Command line: ``python -m cart_lib <command>``.

Commands
--------
claims
    List the claims ledger as a table, or as JSON objects, with the value read
    for each role of each figure, the figure reproduced from the committed
    cohort and its status; then, on stderr, every figure the ledger alone shows
    cannot hold (exit status 1 if any).
reconstruct
    Search for a cohort satisfying every claim of a study; write it with its
    provenance under ``data/cohorts/``.
invert
    For each p-value and interval, list every table, rank or count
    configuration that prints as published, under each reading, at the group
    sizes of the committed cohort or, before one exists, those the printed
    figures fix; a reading that cannot be inverted (a log-rank test, a test
    across more than two groups, a Kaplan-Meier interval) is listed with the
    reason. Figures the ledger alone shows cannot hold are listed on stderr.
rscript
    Write a study's claims as a self-contained R script (base R and
    survival) that recomputes each from the cohort CSV and reports MATCH,
    DIFF or SKIP; by default to ``data/rscripts/<study>.R``.
sample
    Draw many distinct cohorts that satisfy every claim (a Markov chain from
    the committed cohort); write them under ``data/samples/``.
readings
    For each alternative reading no check decides, search a cohort that
    matches it with every other figure, rule and fact; write what was found
    under ``data/derived/``.
derive
    Compute what the chapters would otherwise compute each time they run
    (what each p-value pins down, the verdict on every reading, summaries
    over the sample) and write it, with its provenance, under
    ``data/derived/``.
plausibility
    List every timeline rule and stated fact with the patients of the
    committed cohort (or of every sampled cohort) that break it; exit status
    1 if any does.

Bad input ends in one message on stderr naming the file, the claim or row,
and the rule broken, with exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .core import paths
from .analysis.report import claim_rows, read_text
from .core.errors import CartError


def _print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r[c] if r[c] is not None else "")) for r in rows))
              for c in columns}
    widths["printed"] = min(widths.get("printed", 0), 48)
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        cells = []
        for c in columns:
            text = "" if r[c] is None else str(r[c])
            if len(text) > widths[c]:
                text = text[: widths[c] - 1] + "…"
            cells.append(text.ljust(widths[c]))
        print("  ".join(cells).rstrip())


def _cmd_claims(args: argparse.Namespace) -> int:
    if args.study:
        _known(args.study)
    rows = claim_rows(args.study)
    if args.json:
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table([r | {"read": read_text(r["read"])} for r in rows],
                     ["study", "id", "printed", "read", "statistic", "reproduced", "status"])
    # What the ledger alone shows cannot hold, once per problem (a check may name several claims).
    problems = dict.fromkeys(f"{r['study']} {p}" for r in rows for p in r["problems"])
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from .reconstruct import conflicting_claims, reconstruct, write
    from .reconstruct.search import CONFLICT_TIME_BUDGET, TIME_BUDGET, SearchError

    studies = [args.study] if args.study else paths.studies()
    for study in studies:
        _known(study)
        budget = TIME_BUDGET if args.time_budget is None else args.time_budget
        try:
            rec = reconstruct(study, seed=args.seed, time_budget=budget,
                              progress=not args.quiet and sys.stderr.isatty())
        except SearchError as exc:
            if exc.proven:
                raise CartError(f"{exc}. Nothing was written.") from None
            from . import ledger as ledger_mod
            core, complete = conflicting_claims(
                ledger_mod.load(study), exc.claims, seed=args.seed,
                time_budget=min(CONFLICT_TIME_BUDGET, budget)) if exc.claims else ([], True)
            # Short searches failing to meet a set prove nothing: say what was seen.
            found = ("Smallest set of claims that shorter searches did not meet together "
                     "(not proven impossible)") if complete else \
                ("Claims not met together (not proven impossible; the time ran out before "
                 "narrowing them down)")
            raise CartError(f"{exc}. {found}: {', '.join(core) or 'none isolated'}. "
                            f"Nothing was written.") from None
        out = paths.COHORTS if args.out is None else args.out
        csv_path, prov_path = write(rec, out)
        if not args.quiet:
            print(f"{study}: {len(rec.frame)} patients, every claim matched "
                  f"(seed {args.seed}, {rec.result.iterations:,} moves, "
                  f"{rec.result.attempts} attempt(s)); wrote {_show(csv_path)} and {_show(prov_path)}")
    return 0


def _cmd_invert(args: argparse.Namespace) -> int:
    from . import ledger as ledger_mod
    from .evaluate.audit import failed_checks, invert_from_ledger
    from .stats.inversion import (check_infeasible_as_printed, invert_reading,
                                  prints_p_or_interval, why_not_invertible)
    from .reconstruct import load_table

    studies = [args.study] if args.study else paths.studies()
    problems = []
    for study in studies:
        _known(study)
        led = ledger_mod.load(study)
        # With a cohort, its group sizes; before one exists, the sizes the printed figures fix.
        table = load_table(study) if paths.cohort_path(study).exists() else None
        if table is None:
            print(f"{study}: no cohort yet; group sizes from the printed figures alone")
            found = invert_from_ledger(led)
        else:
            found = [(c, r, None if why_not_invertible(r) else
                      invert_reading(c, r, led, table), why_not_invertible(r))
                     for c in led.claims if prints_p_or_interval(c) for r in c.readings]
        inversions, shown = [], None
        for claim, reading, inv, why in found:
            if args.claim and claim.id != args.claim:
                continue
            if shown != claim.id:
                print(f"{study} {claim.id}: printed {claim.printed!r}")
                shown = claim.id
            if inv is None:
                print(f"  {reading.id}: not inverted: {why}")
                continue
            inversions.append(inv)
            marks = ", ".join(m for m, on in (("adopted", inv.adopted),
                                               ("literal", inv.literal)) if on)
            listed = inv.feasible[:6]
            more = f" … ({len(inv.feasible)} in all)" if len(inv.feasible) > 6 else ""
            print(f"  {reading.id} [{marks or 'alternative'}] {inv.method}, {inv.sizes}: "
                  f"{len(inv.feasible)} feasible {listed}{more}")
            if inv.any_split is not None:
                print(f"    over every split of the patients: {len(inv.any_split)} feasible "
                      f"{inv.any_split[:6]}")
        if args.claim is None and table is not None:
            problems += [f"{study}: {p}" for p in check_infeasible_as_printed(led, inversions)]
        # Every figure the ledger alone shows cannot hold, at the sizes the figures fix.
        problems += [f"{study} {c.named}" for c in failed_checks(led, figures=True)
                     if args.claim is None or args.claim in c.claims]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from .reconstruct.sample import draw, write

    _known(args.study)
    if args.scheduler and args.backend != "dask":
        raise CartError("--scheduler is for --backend dask")
    frame, info = draw(args.study, args.n, seed=args.seed, jobs=args.jobs,
                       progress=not args.quiet and sys.stderr.isatty(),
                       backend=args.backend, scheduler=args.scheduler)
    path, prov = write(args.study, frame, info, args.seed, args.out)
    if not args.quiet:
        print(f"{args.study}: {args.n} distinct cohorts, every claim matched (seed {args.seed}, "
              f"{info['moves']:,} moves); wrote {_show(path)} and {_show(prov)}")
    return 0


def _cmd_readings(args: argparse.Namespace) -> int:
    from .reconstruct import search_readings, write_readings

    studies = [args.study] if args.study else paths.studies()
    for study in studies:
        _known(study)
        record = search_readings(study, seed=args.seed, max_moves=args.max_moves)
        path = write_readings(record, args.out)
        if not args.quiet:
            found = sum(r["found"] for r in record["readings"])
            print(f"{study}: {len(record['readings'])} open reading(s) searched, a cohort found "
                  f"for {found}; wrote {_show(path)}")
    return 0


def _cmd_derive(args: argparse.Namespace) -> int:
    from .analysis import derive

    studies = [args.study] if args.study else paths.studies()
    for study in studies:
        _known(study)
        written = derive.write(study, args.out)
        if not args.quiet:
            print(f"{study}: wrote {', '.join(_show(p) for p in written)}")
    return 0


def _cmd_plausibility(args: argparse.Namespace) -> int:
    from . import ledger as ledger_mod
    from .reconstruct.plausibility import report
    from .reconstruct import load_table

    studies = [args.study] if args.study else paths.studies()
    broken = 0
    for study in studies:
        _known(study)
        led = ledger_mod.load(study)
        if args.sample:
            from .reconstruct.sample import load_tables
            tables, what = load_tables(study), "sampled cohorts"
        else:
            tables, what = [load_table(study, rules=False)], "committed cohort"
        rows = report(led, tables)
        print(f"{study}: {len(rows)} rules and facts checked on the {what} "
              f"({len(tables)} cohort{'s' if len(tables) != 1 else ''})")
        shown = rows.assign(kind=rows["kind"], rule=rows["rule"].str.slice(0, 60))
        _print_table(shown.to_dict("records"), ["kind", "rule", "breaking", "patients"])
        broken += int((rows["breaking"] > 0).sum())
    if broken:
        print(f"{broken} rule(s) broken", file=sys.stderr)
    return 1 if broken else 0


def _cmd_rscript(args: argparse.Namespace) -> int:
    from . import ledger as ledger_mod
    from .analysis.rscript import write

    _known(args.study)
    path = write(ledger_mod.load(args.study), args.output)
    if not args.quiet:
        print(f"{args.study}: wrote {_show(path)} (run it with: Rscript {_show(path)} [COHORT.csv])")
    return 0


def _known(study: str) -> None:
    if study not in paths.studies():
        raise CartError(f"no ledger for study {study!r}: known studies are "
                        f"{', '.join(paths.studies())} (files in data/claims/)")


def _show(path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(paths.ROOT)) if path.is_relative_to(paths.ROOT) else str(path)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m cart_lib``."""
    parser = argparse.ArgumentParser(prog="python -m cart_lib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    claims = sub.add_parser("claims", help="list the claims ledger")
    claims.add_argument("--study", help="one study slug (default: all)")
    claims.add_argument("--json", action="store_true", help="JSON objects instead of a table")
    claims.set_defaults(func=_cmd_claims)
    recon = sub.add_parser("reconstruct", help="search for a cohort satisfying every claim")
    recon.add_argument("--study", help="one study slug (default: all)")
    recon.add_argument("--seed", type=int, default=0, help="seed of the search (default 0)")
    recon.add_argument("--time-budget", type=float, default=None,
                       help="seconds before giving up (default cart_lib.reconstruct.search.TIME_BUDGET)")
    recon.add_argument("--out", type=Path, help="folder to write to (default data/cohorts)")
    recon.add_argument("--quiet", action="store_true", help="no progress or summary")
    recon.set_defaults(func=_cmd_reconstruct)
    invert = sub.add_parser("invert", help="tables and ranks that print as each p-value and CI")
    invert.add_argument("--study", help="one study slug (default: all)")
    invert.add_argument("--claim", help="one claim id")
    invert.set_defaults(func=_cmd_invert)
    rscript = sub.add_parser("rscript", help="write a study's claims as an R script")
    rscript.add_argument("--study", required=True, help="study slug")
    rscript.add_argument("--output", type=Path,
                         help="file to write (default data/rscripts/<study>.R)")
    rscript.add_argument("--quiet", action="store_true", help="no summary")
    rscript.set_defaults(func=_cmd_rscript)
    sample = sub.add_parser("sample", help="draw many distinct cohorts satisfying every claim")
    sample.add_argument("--study", required=True, help="study slug")
    sample.add_argument("--n", type=int, default=1000, help="cohorts to draw (default 1000)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the chains (default 0)")
    sample.add_argument("--jobs", type=int, default=1,
                        help="worker processes (default 1; -1 for every core)")
    sample.add_argument("--backend", choices=["loky", "dask"], default="loky",
                        help="where the chains run: local processes (loky, default) or a "
                             "dask.distributed cluster (dask, with --scheduler)")
    sample.add_argument("--scheduler", metavar="ADDRESS",
                        help="the Dask scheduler's address, e.g. tcp://10.0.0.5:8786")
    sample.add_argument("--out", type=Path, help="folder to write to (default data/samples)")
    sample.add_argument("--quiet", action="store_true", help="no progress or summary")
    sample.set_defaults(func=_cmd_sample)
    readings = sub.add_parser("readings",
                              help="search under each alternative reading no check decides")
    readings.add_argument("--study", help="one study slug (default: all)")
    readings.add_argument("--seed", type=int, default=0, help="seed of the searches (default 0)")
    readings.add_argument("--max-moves", type=int, default=None,
                          help="moves each search may take (default: READING_MOVES)")
    readings.add_argument("--out", type=Path, help="folder to write to (default data/derived)")
    readings.add_argument("--quiet", action="store_true", help="no summary")
    readings.set_defaults(func=_cmd_readings)
    derive = sub.add_parser("derive", help="compute once what the chapters read: pinning, "
                                           "reading verdicts, summaries over the sample")
    derive.add_argument("--study", help="one study slug (default: all)")
    derive.add_argument("--out", type=Path, help="folder to write to (default data/derived)")
    derive.add_argument("--quiet", action="store_true", help="no summary")
    derive.set_defaults(func=_cmd_derive)
    plaus = sub.add_parser("plausibility",
                           help="every timeline rule and stated fact, with the patients breaking it")
    plaus.add_argument("--study", help="one study slug (default: all)")
    plaus.add_argument("--sample", action="store_true",
                       help="check every cohort of the committed sample instead")
    plaus.set_defaults(func=_cmd_plausibility)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
