"""PRIME metrics in FiftyOne's Model Evaluation panel.

Two custom evaluation metrics (FiftyOne's ``EvaluationMetric`` operator type):
per evaluation, the number of significant failure modes and the largest
accuracy drop among them (for regression and segmentation evaluations, the
largest amount by which a mode's mean error or accuracy is worse, in its
units). Ask for them when evaluating::

    dataset.evaluate_detections(
        "predictions", eval_key="eval",
        custom_metrics=["@fiftyone-prime/prime/prime_failure_modes_count",
                        "@fiftyone-prime/prime/prime_max_drop"],
    )

or add them to an existing evaluation with
``dataset.load_evaluation_results("eval").add_custom_metrics([...])``. Each
runs :func:`fiftyone_prime.integration.failure_modes.evaluations.evaluation_failure_mode_stats`
(a search over the evaluation's units that stores nothing); the tags field and
units are metric parameters (``{"tags_field": ..., "units": ...}``).
"""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from fiftyone_prime.core.defaults import TAGS_FIELD
from fiftyone_prime.integration.failure_modes.evaluations import evaluation_failure_mode_stats

#: What the two metrics' configs share.
_CONFIG = dict(
    eval_types=["classification", "detection", "regression", "segmentation"],
    lower_is_better=True,
    unlisted=True,
)


def _stats(samples, results, tags_field=TAGS_FIELD, units=None, **_):
    return evaluation_failure_mode_stats(
        samples, results.key, units=units or None, tags_field=tags_field
    )


class _PrimeMetric(foo.EvaluationMetric):
    """A statistic of :func:`evaluation_failure_mode_stats` as a metric;
    subclasses name it (``NAME``, ``LABEL``, ``DESCRIPTION``) and the
    statistic (``STAT``)."""

    NAME = LABEL = DESCRIPTION = STAT = ""

    @property
    def config(self):
        return foo.EvaluationMetricConfig(
            name=self.NAME, label=self.LABEL, description=self.DESCRIPTION, **_CONFIG
        )

    def compute(self, samples, results, **kwargs):
        return _stats(samples, results, **kwargs)[self.STAT]

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.str(
            "tags_field",
            label="Tags field",
            description="The tag field or object attribute path searched",
            default=TAGS_FIELD,
        )
        inputs.enum(
            "units",
            ["gt", "pred", "samples"],
            label="Units",
            description="Objects of detection evaluations: gt (misses) or pred (false positives)",
            required=False,
        )
        return types.Property(inputs)

    def get_fields(self, samples, config, eval_key):
        return []  # writes no field


class FailureModeCount(_PrimeMetric):
    """The number of significant PRIME failure modes of an evaluation."""

    NAME = "prime_failure_modes_count"
    LABEL = "PRIME failure modes"
    DESCRIPTION = "Significant failure modes (tag sets where accuracy drops)"
    STAT = "num_failure_modes"


class FailureModeMaxDrop(_PrimeMetric):
    """The largest accuracy drop among an evaluation's significant failure modes."""

    NAME = "prime_max_drop"
    LABEL = "PRIME largest drop"
    DESCRIPTION = "Largest accuracy drop of a significant failure mode (0 when none)"
    STAT = "max_drop"


METRICS = (FailureModeCount, FailureModeMaxDrop)
