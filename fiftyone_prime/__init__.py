"""fiftyone-prime: interpretable failure modes of image classifiers, in FiftyOne.

The numpy-only engine lives in :mod:`fiftyone_prime.core`. The FiftyOne SDK
below is imported lazily, so ``import fiftyone_prime.core`` never imports
fiftyone or torch::

    import fiftyone_prime as fp

    results = fp.find_failure_modes(dataset, tags_field="prime_tags")
    print(results.summary())
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "find_failure_modes": "fiftyone_prime.integration.failure_modes",
    "load_failure_modes": "fiftyone_prime.integration.failure_modes",
    "list_failure_mode_runs": "fiftyone_prime.integration.failure_modes",
    "delete_failure_modes": "fiftyone_prime.integration.failure_modes",
    "apply_failure_modes": "fiftyone_prime.integration.failure_modes",
    "FailureModeResults": "fiftyone_prime.integration.runs",
    "FailureModeRun": "fiftyone_prime.integration.runs",
    "FailureModeRunConfig": "fiftyone_prime.integration.runs",
    "SavedFailureMode": "fiftyone_prime.integration.runs",
    "FailureMode": "fiftyone_prime.core.types",
    "compute_tags": "fiftyone_prime.integration.tagging",
    "compute_failure_mode_metrics": "fiftyone_prime.integration.metrics",
    "validate_failure_modes": "fiftyone_prime.integration.holdout",
    "export_report": "fiftyone_prime.integration.report",
    "TaggingSummary": "fiftyone_prime.integration.tagging",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fiftyone_prime' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
