"""The cohort: the evaluators' table of patients, its endpoints, and the one codec for its files.

The table and the survival endpoints are in ``_table`` (re-exported here);
:mod:`cart_lib.cohort.schema` reads, validates and writes cohorts and
samples of cohorts against the patient record.
"""

# The modules named above are imported on demand.
from ._table import (Table, declared_endpoint, empty, endpoint, follow_up, from_frame,
                     leukemia_free_survival, normalize, overall_survival, to_frame)

__all__ = ["Table", "declared_endpoint", "empty", "endpoint", "follow_up", "from_frame",
           "leukemia_free_survival", "normalize", "overall_survival", "schema", "to_frame"]
