"""The core of fiftyone-prime: the failure-mode search, its significance,
and its records, on numpy, scipy and numba's compiled kernels.

Nothing here imports fiftyone or torch.
"""

from .groups import CodedGroups
from .regression import RegressionMode, find_regressions
from .scores import ScoreAlias, ScoreMode, ScoreOutcome, find_score_modes, run_score_search
from .search import TOLERANCE, SearchOutcome, find_failure_modes, run_search
from .significance import PROCEDURE, Significance
from .types import DEFAULT_PARAMS, FailureMode, ScoreParams, SearchParams

__all__ = [
    "DEFAULT_PARAMS",
    "PROCEDURE",
    "TOLERANCE",
    "CodedGroups",
    "FailureMode",
    "RegressionMode",
    "ScoreAlias",
    "ScoreMode",
    "ScoreOutcome",
    "ScoreParams",
    "SearchOutcome",
    "SearchParams",
    "Significance",
    "find_failure_modes",
    "find_regressions",
    "find_score_modes",
    "run_score_search",
    "run_search",
]
