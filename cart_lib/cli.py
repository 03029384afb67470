"""Command line: ``python -m cart_lib <command>``.

Commands
--------
claims
    List the claims ledger as a table, or as JSON objects.

Bad input ends in one message on stderr naming the file, the claim or row,
and the rule broken, with exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import paths
from .report import claim_rows
from .errors import CartError


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
    if args.study and args.study not in paths.studies():
        raise CartError(f"no ledger for study {args.study!r}: known studies are "
                        f"{', '.join(paths.studies())} (files in data/claims/)")
    rows = claim_rows(args.study)
    if args.json:
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table(rows, ["study", "id", "printed", "statistic", "reproduced", "status"])
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m cart_lib``."""
    parser = argparse.ArgumentParser(prog="python -m cart_lib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    claims = sub.add_parser("claims", help="list the claims ledger")
    claims.add_argument("--study", help="one study slug (default: all)")
    claims.add_argument("--json", action="store_true", help="JSON objects instead of a table")
    claims.set_defaults(func=_cmd_claims)
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
