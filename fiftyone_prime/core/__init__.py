"""The numpy-only core of fiftyone-prime: the failure-mode search and its records.

Nothing here imports fiftyone or torch.
"""

from .search import TOLERANCE, find_failure_modes
from .types import FailureMode, SearchParams

__all__ = ["FailureMode", "SearchParams", "TOLERANCE", "find_failure_modes"]
