"""The bottom layer: errors, the project's paths, expressions, printed numbers, the patient record.

Nothing here imports any other part of :mod:`cart_lib`.

- :mod:`cart_lib.core.errors`: every error the library raises;
- :mod:`cart_lib.core.paths`: the project's paths, in one place;
- :mod:`cart_lib.core.expressions`: the expressions of populations and events;
- :mod:`cart_lib.core.printed`: numbers as printed (precision, rounding conventions);
- :mod:`cart_lib.core.record`: the patient record's columns and timeline rules.
"""

# Public modules, imported on demand (``from cart_lib.core import ...``).
__all__ = ["errors", "expressions", "paths", "printed", "record"]
