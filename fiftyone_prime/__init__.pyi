"""Generated from __init__.py's _NAMES by tests/test_public_names.py;
do not edit: run `python tests/test_public_names.py`."""

from fiftyone_prime.core.regression import RegressionMode as RegressionMode
from fiftyone_prime.core.types import FailureMode as FailureMode
from fiftyone_prime.core.types import SearchParams as SearchParams
from fiftyone_prime.integration.comparisons.checks import CheckResults as CheckResults
from fiftyone_prime.integration.comparisons.checks import ModeCheck as ModeCheck
from fiftyone_prime.integration.comparisons.checks import check_failure_modes as check_failure_modes
from fiftyone_prime.integration.comparisons.regressions import (
    RegressionResults as RegressionResults,
)
from fiftyone_prime.integration.comparisons.regressions import RegressionRun as RegressionRun
from fiftyone_prime.integration.comparisons.regressions import (
    RegressionRunConfig as RegressionRunConfig,
)
from fiftyone_prime.integration.comparisons.regressions import (
    SavedRegressionMode as SavedRegressionMode,
)
from fiftyone_prime.integration.comparisons.regressions import (
    delete_regressions as delete_regressions,
)
from fiftyone_prime.integration.comparisons.regressions import find_regressions as find_regressions
from fiftyone_prime.integration.comparisons.regressions import (
    list_regression_runs as list_regression_runs,
)
from fiftyone_prime.integration.comparisons.regressions import load_regressions as load_regressions
from fiftyone_prime.integration.failure_modes.evaluations import (
    EvalFailureModeResults as EvalFailureModeResults,
)
from fiftyone_prime.integration.failure_modes.holdout import (
    apply_failure_modes as apply_failure_modes,
)
from fiftyone_prime.integration.failure_modes.holdout import (
    validate_failure_modes as validate_failure_modes,
)
from fiftyone_prime.integration.failure_modes.hypotheses import test_hypotheses as test_hypotheses
from fiftyone_prime.integration.failure_modes.hypothesis_runs import (
    HypothesisResults as HypothesisResults,
)
from fiftyone_prime.integration.failure_modes.hypothesis_runs import (
    delete_hypotheses as delete_hypotheses,
)
from fiftyone_prime.integration.failure_modes.hypothesis_runs import (
    list_hypothesis_runs as list_hypothesis_runs,
)
from fiftyone_prime.integration.failure_modes.hypothesis_runs import (
    load_hypotheses as load_hypotheses,
)
from fiftyone_prime.integration.failure_modes.metrics import (
    compute_failure_mode_metrics as compute_failure_mode_metrics,
)
from fiftyone_prime.integration.failure_modes.more_like import find_more_like as find_more_like
from fiftyone_prime.integration.failure_modes.proposals import propose_and_test as propose_and_test
from fiftyone_prime.integration.failure_modes.scores import SavedScoreMode as SavedScoreMode
from fiftyone_prime.integration.failure_modes.scores import ScoreModeResults as ScoreModeResults
from fiftyone_prime.integration.failure_modes.search import find_failure_modes as find_failure_modes
from fiftyone_prime.integration.failure_modes.text_hypotheses import match_text as match_text
from fiftyone_prime.integration.jobs.plan import queue_tagging as queue_tagging
from fiftyone_prime.integration.jobs.recover import requeue_tagging as requeue_tagging
from fiftyone_prime.integration.jobs.status import TaggingJobStatus as TaggingJobStatus
from fiftyone_prime.integration.jobs.status import tagging_status as tagging_status
from fiftyone_prime.integration.reading.input_cache import clear_input_cache as clear_input_cache
from fiftyone_prime.integration.reports.report import export_report as export_report
from fiftyone_prime.integration.runs.classes import FailureModeResults as FailureModeResults
from fiftyone_prime.integration.runs.classes import FailureModeRun as FailureModeRun
from fiftyone_prime.integration.runs.classes import FailureModeRunConfig as FailureModeRunConfig
from fiftyone_prime.integration.runs.classes import SavedFailureMode as SavedFailureMode
from fiftyone_prime.integration.runs.leases import RunBusyError as RunBusyError
from fiftyone_prime.integration.runs.leases import clear_run_lease as clear_run_lease
from fiftyone_prime.integration.runs.repair import (
    repair_failure_mode_views as repair_failure_mode_views,
)
from fiftyone_prime.integration.runs.run_store import delete_failure_modes as delete_failure_modes
from fiftyone_prime.integration.runs.run_store import (
    list_failure_mode_runs as list_failure_mode_runs,
)
from fiftyone_prime.integration.runs.run_store import load_failure_modes as load_failure_modes
from fiftyone_prime.integration.tagging.images import TaggingSummary as TaggingSummary
from fiftyone_prime.integration.tagging.images import compute_tags as compute_tags
from fiftyone_prime.integration.tagging.object_tags import (
    ObjectTaggingSummary as ObjectTaggingSummary,
)
from fiftyone_prime.integration.tagging.object_tags import (
    compute_object_tags as compute_object_tags,
)
from fiftyone_prime.integration.tagging.tag_audit import TagAuditResults as TagAuditResults
from fiftyone_prime.integration.tagging.tag_audit import evaluate_tags as evaluate_tags
from fiftyone_prime.integration.tagging.tag_audit import list_tag_audits as list_tag_audits
from fiftyone_prime.integration.tagging.tag_audit import load_tag_audit as load_tag_audit

__version__: str
__all__ = [
    "RunBusyError",
    "apply_failure_modes",
    "check_failure_modes",
    "clear_input_cache",
    "clear_run_lease",
    "compute_failure_mode_metrics",
    "compute_object_tags",
    "compute_tags",
    "delete_failure_modes",
    "delete_hypotheses",
    "delete_regressions",
    "evaluate_tags",
    "export_report",
    "find_failure_modes",
    "find_more_like",
    "find_regressions",
    "list_failure_mode_runs",
    "list_hypothesis_runs",
    "list_regression_runs",
    "list_tag_audits",
    "load_failure_modes",
    "load_hypotheses",
    "load_regressions",
    "load_tag_audit",
    "match_text",
    "propose_and_test",
    "queue_tagging",
    "repair_failure_mode_views",
    "requeue_tagging",
    "tagging_status",
    "test_hypotheses",
    "validate_failure_modes",
]
