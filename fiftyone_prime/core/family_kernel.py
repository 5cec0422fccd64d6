"""The compiled pass of the significance family's step function.

:func:`family_steps` evaluates, for every group in one pass, the count of
tested sets at each of the group's breakpoints, as
:class:`fiftyone_prime.core.significance.TestedFamily` defines it (the
numpy reading of that count lives in ``tests/core/family_oracle.py``; the
two are checked equal bit for bit).
"""

from __future__ import annotations

import numpy as np

from .jit import jit


@jit
def _choose(n, k):
    """``C(n, k)`` as a float for one float ``n`` (0 where ``n < k``)."""
    out = 1.0
    for i in range(k):
        out *= max(n - i, 0.0) / (i + 1)
    return out


@jit
def _family_steps(log_psi, psi_starts, pivots, supports, support_starts, incidences, min_size):
    n_groups = len(pivots)
    cap = 0
    for g in range(n_groups):
        cap += pivots[g] + 1 + support_starts[g + 1] - support_starts[g]
    points = np.empty(cap)
    increments = np.empty(cap)
    n_out = 0
    for g in range(n_groups):
        psi = log_psi[psi_starts[g] : psi_starts[g + 1]]
        pivot = pivots[g]
        sup = supports[support_starts[g] : support_starts[g + 1]]
        # The breakpoints: psi falling to the pivot, and psi at the rising supports
        candidates = np.empty(pivot + 1 + len(sup))
        m = 0
        for i in range(pivot + 1):
            candidates[m] = psi[i]
            m += 1
        for s in sup:
            if s >= min_size + pivot:
                candidates[m] = psi[s - min_size]
                m += 1
        at = np.unique(candidates[:m])
        # The count at each breakpoint, and the rises
        falling = -psi[: pivot + 1]
        rising = psi[pivot:]
        previous = 0.0
        for v in at:
            lo_idx = np.searchsorted(falling, -v, side="left")
            lo = min_size + min(lo_idx, pivot)
            hi = min_size + pivot + np.searchsorted(rising, v, side="right") - 1
            first_lo = np.searchsorted(sup, lo, side="left")
            count = float(np.searchsorted(sup, hi, side="right") - first_lo)
            at_least_lo = float(len(sup) - first_lo)
            for j in range(incidences.shape[1]):
                count += min(np.rint(_choose(at_least_lo, j + 2)), np.floor(incidences[g, j] / lo))
            if lo_idx > pivot:  # not testable
                count = 0.0
            rise = count - previous
            previous = count
            if rise != 0:
                points[n_out] = v
                increments[n_out] = rise
                n_out += 1
    return points[:n_out], increments[:n_out]


def family_steps(
    log_psi: np.ndarray,
    psi_starts: np.ndarray,
    pivots: np.ndarray,
    supports: np.ndarray,
    support_starts: np.ndarray,
    incidences: np.ndarray,
    min_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The rises of every group's family count, at its breakpoints, in group
    order (see :meth:`fiftyone_prime.core.significance.TestedFamily._compiled_rises`).

    Args:
        log_psi: the groups' least attainable log p-values, concatenated
        psi_starts: group ``g``'s are ``log_psi[psi_starts[g]:psi_starts[g + 1]]``
        pivots: each group's index of its least value
        supports: the groups' sorted frequent supports, concatenated
        support_starts: group ``g``'s are ``supports[support_starts[g]:support_starts[g + 1]]``
        incidences: ``(n_groups, max_tags - 1)``: ``sum_i C(t_i, k)`` per group
        min_size: the search's ``min_size``

    Returns:
        ``(points, increments)``
    """
    return _family_steps(
        log_psi.astype(np.float64),
        psi_starts.astype(np.int64),
        pivots.astype(np.int64),
        supports.astype(np.int64),
        support_starts.astype(np.int64),
        np.ascontiguousarray(incidences, dtype=np.float64),
        int(min_size),
    )
