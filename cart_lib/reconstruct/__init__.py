"""From a ledger to cohorts: the search, its moves and objectives, sampling, plausibility.

The pipeline (``_pipeline``: reconstruct, write, read and load the committed
cohort, search the open readings) is re-exported here. The modules:

- :mod:`cart_lib.reconstruct.search`: the space of cohorts and simulated annealing over it;
- :mod:`cart_lib.reconstruct.objectives`: what the search keeps, claim by claim and rule by rule;
- :mod:`cart_lib.reconstruct.moves`: the moves the search and the sampler draw;
- :mod:`cart_lib.reconstruct.sample`: many consistent cohorts, by a Markov chain;
- :mod:`cart_lib.reconstruct.plausibility`: every timeline rule and fact, with who breaks it.
"""

# The modules named above are imported on demand.
from ._pipeline import (NOTICE, OPEN_VERDICTS, PINNED, READING_MOVES, READINGS_NOTICE,
                        Reconstruction, canonical, conflicting_claims, load_frame, load_readings,
                        load_table, open_readings, read, readings_path, reconstruct,
                        search_readings, with_reading, write, write_readings)

__all__ = ["NOTICE", "OPEN_VERDICTS", "PINNED", "READING_MOVES", "READINGS_NOTICE",
           "Reconstruction", "canonical", "conflicting_claims", "load_frame", "load_readings",
           "load_table", "moves", "objectives", "open_readings", "plausibility", "read",
           "readings_path", "reconstruct", "sample", "search", "search_readings",
           "with_reading", "write", "write_readings"]
