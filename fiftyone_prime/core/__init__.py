"""The core of fiftyone-prime: the failure-mode search, its significance,
and its records, on numpy, scipy and numba's compiled kernels.

Nothing here imports fiftyone or torch.
"""

from .groups import CodedGroups
from .regression import RegressionMode, find_regressions
from .search import TOLERANCE, SearchOutcome, find_failure_modes, run_search
from .significance import PROCEDURE, Significance
from .types import DEFAULT_PARAMS, FailureMode, SearchParams

__all__ = [
    "DEFAULT_PARAMS",
    "PROCEDURE",
    "TOLERANCE",
    "CodedGroups",
    "FailureMode",
    "RegressionMode",
    "SearchOutcome",
    "SearchParams",
    "Significance",
    "find_failure_modes",
    "find_regressions",
    "run_search",
]
