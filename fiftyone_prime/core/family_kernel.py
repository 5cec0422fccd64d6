"""The compiled passes of the tested families.

:func:`family_steps` evaluates, for every group in one pass, the count of
tested sets at each of the group's breakpoints, as
:class:`fiftyone_prime.core.significance.TestedFamily` defines it (the
numpy reading of that count lives in ``tests/core/family_oracle.py``; the
two are checked equal bit for bit). :func:`discordant_counts` enumerates a
regression search's family on the search's packed chunks
(:class:`fiftyone_prime.core.regression.RegressionFamily`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .jit import jit, search_sorted, sort_prefix
from .kernels import _and_count

if TYPE_CHECKING:
    from .candidates import Chunk


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
        # (sorted and deduplicated by loops, as np.unique would: numba's
        # np.unique and np.searchsorted take many seconds to compile)
        sort_prefix(candidates, m)
        n_at = 0
        for i in range(m):
            if n_at == 0 or candidates[i] != candidates[n_at - 1]:
                candidates[n_at] = candidates[i]
                n_at += 1
        # The count at each breakpoint, and the rises
        falling = -psi[: pivot + 1]
        rising = psi[pivot:]
        previous = 0.0
        for i in range(n_at):
            v = candidates[i]
            lo_idx = search_sorted(falling, 0, len(falling), -v, False)
            lo = min_size + min(lo_idx, pivot)
            hi = min_size + pivot + search_sorted(rising, 0, len(rising), v, True) - 1
            first_lo = search_sorted(sup, 0, len(sup), lo, False)
            count = float(search_sorted(sup, 0, len(sup), hi, True) - first_lo)
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


# ------------------------------------------------- a regression search's family


@jit
def _family_counts(
    bits,
    loss_words,
    win_words,
    group_loss_words,
    group_win_words,
    group_rest_words,
    col_bounds,
    min_size,
    group_min_d,
    max_tags,
    budget,
    hist,
    hist_starts,
):
    n_groups = len(col_bounds) - 1
    width = bits.shape[1]
    max_cols = 0
    for g in range(n_groups):
        max_cols = max(max_cols, col_bounds[g + 1] - col_bounds[g])
    inter = np.empty((max(1, max_tags - 1) * max_cols, width), dtype=np.uint64)
    entry_col = np.empty((max_tags, max_cols), dtype=np.int64)
    n_entries = np.zeros(max_tags, dtype=np.int64)
    position = np.zeros(max_tags, dtype=np.int64)
    over = np.zeros(n_groups, dtype=np.bool_)
    for g in range(n_groups):
        lo, hi = col_bounds[g], col_bounds[g + 1]
        n = hi - lo
        if n < 2 or max_tags < 2:
            continue
        loss_stop = group_loss_words[g]
        win_start, win_stop = loss_words, loss_words + group_win_words[g]
        rest_start = loss_words + win_words
        rest_stop = rest_start + group_rest_words[g]
        min_d = group_min_d[g]
        h0 = hist_starts[g]
        h_len = hist_starts[g + 1] - h0
        counted = 0
        for i in range(n):
            entry_col[0, i] = lo + i
        n_entries[0] = n
        position[0] = 0
        d = 0
        while d >= 0 and not over[g]:
            if position[d] >= n_entries[d]:
                d -= 1
                continue
            i = position[d]
            position[d] += 1
            k = d + 2
            source, row_i = (bits, entry_col[0, i]) if d == 0 else (inter, (d - 1) * max_cols + i)
            row_out = d * max_cols
            n_next = 0
            for j in range(i + 1, n_entries[d]):
                col_j = entry_col[d, j]
                out = row_out + n_next
                disc = _and_count(source, row_i, bits, col_j, inter, out, 0, loss_stop)
                disc += _and_count(source, row_i, bits, col_j, inter, out, win_start, win_stop)
                if disc < min_d:
                    continue  # D is anti-monotone: no superset is testable either
                size = disc + _and_count(
                    source, row_i, bits, col_j, inter, out, rest_start, rest_stop
                )
                if size < min_size:
                    continue
                counted += 1
                if counted > budget:
                    over[g] = True
                    break
                if disc < h_len:
                    hist[h0 + disc] += 1
                if k < max_tags:
                    entry_col[d + 1, n_next] = col_j
                    n_next += 1
            if n_next >= 2 and k < max_tags:
                d += 1
                n_entries[d] = n_next
                position[d] = 0
    return over


def discordant_counts(
    bits: Chunk,
    *,
    min_size,
    group_min_d,
    max_tags,
    budget,
    hist_lengths,
):
    """Counts, per group, the sets of ``2..max_tags`` of its columns with
    ``>= min_size`` units and ``>= group_min_d[g]`` discordant units, by
    their number of discordant units (an exhaustive depth-first enumeration,
    pruned only by those two anti-monotone supports).

    Args:
        bits: the groups' packed columns
            (:class:`~fiftyone_prime.core.candidates.Chunk`)
        min_size: the least number of units of a set counted
        group_min_d: per group, the least number of discordant units
        max_tags: the largest sets counted
        budget: the most sets a group may count; a group past it stops
        hist_lengths: per group, the length of its histogram (``D_c + 1``)

    Returns:
        ``(hist, starts, over)``: group ``g``'s histogram is
        ``hist[starts[g]:starts[g + 1]]``; ``over[g]`` when it passed the budget
    """
    starts = np.r_[0, np.cumsum(hist_lengths)].astype(np.int64)
    hist = np.zeros(int(starts[-1]), dtype=np.int64)
    over = _family_counts(
        np.ascontiguousarray(bits.bits),
        int(bits.loss_words),
        int(bits.win_words),
        *(np.asarray(w, dtype=np.int64) for w in bits.group_words),
        np.asarray(bits.col_bounds, dtype=np.int64),
        int(min_size),
        group_min_d.astype(np.int64),
        int(max_tags),
        int(budget),
        hist,
        starts,
    )
    return hist, starts, over
