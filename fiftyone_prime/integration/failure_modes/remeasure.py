"""Saved failure modes measured again on other inputs: their statistics
replaced by those of the new data, p-values adjusted over these modes.

What :mod:`fiftyone_prime.integration.failure_modes.holdout` (runs over
label fields) and :mod:`fiftyone_prime.integration.failure_modes.evaluations`
(runs over evaluation units) both call to apply or validate a run's modes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fiftyone_prime.core.measure import measure_tag_sets
from fiftyone_prime.core.significance import BH_PROCEDURE, benjamini_hochberg
from fiftyone_prime.core.types import SearchParams

from ..reading import fields as fpf

#: The procedure that corrects the held-out p-values.
HOLDOUT_PROCEDURE = BH_PROCEDURE


def measure_modes(modes, inputs: fpf.SearchInputs, params: SearchParams) -> list:
    """Measures failure modes on other data (see
    :func:`fiftyone_prime.core.measure.measure_tag_sets`).

    Args:
        modes: the :class:`SavedFailureMode` to measure
        inputs: the arrays read from the other data
        params: the definition's thresholds

    Returns:
        a :class:`fiftyone_prime.core.measure.Measurement` per mode
    """
    queries = [inputs.query_of(m) for m in modes]
    return measure_tag_sets(inputs.tags, inputs.correct, inputs.labels, queries, params)


def remeasure(modes, inputs: fpf.SearchInputs, params: SearchParams) -> list:
    """The modes with their statistics replaced by those measured on other
    data; adjusted p-values are Benjamini-Hochberg over these modes."""
    measured, adjusted = measure_and_adjust(modes, inputs, params)
    return [
        dataclasses.replace(
            mode,
            size=m.size,
            num_correct=m.num_correct,
            accuracy=m.accuracy,
            group_size=m.group_size,
            group_accuracy=m.group_accuracy,
            drop=m.drop,
            p_value=m.p_value,
            adjusted_p_value=None if m.p_value is None else float(q),
            accuracy_ci=m.accuracy_ci,
            view_name=None,
            view_id=None,
            metrics=None,
        )
        for mode, m, q in zip(modes, measured, adjusted)
    ]


def measure_and_adjust(modes, inputs: fpf.SearchInputs, params: SearchParams):
    """Measures the modes on other data; returns the measurements and their
    Benjamini-Hochberg adjusted p-values over these modes."""
    measured = measure_modes(modes, inputs, params)
    p = np.array([np.nan if m.p_value is None else m.p_value for m in measured], dtype=float)
    return measured, benjamini_hochberg(p)
