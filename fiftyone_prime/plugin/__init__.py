"""The fiftyone-prime FiftyOne plugin: operators that are thin forms over the SDK.

The plugin folder's ``__init__.py`` (the repository root) imports
:func:`register` from here.
"""

from .evaluation_metrics import FailureModeCount, FailureModeMaxDrop
from .hypothesis_operators import OPERATORS as HYPOTHESIS_OPERATORS
from .operators import (
    ComputeFailureModeMetrics,
    DeleteFailureModes,
    FindFailureModes,
    LoadFailureMode,
    TagSamples,
)
from .panel import FailureModesPanel
from .regression_operators import OPERATORS as REGRESSION_OPERATORS
from .tag_audit import EvaluateTags
from .workers import RequeueTagging, SearchAfterTagging, TaggingStatus, TagShard

OPERATORS = (
    TagSamples,
    FindFailureModes,
    ComputeFailureModeMetrics,
    LoadFailureMode,
    DeleteFailureModes,
    TaggingStatus,
    RequeueTagging,
    TagShard,
    SearchAfterTagging,
    EvaluateTags,
    FailureModesPanel,
    FailureModeCount,
    FailureModeMaxDrop,
    *REGRESSION_OPERATORS,
    *HYPOTHESIS_OPERATORS,
)


def register(p):
    """Registers the plugin's operators, and compiles the search kernels on a
    background thread (only loading them once numba has cached them)."""
    for operator in OPERATORS:
        p.register(operator)
    from fiftyone_prime.core.warmup import compile_in_background

    compile_in_background()
