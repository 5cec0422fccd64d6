"""The significance family read in numpy, group by group: an oracle for
:func:`fiftyone_prime.core.family_kernel.family_steps`, and a helper that
records one group at a time.

These were :class:`~fiftyone_prime.core.significance.TestedFamily`'s numpy
twins of its compiled pass; numba is required now, so they check it from
here (bit for bit: the same operations in the same order).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fiftyone_prime.core.significance import TestedFamily


def add_group(family: TestedFamily, group_tags, supports: np.ndarray, num_errors: int) -> None:
    """Records one group in ``family`` (the search records all at once).

    Args:
        family: the family
        group_tags: the group's ``(n_g, n_tags)`` tag matrix
        supports: each tag's number of samples in the group
        num_errors: the group's number of misclassified samples
    """
    if group_tags.shape[0] < family.min_size:
        return  # no set of this group has min_size samples
    frequent = supports >= family.min_size
    if sp.issparse(group_tags):
        per_sample = np.asarray(group_tags @ frequent.astype(np.int64)).ravel()
    else:
        per_sample = np.count_nonzero(group_tags[:, frequent], axis=1)
    supports = np.asarray(supports)
    family.add_groups(per_sample, [0, len(per_sample)], supports, [0, len(supports)], [num_errors])


def choose(n: np.ndarray, k: int) -> np.ndarray:
    """``C(n, k)`` as floats, elementwise (0 where ``n < k``), for small ``k``."""
    n = np.asarray(n, dtype=float)
    out = np.ones_like(n)
    for i in range(k):
        out *= np.maximum(n - i, 0.0) / (i + 1)
    return out


def breakpoints(family: TestedFamily, group) -> np.ndarray:
    """The log p-values where the group's count may change, sorted.

    The count at a limit depends on the testable sizes ``[lo, hi]`` (see
    :func:`count_group`): on ``lo`` wherever it moves (psi's falling side),
    and on ``hi`` only through the single tags' supports it passes (psi's
    rising side at those supports).
    """
    pivot = group.pivot
    rising_supports = group.supports[group.supports >= family.min_size + pivot]
    points = np.concatenate(
        [group.log_psi[: pivot + 1], group.log_psi[rising_supports - family.min_size]]
    )
    return np.unique(points)


def count_group(family: TestedFamily, group, limits: np.ndarray) -> np.ndarray:
    """The group's sets whose least attainable log p-value is ``<= limit``."""
    min_size, pivot = family.min_size, group.pivot
    # psi falls until n = e_g and rises after it: the testable sizes form
    # one interval [lo, hi] around the pivot.
    falling, rising = group.log_psi[: pivot + 1], group.log_psi[pivot:]
    lo_idx = np.searchsorted(-falling, -limits, side="left")
    testable = lo_idx <= pivot
    lo = min_size + np.minimum(lo_idx, pivot)
    hi = min_size + pivot + np.searchsorted(rising, limits, side="right") - 1
    sup = group.supports
    singles = np.searchsorted(sup, hi, side="right") - np.searchsorted(sup, lo, side="left")
    counts = singles.astype(float)
    at_least_lo = len(sup) - np.searchsorted(sup, lo, side="left")
    for k, incidence in enumerate(group.incidences, start=2):
        counts += np.minimum(np.round(choose(at_least_lo, k)), np.floor(incidence / lo))
    return np.where(testable, counts, 0.0)


def rises(family: TestedFamily) -> tuple[np.ndarray, np.ndarray]:
    """Each group's breakpoints where its count rises, and by how much, in
    group order."""
    points, increments = [np.zeros(0)], [np.zeros(0)]
    for group in family._groups:
        at = breakpoints(family, group)
        counts = count_group(family, group, at)
        rise = np.diff(counts, prepend=0.0)
        keep = rise != 0
        points.append(at[keep])
        increments.append(rise[keep])
    return np.concatenate(points), np.concatenate(increments)
