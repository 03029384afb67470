"""The book: what a chapter needs (:class:`Study`), its figures, and how it is built.

The only layer that draws or knows chapters.

- :class:`Study` and :func:`glue_all` (``_study``): a study's ledger, cohort and computations;
- :mod:`cart_lib.book.plots`: the book's figures, one palette per group;
- :mod:`cart_lib.book.bookbuild`: the Sphinx extension named in ``_config.yml``;
- :mod:`cart_lib.book.notebooks`: ``python -m cart_lib.book.notebooks`` re-executes the chapters.

The modules are imported on demand (``from cart_lib.book import plots``).
"""

from ._study import Rate, Study, glue_all, plain

__all__ = ["Rate", "Study", "bookbuild", "glue_all", "notebooks", "plain", "plots"]
