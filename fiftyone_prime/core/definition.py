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

Conditions 1-3 speak of a *score* (today the accuracy) of the set, of its
group and of its subsets; :func:`meets_conditions` takes the scores, so a
search with another score (a regression search's change in accuracy) reuses
it unchanged and brings its own score and bound. Condition 4 needs the
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
def accuracy(size, errors):
    """The accuracy of ``size`` samples of which ``errors`` are misclassified
    (NaN, with numpy's warning silenced by the caller, for an empty set)."""
    return (size - errors) / size


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
def lowest_reachable(errors, min_size):
    """The least accuracy any set with at most ``errors`` misclassified
    samples and at least ``min_size`` samples can have.

    A superset of a set has no more errors than the set, so this bounds the
    accuracy of every superset a failure mode could be (condition 1).
    """
    return greater(0.0, 1.0 - errors / min_size)


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


# ------------------------------------------------------------- regressions
#
# A regression search (two models on the same units) keeps the definition
# and changes the score: a unit's ``d = new_correct - baseline_correct`` is
# -1 (a loss: only the baseline is right), +1 (a win) or 0, and a set's
# score is its *change* ``mean(d) = (wins - losses) / size``. Conditions 1-3
# are :func:`meets_conditions` over that score; the bound is its own.


@register_jitable(inline="always")
def change(size, losses, wins):
    """The change in accuracy, new minus baseline, of ``size`` units of
    which ``losses`` only the baseline and ``wins`` only the new model
    classifies right (NaN for an empty set, as :func:`accuracy`)."""
    return (wins - losses) / size


@register_jitable(inline="always")
def lowest_change(losses, min_size):
    """The least change any set with at most ``losses`` losses and at least
    ``min_size`` units can have: ``-losses / min_size``, and never below -1.

    A superset of a set keeps only some of its units, so it has no more
    losses; its change is at least ``-losses' / size' >= -losses / min_size``
    (wins only raise it). This bounds the change of every superset a
    regression mode could be, as :func:`lowest_reachable` bounds accuracy.
    """
    return greater(-1.0, -losses / min_size)
