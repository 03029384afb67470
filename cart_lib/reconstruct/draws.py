"""Random draws the moves share: one uniform integer, one item, a nearby grid index.

Each is one float draw of the generator, so that a move's draws, and so a
seeded search, stay the same whichever module makes them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REACHES", "below", "nearby", "pick"]

#: How far a "nearby value" move reaches, in grid steps.
REACHES = (1, 2, 5, 15, 50)


def below(rng: np.random.Generator, n: int) -> int:
    """A uniform random integer in ``[0, n)``.

    One float draw: a third of the cost of ``rng.integers(n)`` for a single
    value, and the search draws several on every move.

    >>> rng = np.random.default_rng(0)
    >>> sorted({below(rng, 3) for _ in range(100)})
    [0, 1, 2]
    """
    return int(rng.random() * n)


def pick(rng: np.random.Generator, items):
    """One of ``items`` (a sequence or an array), uniformly at random."""
    return items[below(rng, len(items))]


def nearby(rng: np.random.Generator, index: int, n: int) -> int:
    """A grid index up to :data:`REACHES` steps from ``index``, kept inside ``[0, n)``."""
    reach = pick(rng, REACHES)
    return min(max(index + below(rng, 2 * reach + 1) - reach, 0), n - 1)
