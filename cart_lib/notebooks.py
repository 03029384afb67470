"""Execute the book's notebooks in place, so their stored outputs are nbval's reference.

Stored outputs are results: regenerate them deliberately (``make notebooks``)
and review the diff like code. Execution records no timing metadata, so that
re-executing an unchanged notebook rewrites it byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

from . import paths


def execute(path: str | Path, timeout: int = 600) -> None:
    """Execute one notebook in its own folder and write it back with its outputs."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    """Execute the notebooks named on the command line, or every chapter."""
    names = argv if argv is not None else sys.argv[1:]
    targets = [Path(n) for n in names] or sorted(paths.CHAPTERS.glob("*.ipynb"))
    for target in targets:
        print(f"executing {target}", flush=True)
        execute(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
