"""The failure-mode definition and its pruning bound, written once.

For a group ``g`` (a ground-truth class) with ``n_g`` samples and accuracy
``acc_g``, a tag set ``T`` with ``1 <= |T| <= max_tags`` is a failure mode iff

1. ``n_T >= min_size``, where ``n_T`` counts the samples of ``g`` carrying
   every tag of ``T``;
2. ``acc_g - acc_T >= min_drop``;
3. ``acc_U - acc_T >= min_gain`` for every nonempty proper subset ``U`` of
   ``T`` (every tag is needed);
4. with ``minimal=True``: no nonempty proper subset of ``T`` is itself a
   failure mode.

Comparisons are ``>=`` with a :data:`TOLERANCE` of ``1e-9``.

Conditions 1-3 speak of a *score* of the set, of its group and of its
subsets, and the pruning bound of the least score a superset can reach.
What is scored is a parameter, written once here: :func:`score`, the mean
of a per-unit score that is ``base`` plus one on a *win*, minus one on a
*loss*. A failure-mode search scores accuracy (:func:`accuracy`: its
errors are the losses, no wins, ``base`` 1); a regression search scores the
change in accuracy against a baseline model (:func:`change`: ``base`` 0), so
a failure-mode search is a regression search against an always-right
baseline. :func:`meets_conditions`, :func:`lowest_score` and
:func:`may_extend` serve every score; one packer, one kernel and one driver
(:mod:`~fiftyone_prime.core.candidates`, :mod:`~fiftyone_prime.core.kernels`,
:mod:`~fiftyone_prime.core.engine`) read the units in three regions of
words, losses, wins, the rest. A continuous score (:func:`mean_value`, the
mean of a per-unit value; :mod:`fiftyone_prime.core.scores`) is one more
score of this module and one more way to count a set's regions (its values
summed over the set's rows, worst first), bounded by :func:`lowest_mean`,
not another search. Condition 4 needs the
conditions of the subsets; the engines and :mod:`fiftyone_prime.core.measure`
apply it.

The functions here take scalars or numpy arrays (elementwise) from Python,
and scalars from numba-compiled code (they are registered as jitable), so
the compiled kernels, the measurement of given sets and the tests apply the
very same operations. Note that numba's on-disk cache of a kernel tracks
only the kernel's own file: after editing this module, delete the
``__pycache__/*.nbi`` and ``*.nbc`` files next to ``kernels.py`` (the tests
compare the kernels with these functions).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable

#: Tolerance of every threshold comparison: a value exactly at a threshold counts.
TOLERANCE = 1e-9

#: Extra slack for pruning only, so that float rounding never prunes a set
#: whose exact bound sits at the threshold.
PRUNE_SLACK = 1e-12


def lesser(a, b):
    """The elementwise minimum (numpy's; compiled, the builtin ``min`` of two
    scalars, which skips numpy's NaN handling: no NaN reaches the bound)."""
    return np.minimum(a, b)


def greater(a, b):
    """The elementwise maximum, as :func:`lesser`."""
    return np.maximum(a, b)


@overload(lesser, inline="always")
def _lesser_compiled(a, b):
    if isinstance(a, types.Number) and isinstance(b, types.Number):
        return lambda a, b: min(a, b)
    return None


@overload(greater, inline="always")
def _greater_compiled(a, b):
    if isinstance(a, types.Number) and isinstance(b, types.Number):
        return lambda a, b: max(a, b)
    return None


@register_jitable(inline="always")
def score(size, losses, wins, base):
    """The score of ``size`` units: the mean of a per-unit score that is
    ``base - 1`` on a loss, ``base + 1`` on a win and ``base`` elsewhere,
    ``(base * size + wins - losses) / size`` (NaN, with numpy's warning
    silenced by the caller, for an empty set).

    The failure-mode search scores accuracy: ``base`` 1, its errors the
    losses, no wins. The regression search scores the change in accuracy,
    new minus baseline: ``base`` 0, a loss where only the baseline is right,
    a win where only the new model is. The counts are integers, so the value
    is one rounding of the exact ratio, whichever score it is.
    """
    return (base * size + wins - losses) / size


@register_jitable(inline="always")
def accuracy(size, errors):
    """The accuracy of ``size`` samples of which ``errors`` are misclassified:
    :func:`score` with the errors as losses, no wins and ``base`` 1."""
    return score(size, errors, 0, 1.0)


@register_jitable(inline="always")
def change(size, losses, wins):
    """The change in accuracy, new minus baseline, of ``size`` units of
    which ``losses`` only the baseline and ``wins`` only the new model
    classifies right: :func:`score` with ``base`` 0."""
    return score(size, losses, wins, 0.0)


@register_jitable(inline="always")
def mean_value(size, total):
    """A continuous score's: the mean of ``size`` units' values that sum to
    ``total`` (a failure-mode search's :func:`score` with the values' sum
    as its wins, no losses and ``base`` 0: each unit scores its own value).

    The sum is taken over the set's rows in the layout's order (by value,
    worst first) one addition at a time, in the kernels and in the records
    alike, so a set's score is the same number wherever it is computed.
    """
    return score(size, 0.0, total, 0.0)


@register_jitable(inline="always")
def meets_conditions(size, score, group_score, floor, min_size, min_drop, min_gain, tol):
    """Conditions 1-3 of the definition for one set.

    Args:
        size: the set's number of samples
        score: the set's score (its accuracy)
        group_score: its group's score
        floor: the least score among its nonempty proper subsets (``inf``
            for a single tag, which has none)
        min_size, min_drop, min_gain: the thresholds
        tol: the comparison tolerance (:data:`TOLERANCE`)

    Returns:
        whether the set meets conditions 1-3 (elementwise for arrays)
    """
    return (
        (size >= min_size)
        & (group_score - score >= min_drop - tol)
        & (floor - score >= min_gain - tol)
    )


@register_jitable(inline="always")
def lowest_score(losses, min_size, base):
    """The least score any set with at most ``losses`` losses and at least
    ``min_size`` units can have: ``base - losses / min_size``, and never
    below ``base - 1`` (every unit a loss).

    A superset of a set keeps only some of its units, so it has no more
    losses; its score is at least ``base - losses' / size' >= base - losses
    / min_size`` (wins only raise it). This bounds the score of every
    superset a mode could be (condition 1).
    """
    return greater(base - 1.0, base - losses / min_size)


@register_jitable(inline="always")
def lowest_mean(worst_sum, min_size):
    """A continuous score's bound: the least mean any set of ``>= min_size``
    of a set's units can have, ``worst_sum / min_size``, where
    ``worst_sum`` sums the set's ``min_size`` worst values.

    A superset of a set keeps only some of its units; the mean of ``n >=
    min_size`` of them is at least the mean of their ``min_size`` worst,
    which is at least the mean of the set's ``min_size`` worst (each of the
    ``j``-th worst values can only rise). Rounding is absorbed by the
    layout's pruning slack
    (:attr:`~fiftyone_prime.core.layout.GroupedInput.prune_slack`).
    """
    return worst_sum / min_size


@register_jitable(inline="always")
def lowest_reachable(errors, min_size):
    """The least accuracy any set with at most ``errors`` misclassified
    samples and at least ``min_size`` samples can have: :func:`lowest_score`
    of the accuracy."""
    return lowest_score(errors, min_size, 1.0)


@register_jitable(inline="always")
def superset_ceiling(group_score, floor, min_drop, min_gain, tol, slack):
    """The highest score a superset of a set may have and still be a failure
    mode (conditions 2 and 3), with the tolerance and the pruning slack.

    Args:
        group_score: the group's score
        floor: the least score among the set and its nonempty subsets (a
            superset's gain is measured against them)
        min_drop, min_gain: the thresholds
        tol, slack: :data:`TOLERANCE` and :data:`PRUNE_SLACK`
    """
    return lesser(group_score - min_drop, floor - min_gain) + tol + slack


@register_jitable(inline="always")
def may_extend(lowest, group_score, floor, min_drop, min_gain, tol, slack):
    """Whether a superset of a set may still be a failure mode: the pruning
    bound, ``lowest <= superset_ceiling(...)``.

    Args:
        lowest: the least score a superset can reach
            (:func:`lowest_reachable`)
        group_score, floor, min_drop, min_gain, tol, slack: as in
            :func:`superset_ceiling`

    Returns:
        ``False`` only where no superset can meet conditions 2 and 3
    """
    return lowest <= superset_ceiling(group_score, floor, min_drop, min_gain, tol, slack)
