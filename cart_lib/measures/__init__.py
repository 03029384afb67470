"""The statistics a reading can compute, one module each, in one registry.

Each statistic is a :class:`Measure` subclass in its own module, registered
under its ledger name with :func:`register`. Everything that needs to know a
statistic reads it from here: the ledger (its roles and fields), the
evaluator (its computation), the search (its cost and loss), claim
inversion and the audit.

Adding a statistic
------------------
Write ``cart_lib/measures/<name>.py`` with a registered :class:`Measure`
subclass that declares ``name``, ``roles``, ``required`` and ``optional`` and
implements ``compute``; import it below; test it against reference values
(R, a textbook) in ``tests/``. Override ``loss`` where the default, role by
role, guides the search poorly, and ``invert``/``printed_counts`` where the
figure pins down counts.

Examples
--------
>>> MEASURES["exact_ci"].roles >= {"percent", "ci_low", "ci_high"}
True
>>> Statistic.km_median.value
'km_median'
"""

from __future__ import annotations

from enum import Enum

from ._base import ALPHA, Computed, Measure, MEASURES, register
# Registration order is the order of the ledger's ``Statistic`` enumeration.
from . import count, exact_ci, median, km_median, p_value, day, bound, definition  # noqa: E402,F401
from . import km_landmark, cumulative_incidence  # noqa: E402,F401

__all__ = ["ALPHA", "Computed", "MEASURES", "Measure", "Statistic", "register"]

#: What a reading computes from the cohort: one member per registered statistic.
Statistic = Enum("Statistic", [(name, name) for name in MEASURES], type=str,
                 module=__name__)
Statistic.__doc__ = "What a reading computes from the cohort (see :data:`MEASURES`)."
