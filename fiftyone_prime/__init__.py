"""fiftyone-prime: interpretable failure modes of image classifiers, in FiftyOne.

::

    import fiftyone_prime as fp

    fp.compute_tags(dataset, model="properties", tags_field="prime_tags")
    results = fp.find_failure_modes(dataset, tags_field="prime_tags")
    print(results.summary())

Where each public name is defined (the operators and the CLI import them from
there directly):

=============================  ==============================================
``find_failure_modes``         :mod:`fiftyone_prime.integration.search`
``clear_input_cache``          :mod:`fiftyone_prime.integration.input_cache`
``load_failure_modes``,        :mod:`fiftyone_prime.integration.run_store`
``list_failure_mode_runs``,
``delete_failure_modes``
``apply_failure_modes``,       :mod:`fiftyone_prime.integration.holdout`
``validate_failure_modes``
``compute_tags``,              :mod:`fiftyone_prime.integration.tagging`
``TaggingSummary``
``compute_object_tags``,       :mod:`fiftyone_prime.integration.object_tags`
``ObjectTaggingSummary``
``EvalFailureModeResults``     :mod:`fiftyone_prime.integration.evaluations`
``compute_failure_mode_metrics``  :mod:`fiftyone_prime.integration.metrics`
``queue_tagging``              :mod:`fiftyone_prime.integration.jobs.plan`
``tagging_status``,            :mod:`fiftyone_prime.integration.jobs.status`
``TaggingJobStatus``
``requeue_tagging``            :mod:`fiftyone_prime.integration.jobs.recover`
``evaluate_tags``,             :mod:`fiftyone_prime.integration.tag_audit`
``load_tag_audit``,
``list_tag_audits``,
``TagAuditResults``
``export_report``              :mod:`fiftyone_prime.integration.report`
``repair_failure_mode_views``  :mod:`fiftyone_prime.integration.repair`
``RunBusyError``,              :mod:`fiftyone_prime.integration.leases`
``clear_run_lease``
run and result classes         :mod:`fiftyone_prime.integration.runs`
``find_regressions``,          :mod:`fiftyone_prime.integration.regressions`
``load_regressions``,
``list_regression_runs``,
``delete_regressions``,
regression run classes
``check_failure_modes``,       :mod:`fiftyone_prime.integration.checks`
``CheckResults``, ``ModeCheck``
``RegressionMode``             :mod:`fiftyone_prime.core.regression`
``FailureMode``,               :mod:`fiftyone_prime.core` (no fiftyone or torch)
``SearchParams``
=============================  ==============================================

The FiftyOne SDK is imported on first use of one of its names, so that
``import fiftyone_prime.core`` (which runs this file first) never imports
fiftyone or torch. Type checkers and IDEs see the imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # the same names, imported eagerly for tools
    from fiftyone_prime.core.regression import RegressionMode
    from fiftyone_prime.core.types import FailureMode, SearchParams
    from fiftyone_prime.integration.checks import CheckResults, ModeCheck, check_failure_modes
    from fiftyone_prime.integration.evaluations import EvalFailureModeResults
    from fiftyone_prime.integration.holdout import (
        apply_failure_modes,
        validate_failure_modes,
    )
    from fiftyone_prime.integration.input_cache import clear_input_cache
    from fiftyone_prime.integration.jobs.plan import queue_tagging
    from fiftyone_prime.integration.jobs.recover import requeue_tagging
    from fiftyone_prime.integration.jobs.status import TaggingJobStatus, tagging_status
    from fiftyone_prime.integration.leases import RunBusyError, clear_run_lease
    from fiftyone_prime.integration.metrics import compute_failure_mode_metrics
    from fiftyone_prime.integration.object_tags import ObjectTaggingSummary, compute_object_tags
    from fiftyone_prime.integration.regressions import (
        RegressionResults,
        RegressionRun,
        RegressionRunConfig,
        SavedRegressionMode,
        delete_regressions,
        find_regressions,
        list_regression_runs,
        load_regressions,
    )
    from fiftyone_prime.integration.repair import repair_failure_mode_views
    from fiftyone_prime.integration.report import export_report
    from fiftyone_prime.integration.run_store import (
        delete_failure_modes,
        list_failure_mode_runs,
        load_failure_modes,
    )
    from fiftyone_prime.integration.runs import (
        FailureModeResults,
        FailureModeRun,
        FailureModeRunConfig,
        SavedFailureMode,
    )
    from fiftyone_prime.integration.search import find_failure_modes
    from fiftyone_prime.integration.tag_audit import (
        TagAuditResults,
        evaluate_tags,
        list_tag_audits,
        load_tag_audit,
    )
    from fiftyone_prime.integration.tagging import TaggingSummary, compute_tags

_DEFINED_IN = {
    "find_failure_modes": "fiftyone_prime.integration.search",
    "clear_input_cache": "fiftyone_prime.integration.input_cache",
    "load_failure_modes": "fiftyone_prime.integration.run_store",
    "list_failure_mode_runs": "fiftyone_prime.integration.run_store",
    "delete_failure_modes": "fiftyone_prime.integration.run_store",
    "apply_failure_modes": "fiftyone_prime.integration.holdout",
    "validate_failure_modes": "fiftyone_prime.integration.holdout",
    "compute_tags": "fiftyone_prime.integration.tagging",
    "TaggingSummary": "fiftyone_prime.integration.tagging",
    "compute_object_tags": "fiftyone_prime.integration.object_tags",
    "ObjectTaggingSummary": "fiftyone_prime.integration.object_tags",
    "EvalFailureModeResults": "fiftyone_prime.integration.evaluations",
    "compute_failure_mode_metrics": "fiftyone_prime.integration.metrics",
    "queue_tagging": "fiftyone_prime.integration.jobs.plan",
    "tagging_status": "fiftyone_prime.integration.jobs.status",
    "requeue_tagging": "fiftyone_prime.integration.jobs.recover",
    "TaggingJobStatus": "fiftyone_prime.integration.jobs.status",
    "export_report": "fiftyone_prime.integration.report",
    "repair_failure_mode_views": "fiftyone_prime.integration.repair",
    "RunBusyError": "fiftyone_prime.integration.leases",
    "clear_run_lease": "fiftyone_prime.integration.leases",
    "FailureModeResults": "fiftyone_prime.integration.runs",
    "FailureModeRun": "fiftyone_prime.integration.runs",
    "FailureModeRunConfig": "fiftyone_prime.integration.runs",
    "SavedFailureMode": "fiftyone_prime.integration.runs",
    "evaluate_tags": "fiftyone_prime.integration.tag_audit",
    "load_tag_audit": "fiftyone_prime.integration.tag_audit",
    "list_tag_audits": "fiftyone_prime.integration.tag_audit",
    "TagAuditResults": "fiftyone_prime.integration.tag_audit",
    "FailureMode": "fiftyone_prime.core.types",
    "SearchParams": "fiftyone_prime.core.types",
    "find_regressions": "fiftyone_prime.integration.regressions",
    "load_regressions": "fiftyone_prime.integration.regressions",
    "list_regression_runs": "fiftyone_prime.integration.regressions",
    "delete_regressions": "fiftyone_prime.integration.regressions",
    "RegressionResults": "fiftyone_prime.integration.regressions",
    "RegressionRun": "fiftyone_prime.integration.regressions",
    "RegressionRunConfig": "fiftyone_prime.integration.regressions",
    "SavedRegressionMode": "fiftyone_prime.integration.regressions",
    "check_failure_modes": "fiftyone_prime.integration.checks",
    "CheckResults": "fiftyone_prime.integration.checks",
    "ModeCheck": "fiftyone_prime.integration.checks",
    "RegressionMode": "fiftyone_prime.core.regression",
}

__all__ = sorted(_DEFINED_IN)


def __getattr__(name):
    module = _DEFINED_IN.get(name)
    if module is None:
        raise AttributeError(f"module 'fiftyone_prime' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
