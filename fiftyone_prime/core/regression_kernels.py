"""The compiled regression search: regression modes of two or more tags.

The same depth-first search as :mod:`fiftyone_prime.core.kernels`, with the
score a set's *change* in accuracy (new minus baseline) instead of its
accuracy. Each group's units are packed in three regions of words: its
*losses* (only the baseline is right) first, then its *wins* (only the new
model is right), then the rest (both right or both wrong), each in row
order, so one AND over a set's words gives, region by region, its losses,
wins and size.

Pruning uses the bound of :func:`fiftyone_prime.core.definition.lowest_change`:
a superset with ``>= min_size`` units has a change of at least
``-losses / min_size``. The losses are counted first, so a set whose own
losses rule its supersets out is not counted further. Where the bounds say
a set may be a regression mode it is settled exactly against all of its
subsets (:func:`_settle`), as the failure-mode kernel does.
"""

from __future__ import annotations

import numpy as np

from .definition import change, lowest_change, may_extend, meets_conditions, superset_ceiling
from .jit import bit, grow, inline, jit, popcount
from .kernels import COUNTED, OK, TOO_MANY

__all__ = ["COUNTED", "OK", "TOO_MANY", "pack_dense", "pack_sparse", "search_chunk"]


@inline
def _and_count(a, ra, b, rb, out, ro, start, stop):
    """``out[ro] = a[ra] & b[rb]`` in words ``start:stop``; returns its
    number of set bits there."""
    n = 0
    for w in range(start, stop):
        v = a[ra, w] & b[rb, w]
        out[ro, w] = v
        n += popcount(v)
    return n


@inline
def _and_count_only(a, ra, b, rb, start, stop):
    """The number of set bits of ``a[ra] & b[rb]`` in words ``start:stop``."""
    n = 0
    for w in range(start, stop):
        n += popcount(a[ra, w] & b[rb, w])
    return n


@inline
def _position(kind, seen, loss_words, win_words):
    """A row's word and bit: ``kind`` 0 (loss), 1 (win) or 2 (other);
    ``seen`` counts the group's rows of that kind before it."""
    base = 0 if kind == 0 else (loss_words if kind == 1 else loss_words + win_words)
    return base + (seen >> 6), bit(seen & 63)


@jit
def _pack_dense(
    matrix, row_starts, sizes, row_kind, col_bounds, col_tags, loss_words, win_words, out
):
    seen = np.zeros(3, dtype=np.int64)
    for g in range(len(row_starts)):
        seen[:] = 0
        for row in range(row_starts[g], row_starts[g] + sizes[g]):
            kind = row_kind[row]
            word, mask = _position(kind, seen[kind], loss_words, win_words)
            seen[kind] += 1
            for col in range(col_bounds[g], col_bounds[g + 1]):
                if matrix[row, col_tags[col]]:
                    out[col, word] |= mask


@jit
def _pack_sparse(
    indptr, indices, row_starts, sizes, row_kind, column_of, n_tags, loss_words, win_words, out
):
    seen = np.zeros(3, dtype=np.int64)
    for g in range(len(row_starts)):
        seen[:] = 0
        for row in range(row_starts[g], row_starts[g] + sizes[g]):
            kind = row_kind[row]
            word, mask = _position(kind, seen[kind], loss_words, win_words)
            seen[kind] += 1
            for z in range(indptr[row], indptr[row + 1]):
                col = column_of[g * n_tags + indices[z]]
                if col >= 0:
                    out[col, word] |= mask


def pack_dense(
    matrix, row_starts, sizes, row_kind, col_bounds, col_tags, loss_words, win_words, out
):
    """Packs a dense bool matrix's columns into ``out`` (zeroed), three
    regions per group (see the module).

    Args:
        matrix: the ``(n_rows, n_tags)`` bool matrix, rows sorted by group
        row_starts, sizes: each packed group's first row and number of rows
        row_kind: per row, 0 (loss), 1 (win) or 2 (other), as int8
        col_bounds: group ``g``'s bitset rows are ``col_bounds[g]:col_bounds[g + 1]``
        col_tags: each bitset row's tag
        loss_words, win_words: the words of the loss and win regions
        out: ``(n_cols, width)`` uint64 bitsets, zeroed
    """
    _pack_dense(
        np.ascontiguousarray(matrix).view(np.uint8),
        row_starts.astype(np.int64),
        sizes.astype(np.int64),
        row_kind,
        col_bounds.astype(np.int64),
        col_tags.astype(np.int64),
        int(loss_words),
        int(win_words),
        out,
    )


def pack_sparse(
    indptr, indices, row_starts, sizes, row_kind, column_of, n_tags, loss_words, win_words, out
):
    """:func:`pack_dense` for a CSR matrix; ``column_of[g * n_tags + t]``
    is the bitset row of tag ``t`` of packed group ``g`` (-1: none)."""
    _pack_sparse(
        indptr,
        indices,
        row_starts.astype(np.int64),
        sizes.astype(np.int64),
        row_kind,
        column_of,
        int(n_tags),
        int(loss_words),
        int(win_words),
        out,
    )


@jit
def _settle(
    bits,
    cols,
    k,
    loss_stop,
    win_start,
    win_stop,
    rest_start,
    rest_stop,
    group_score,
    min_size,
    min_drop,
    min_gain,
    minimal,
    tol,
    work,
):
    """Decides exactly whether the set ``cols[:k]`` is a regression mode,
    from the counts of all its nonempty subsets (``work`` holds their
    bitsets).

    Returns:
        ``(is_mode, floor)``: whether it is one, and the least change among
        its nonempty proper subsets
    """
    n_masks = 1 << k
    score = np.empty(n_masks)
    floor = np.empty(n_masks)
    cond = np.zeros(n_masks, dtype=np.bool_)
    contains = np.zeros(n_masks, dtype=np.bool_)
    for mask in range(1, n_masks):
        low = mask & -mask
        b = 0
        while (1 << b) != low:
            b += 1
        rest = mask ^ low
        if rest == 0:
            src, row = bits, cols[b]
        else:
            src, row = work, rest
        losses = _and_count(src, row, bits, cols[b], work, mask, 0, loss_stop)
        wins = _and_count(src, row, bits, cols[b], work, mask, win_start, win_stop)
        size = (
            losses + wins + _and_count(src, row, bits, cols[b], work, mask, rest_start, rest_stop)
        )
        if size == 0:
            score[mask] = np.nan
        else:
            score[mask] = change(size, losses, wins)
        least = np.inf
        inside = False
        for j in range(k):
            sub = mask ^ (1 << j)
            if sub == 0 or (mask >> j) & 1 == 0:
                continue
            least = min(least, min(score[sub], floor[sub]))
            inside = inside or cond[sub] or contains[sub]
        floor[mask] = least
        contains[mask] = inside
        cond[mask] = meets_conditions(
            size, score[mask], group_score, least, min_size, min_drop, min_gain, tol
        )
    full = n_masks - 1
    return cond[full] and not (minimal and contains[full]), floor[full]


@jit
def _search_chunk(
    bits,
    loss_words,
    win_words,
    group_loss_words,
    group_win_words,
    group_rest_words,
    col_bounds,
    col_losses,
    col_score,
    group_score,
    min_size,
    min_drop,
    min_gain,
    max_tags,
    minimal,
    tol,
    slack,
    limits,
):
    n_groups = len(col_bounds) - 1
    width = bits.shape[1]
    max_cols = 0
    for g in range(n_groups):
        max_cols = max(max_cols, col_bounds[g + 1] - col_bounds[g])
    inter = np.empty((max(0, max_tags - 2) * max_cols, width), dtype=np.uint64)
    entry_col = np.empty((max_tags, max_cols), dtype=np.int64)
    entry_floor = np.empty((max_tags, max_cols))
    entry_lowest = np.empty((max_tags, max_cols))
    n_entries = np.zeros(max_tags, dtype=np.int64)
    position = np.zeros(max_tags, dtype=np.int64)
    prefix = np.empty(max_tags, dtype=np.int64)
    cols = np.empty(max_tags, dtype=np.int64)
    work = np.empty((0, width), dtype=np.uint64)
    counted = np.zeros(max_tags + 1, dtype=np.int64)
    pair_words = (max_cols + 63) // 64
    alive_pairs = np.zeros((max_cols, pair_words), dtype=np.uint64)

    cap = 1024
    out_group = np.empty(cap, dtype=np.int64)
    out_cols = np.full((cap, max_tags), -1, dtype=np.int64)
    out_size = np.empty(cap, dtype=np.int64)
    out_losses = np.empty(cap, dtype=np.int64)
    out_wins = np.empty(cap, dtype=np.int64)
    out_gain = np.empty(cap)
    n_out = 0
    status = np.zeros(COUNTED + max_tags + 1, dtype=np.int64)

    for g in range(n_groups):
        lo, hi = col_bounds[g], col_bounds[g + 1]
        n = hi - lo
        if n < 2:
            continue
        gscore = group_score[g]
        loss_stop = group_loss_words[g]
        win_start = loss_words
        win_stop = loss_words + group_win_words[g]
        rest_start = loss_words + win_words
        rest_stop = rest_start + group_rest_words[g]
        counted[:] = 0
        alive_pairs[:n, :] = 0
        for i in range(n):
            entry_col[0, i] = lo + i
            entry_floor[0, i] = col_score[lo + i]
            entry_lowest[0, i] = lowest_change(col_losses[lo + i], min_size)
        n_entries[0] = n
        position[0] = 0
        d = 0
        while d >= 0:
            if position[d] >= n_entries[d]:
                d -= 1
                continue
            i = n - 1 - position[d] if d == 0 else position[d]
            position[d] += 1
            k = d + 2
            last = k >= max_tags
            col_i = entry_col[d, i]
            prefix[d] = col_i
            floor_i = entry_floor[d, i]
            lowest_i = entry_lowest[d, i]
            source, row_i = (bits, col_i) if d == 0 else (inter, (d - 1) * max_cols + i)
            row_out = d * max_cols
            pair_row = col_i - lo
            n_next = 0
            for j in range(i + 1, n_entries[d]):
                col_j = entry_col[d, j]
                local_j = col_j - lo
                if d > 0 and (alive_pairs[pair_row, local_j >> 6] & bit(local_j)) == 0:
                    continue
                cand_floor = min(floor_i, entry_floor[d, j])
                lowest = max(lowest_i, entry_lowest[d, j])
                allowed = superset_ceiling(gscore, cand_floor, min_drop, min_gain, tol, slack)
                if lowest > allowed:
                    continue
                counted[k] += 1
                if counted[k] > limits[k]:
                    status[0] = TOO_MANY
                    status[1] = counted[k]
                    status[2] = k
                    return (
                        out_group[:n_out],
                        out_cols[:n_out],
                        out_size[:n_out],
                        out_losses[:n_out],
                        out_wins[:n_out],
                        out_gain[:n_out],
                        status,
                        g,
                    )
                out = row_out + n_next
                if last:
                    losses = _and_count_only(source, row_i, bits, col_j, 0, loss_stop)
                else:
                    losses = _and_count(source, row_i, bits, col_j, inter, out, 0, loss_stop)
                lowest = lowest_change(losses, min_size)
                if lowest > allowed:
                    continue
                if last:
                    wins = _and_count_only(source, row_i, bits, col_j, win_start, win_stop)
                    size = (
                        losses
                        + wins
                        + _and_count_only(source, row_i, bits, col_j, rest_start, rest_stop)
                    )
                else:
                    wins = _and_count(source, row_i, bits, col_j, inter, out, win_start, win_stop)
                    size = (
                        losses
                        + wins
                        + _and_count(source, row_i, bits, col_j, inter, out, rest_start, rest_stop)
                    )
                if size < min_size:
                    continue
                score = change(size, losses, wins)
                is_mode = False
                floor = cand_floor
                if meets_conditions(
                    size, score, gscore, cand_floor, min_size, min_drop, min_gain, tol
                ):
                    for t in range(d + 1):
                        cols[t] = prefix[t]
                    cols[d + 1] = col_j
                    if k == 2:
                        is_mode = True
                    else:
                        counted[k] += (1 << k) - 2
                        if work.shape[0] == 0:
                            work = np.empty((1 << max_tags, width), dtype=np.uint64)
                        is_mode, floor = _settle(
                            bits,
                            cols,
                            k,
                            loss_stop,
                            win_start,
                            win_stop,
                            rest_start,
                            rest_stop,
                            gscore,
                            min_size,
                            min_drop,
                            min_gain,
                            minimal,
                            tol,
                            work,
                        )
                    if is_mode:
                        if n_out == cap:
                            cap *= 2
                            out_group = grow(out_group, cap)
                            out_size = grow(out_size, cap)
                            out_losses = grow(out_losses, cap)
                            out_wins = grow(out_wins, cap)
                            out_gain = grow(out_gain, cap)
                            grown = np.full((cap, max_tags), -1, dtype=np.int64)
                            grown[:n_out] = out_cols[:n_out]
                            out_cols = grown
                        out_group[n_out] = g
                        for t in range(k):
                            out_cols[n_out, t] = cols[t]
                        out_size[n_out] = size
                        out_losses[n_out] = losses
                        out_wins[n_out] = wins
                        out_gain[n_out] = floor - score
                        n_out += 1
                if last or (minimal and is_mode):
                    continue
                least = min(score, floor)
                if may_extend(lowest, gscore, least, min_drop, min_gain, tol, slack):
                    entry_col[d + 1, n_next] = col_j
                    entry_floor[d + 1, n_next] = least
                    entry_lowest[d + 1, n_next] = lowest
                    n_next += 1
                    if d == 0:
                        alive_pairs[pair_row, local_j >> 6] |= bit(local_j)
            if n_next >= 2:
                d += 1
                n_entries[d] = n_next
                position[d] = 0
        for k in range(max_tags + 1):
            status[COUNTED + k] += counted[k]
    return (
        out_group[:n_out],
        out_cols[:n_out],
        out_size[:n_out],
        out_losses[:n_out],
        out_wins[:n_out],
        out_gain[:n_out],
        status,
        0,
    )


def search_chunk(
    bits: np.ndarray,
    loss_words: int,
    win_words: int,
    group_loss_words: np.ndarray,
    group_win_words: np.ndarray,
    group_rest_words: np.ndarray,
    col_bounds: np.ndarray,
    col_losses: np.ndarray,
    col_score: np.ndarray,
    group_score: np.ndarray,
    *,
    min_size: int,
    min_drop: float,
    min_gain: float,
    max_tags: int,
    minimal: bool,
    tolerance: float,
    slack: float,
    limits: np.ndarray,
):
    """Finds the regression modes of two or more tags of some groups.

    Args:
        bits: ``(n_cols, width)`` uint64 bitsets: each group's losses in
            words ``[0, loss_words)``, wins in ``[loss_words, loss_words +
            win_words)``, the other units after them
        loss_words, win_words: the widths of the loss and win regions
        group_loss_words, group_win_words, group_rest_words: the words each
            group fills in each region
        col_bounds: group ``g`` owns columns ``col_bounds[g]:col_bounds[g + 1]``
        col_losses, col_score: each column's losses and change
        group_score: each group's change
        min_size, min_drop, min_gain, max_tags, minimal: the search parameters
        tolerance, slack: the comparison tolerance and the pruning slack
        limits: per set size ``k``, the most candidate sets a group may count

    Returns:
        ``(groups, cols, sizes, losses, wins, gains, status, group)``, as
        :func:`fiftyone_prime.core.kernels.search_chunk` with losses and wins
        in place of errors
    """
    return _search_chunk(
        np.ascontiguousarray(bits),
        int(loss_words),
        int(win_words),
        group_loss_words.astype(np.int64),
        group_win_words.astype(np.int64),
        group_rest_words.astype(np.int64),
        col_bounds.astype(np.int64),
        col_losses.astype(np.int64),
        col_score.astype(np.float64),
        group_score.astype(np.float64),
        int(min_size),
        float(min_drop),
        float(min_gain),
        int(max_tags),
        bool(minimal),
        float(tolerance),
        float(slack),
        limits.astype(np.int64),
    )


# ------------------------------------------------------- the tested family


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


def family_counts(
    bits,
    loss_words,
    win_words,
    group_loss_words,
    group_win_words,
    group_rest_words,
    col_bounds,
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
        bits, loss_words, win_words, group_loss_words, group_win_words,
            group_rest_words, col_bounds: as in :func:`search_chunk`
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
        np.ascontiguousarray(bits),
        int(loss_words),
        int(win_words),
        group_loss_words.astype(np.int64),
        group_win_words.astype(np.int64),
        group_rest_words.astype(np.int64),
        col_bounds.astype(np.int64),
        int(min_size),
        group_min_d.astype(np.int64),
        int(max_tags),
        int(budget),
        hist,
        starts,
    )
    return hist, starts, over
