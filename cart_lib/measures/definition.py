"""``definition``: a number that sets an endpoint's window ("CR at day 30")."""

from __future__ import annotations

from ._base import Computed, Measure, register


def window_days(name: str, ledger) -> float | None:
    """The window in days of a ledger variable or column (None when it has none):
    :meth:`cart_lib.ledger.Ledger.window_days`."""
    return ledger.window_days(name)


@register
class Definition(Measure):
    """The window, in printed units, of the ledger variable or record column it defines."""

    name = "definition"
    roles = frozenset({"value"})
    required = ("defines",)
    optional = frozenset({"unit", "rounding"})
    searched = False
    r_skip = ("a definition: the printed number sets an endpoint's window in the ledger; "
              "there is nothing to compute from the cohort")

    def problems(self, claim, reading, ledger):
        if window_days(reading.defines, ledger) is None:
            return [("defines", f"{reading.defines!r} is neither a ledger variable nor a "
                                f"record column with a window in days")]
        return []

    def compute(self, ctx, claim, reading, table) -> Computed:
        window = window_days(reading.defines, ctx.ledger)
        return Computed({"value": window / reading.scale}, 0,
                        f"{reading.defines}: {window:g} days")
