"""fiftyone-prime: interpretable failure modes of image classifiers, in FiftyOne.

::

    import fiftyone_prime as fp

    fp.compute_tags(dataset, model="properties", tags_field="prime_tags")
    results = fp.find_failure_modes(dataset, tags_field="prime_tags")
    print(results.summary())

The top level holds what users call: the ``compute_*``, ``find_*``,
``load_*``, ``list_*``, ``delete_*`` and other functions, and
:class:`RunBusyError` to catch (``__all__`` lists them). The classes those
functions return (results, summaries, modes, run configs) live in the modules
that define them, for example
``fiftyone_prime.integration.runs.classes.FailureModeResults``; the names that
earlier versions exported from here (``FailureModeResults``,
``SearchParams``, ``RegressionResults``...) stay importable from here, lazily
and without a warning, but are not part of ``__all__``.

:data:`_NAMES` is the one place each name and each module path is
written. Nothing is imported until a name is first used, so
that ``import fiftyone_prime.core`` (which runs this file first) never
imports fiftyone or torch. Type checkers and IDEs read ``__init__.pyi``,
generated from that mapping (``python tests/test_public_names.py``
rewrites it; the test fails while it is stale).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Every name, by the module that defines it: ``(what users call, classes
#: they receive but never construct)``. The second kind stays importable from
#: here as in earlier versions, and is documented where it is defined.
_NAMES = {
    "fiftyone_prime.core.types": ((), ("FailureMode", "SearchParams")),
    "fiftyone_prime.core.regression": ((), ("RegressionMode",)),
    "fiftyone_prime.integration.failure_modes.search": (("find_failure_modes",), ()),
    "fiftyone_prime.integration.reading.input_cache": (("clear_input_cache",), ()),
    "fiftyone_prime.integration.runs.run_store": (
        ("load_failure_modes", "list_failure_mode_runs", "delete_failure_modes"),
        (),
    ),
    "fiftyone_prime.integration.runs.classes": (
        (),
        ("FailureModeResults", "FailureModeRun", "FailureModeRunConfig", "SavedFailureMode"),
    ),
    "fiftyone_prime.integration.failure_modes.holdout": (
        ("apply_failure_modes", "validate_failure_modes"),
        (),
    ),
    "fiftyone_prime.integration.failure_modes.evaluations": ((), ("EvalFailureModeResults",)),
    "fiftyone_prime.integration.failure_modes.scores": (
        (),
        ("ScoreModeResults", "SavedScoreMode"),
    ),
    "fiftyone_prime.integration.failure_modes.hypotheses": (("test_hypotheses",), ()),
    "fiftyone_prime.integration.failure_modes.more_like": (("find_more_like",), ()),
    "fiftyone_prime.integration.failure_modes.text_hypotheses": (("match_text",), ()),
    "fiftyone_prime.integration.failure_modes.proposals": (("propose_and_test",), ()),
    "fiftyone_prime.integration.failure_modes.hypothesis_runs": (
        ("load_hypotheses", "list_hypothesis_runs", "delete_hypotheses"),
        ("HypothesisResults",),
    ),
    "fiftyone_prime.integration.tagging.images": (("compute_tags",), ("TaggingSummary",)),
    "fiftyone_prime.integration.tagging.object_tags": (
        ("compute_object_tags",),
        ("ObjectTaggingSummary",),
    ),
    "fiftyone_prime.integration.failure_modes.metrics": (("compute_failure_mode_metrics",), ()),
    "fiftyone_prime.integration.jobs.plan": (("queue_tagging",), ()),
    "fiftyone_prime.integration.jobs.status": (("tagging_status",), ("TaggingJobStatus",)),
    "fiftyone_prime.integration.jobs.recover": (("requeue_tagging",), ()),
    "fiftyone_prime.integration.tagging.tag_audit": (
        ("evaluate_tags", "load_tag_audit", "list_tag_audits"),
        ("TagAuditResults",),
    ),
    "fiftyone_prime.integration.reports.report": (("export_report",), ()),
    "fiftyone_prime.integration.runs.repair": (("repair_failure_mode_views",), ()),
    "fiftyone_prime.integration.runs.leases": (("RunBusyError", "clear_run_lease"), ()),
    "fiftyone_prime.integration.comparisons.regressions": (
        ("find_regressions", "load_regressions", "list_regression_runs", "delete_regressions"),
        ("RegressionResults", "RegressionRun", "RegressionRunConfig", "SavedRegressionMode"),
    ),
    "fiftyone_prime.integration.comparisons.checks": (
        ("check_failure_modes",),
        ("CheckResults", "ModeCheck"),
    ),
}

_DEFINED_IN = {
    name: module for module, kinds in _NAMES.items() for names in kinds for name in names
}

__all__ = sorted(name for public, _ in _NAMES.values() for name in public)


def __getattr__(name):
    module = _DEFINED_IN.get(name)
    if module is None:
        raise AttributeError(f"module 'fiftyone_prime' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) - set(_DEFINED_IN) | set(__all__))
