"""Pure functions returning frames: what the figures pin down, across studies, over the sample.

Nothing here draws (the figures are :mod:`cart_lib.book.plots`'s) or knows
a chapter.

- :mod:`cart_lib.analysis.pinning`: every configuration a printed p-value's test could have seen;
- :mod:`cart_lib.analysis.meta`: arms of several studies side by side, random-effects pooling;
- :mod:`cart_lib.analysis.questions`: quantities asked of every sampled cohort;
- :mod:`cart_lib.analysis.report`: the claims, rules and facts as frames;
- :mod:`cart_lib.analysis.rscript`: the generated R check;
- :mod:`cart_lib.analysis.derive`: the heavy ones computed once (``make data``) into
  ``data/derived/``, with their provenance, for the chapters to read.
"""

# Public modules, imported on demand (``from cart_lib.analysis import ...``).
__all__ = ["derive", "meta", "pinning", "questions", "report", "rscript"]
