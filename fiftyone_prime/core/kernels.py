"""The compiled search kernel: modes of two or more tags, depth first, for every score.

:func:`search_chunk` enumerates each group's tag sets depth first (Eclat).
The sets that extend one prefix are kept with their bitsets, and a set of
``k`` tags is the AND of two such siblings: one pass over the group's
words, region by region (losses, wins, the rest: see
:class:`~fiftyone_prime.core.candidates.Chunk`), with no Python or numpy
call per candidate. What is scored is a parameter
(:func:`fiftyone_prime.core.definition.score`): a failure-mode search has
its errors as losses and an empty win region, a regression search both.

It prunes with the bound of :mod:`fiftyone_prime.core.definition` over the
subsets a depth-first search knows (the two siblings, and every pair of
tags: single tags are taken last to first, so the pairs of later tags are
judged first), which prunes a little less than a levelwise search would and
never wrongly:

-   a set is not counted when its subsets' losses and scores already rule
    it and its supersets out, and its other units are not counted when its
    own losses do (a continuous score's values are read only once a set's
    size passes: most sets counted are too small, and a popcount is cheaper
    than reading values one by one);
-   where those bounds say a set may be a mode, it is settled exactly from
    the counts of all of its subsets (:func:`_settle`), so every mode, its
    gain and its minimality are decided as the definition says.

A set of ``k`` tags is settled against its ``2**k - 1`` subsets, so
``max_tags`` is at most :data:`fiftyone_prime.core.defaults.MAX_TAGS_LIMIT`.
The work is the number of candidate sets times a group's words; chunks of
groups run on separate threads (the kernels release the GIL).
"""

from __future__ import annotations

import numpy as np

from .definition import (
    lowest_mean,
    lowest_score,
    may_extend,
    mean_value,
    meets_conditions,
    superset_ceiling,
)
from .definition import score as score_of
from .jit import bit, grow, inline, jit, popcount

# What search_chunk's status array holds: status[0] is OK or TOO_MANY (then
# status[1] sets were counted while building sets of status[2] tags), and
# status[COUNTED + k] the sets counted while building sets of k tags.
OK = 0
TOO_MANY = 1
COUNTED = 3


# The helpers take 2-D arrays and row numbers rather than rows: a row
# view would cost a reference count update per candidate.


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
def _value_sums(a, ra, b, rb, start, stop, values, g, first, total, worst, seen):
    """A continuous score's sums over the rows of ``a[ra] & b[rb]`` in words
    ``start:stop`` (the row at bit ``j`` has the value ``values[g, j]``),
    added to ``total`` and ``worst`` one at a time in row order, after
    ``seen`` rows: of all of them, and of the ``first`` rows (the worst: rows
    are sorted by value).

    Returns:
        ``(total, worst, seen)``
    """
    one = np.uint64(1)
    for w in range(start, stop):
        v = a[ra, w] & b[rb, w]
        at = w * 64
        while v != 0:
            x = values[g, at + popcount((v & (~v + one)) - one)]
            total += x
            if seen < first:
                worst += x
            seen += 1
            v &= v - one
    return total, worst, seen


@inline
def _worst_values(a, ra, start, stop, values, g, first, worst, seen):
    """The sum of the first rows of ``a[ra]`` in words ``start:stop`` (the
    worst: rows are sorted by value), added to ``worst`` one at a time in
    row order, after ``seen`` rows, until ``first`` are summed.

    Returns:
        ``(worst, seen)``
    """
    one = np.uint64(1)
    for w in range(start, stop):
        if seen >= first:
            break
        v = a[ra, w]
        at = w * 64
        while v != 0 and seen < first:
            worst += values[g, at + popcount((v & (~v + one)) - one)]
            seen += 1
            v &= v - one
    return worst, seen


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
    group_win_words,
    group_score,
    base,
    min_size,
    min_drop,
    min_gain,
    minimal,
    tol,
    work,
    values,
    g,
):
    """Decides exactly whether the set ``cols[:k]`` is a mode, from the
    counts (with ``values``, group ``g``'s sums) of all its nonempty
    subsets (``work`` holds their bitsets): takes
    each one's least score among its own proper subsets, and applies the
    definition to the whole set; with ``minimal``, also to every subset.

    Returns:
        ``(is_mode, floor)``: whether it is one, and the least score among
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
        wins = 0
        if group_win_words is not None:  # compiled out for a score without wins
            wins = _and_count(src, row, bits, cols[b], work, mask, win_start, win_stop)
        size = (
            losses + wins + _and_count(src, row, bits, cols[b], work, mask, rest_start, rest_stop)
        )
        if size == 0:
            score[mask] = np.nan
        elif values is not None:  # compiled out for a counted score
            total, _, _ = _value_sums(
                work, mask, work, mask, 0, loss_stop, values, g, 0, 0.0, 0.0, 0
            )
            total, _, _ = _value_sums(
                work, mask, work, mask, rest_start, rest_stop, values, g, 0, total, 0.0, 0
            )
            score[mask] = mean_value(size, total)
        else:
            score[mask] = score_of(size, losses, wins, base)
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
    base,
    min_size,
    min_drop,
    min_gain,
    max_tags,
    minimal,
    tol,
    slack,
    limits,
    values,
):
    n_groups = len(col_bounds) - 1
    width = bits.shape[1]
    rest_floor = 64 * width  # the column of values holding the least non-loss value
    max_cols = 0
    for g in range(n_groups):
        max_cols = max(max_cols, col_bounds[g + 1] - col_bounds[g])
    # Depth d holds the sets of d + 1 tags that extend one prefix, in
    # column order, with their pruning bounds and bitsets: the single
    # tags' are rows of `bits`, deeper ones row (d - 1) * max_cols + i of
    # `inter` (sets of max_tags tags are never extended, so not kept).
    inter = np.empty((max(0, max_tags - 2) * max_cols, width), dtype=np.uint64)
    entry_col = np.empty((max_tags, max_cols), dtype=np.int64)
    entry_floor = np.empty((max_tags, max_cols))
    entry_lowest = np.empty((max_tags, max_cols))
    n_entries = np.zeros(max_tags, dtype=np.int64)
    position = np.zeros(max_tags, dtype=np.int64)
    prefix = np.empty(max_tags, dtype=np.int64)
    cols = np.empty(max_tags, dtype=np.int64)
    work = np.empty((0, width), dtype=np.uint64)  # _settle's, made when first needed
    counted = np.zeros(max_tags + 1, dtype=np.int64)
    # Alive pairs of the group, as a bitmap over its columns.
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
        # The group's words in each region.
        loss_stop = group_loss_words[g]
        win_start = win_stop = loss_words
        if group_win_words is not None:
            win_stop = loss_words + group_win_words[g]
        rest_start = loss_words + win_words
        rest_stop = rest_start + group_rest_words[g]
        counted[:] = 0
        alive_pairs[:n, :] = 0
        # The tags that may extend: a tag whose own bound rules out every
        # superset is left out here (not at each of its pairs).
        n_live = 0
        for i in range(n):
            if values is not None:  # the tag's own min_size worst values
                worst, seen = _worst_values(bits, lo + i, 0, loss_stop, values, g, min_size, 0.0, 0)
                worst, _ = _worst_values(
                    bits, lo + i, rest_start, rest_stop, values, g, min_size, worst, seen
                )
                lowest_i = lowest_mean(worst, min_size)
            else:
                lowest_i = lowest_score(col_losses[lo + i], min_size, base)
            if not may_extend(lowest_i, gscore, col_score[lo + i], min_drop, min_gain, tol, slack):
                continue
            entry_col[0, n_live] = lo + i
            entry_floor[0, n_live] = col_score[lo + i]
            entry_lowest[0, n_live] = lowest_i
            n_live += 1
        n_entries[0] = n_live
        position[0] = 0
        d = 0
        while d >= 0:
            if position[d] >= n_entries[d]:
                d -= 1
                continue
            # The single tags are taken last to first, so that when a
            # set's first tag is taken, every pair of later tags has
            # been judged and the pair bitmap can prune.
            i = n_live - 1 - position[d] if d == 0 else position[d]
            position[d] += 1
            k = d + 2  # the size of the sets built from entry i
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
                    continue  # a pair of the set is not alive
                cand_floor = min(floor_i, entry_floor[d, j])
                # No subset's superset with >= min_size units scores below
                # `lowest`.
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
                # The same bound with the set's own losses, before its other
                # units are counted (with values, after: see below).
                lowest = -np.inf
                if values is None:
                    lowest = lowest_score(losses, min_size, base)
                if lowest > allowed:
                    continue
                wins = 0
                if last:
                    if group_win_words is not None:  # compiled out without wins
                        wins = _and_count_only(source, row_i, bits, col_j, win_start, win_stop)
                    size = (
                        losses
                        + wins
                        + _and_count_only(source, row_i, bits, col_j, rest_start, rest_stop)
                    )
                else:
                    if group_win_words is not None:
                        wins = _and_count(
                            source, row_i, bits, col_j, inter, out, win_start, win_stop
                        )
                    size = (
                        losses
                        + wins
                        + _and_count(source, row_i, bits, col_j, inter, out, rest_start, rest_stop)
                    )
                if size < min_size:
                    continue
                if values is not None:  # the bound from the set's own worst values:
                    # its losses' worst values, the others at least the least other
                    loss_total, loss_worst, _ = _value_sums(
                        source, row_i, bits, col_j, 0, loss_stop, values, g, min_size, 0.0, 0.0, 0
                    )
                    worst = loss_worst
                    if losses < min_size:
                        worst += (min_size - losses) * values[g, rest_floor]
                    if lowest_mean(worst, min_size) > allowed:
                        continue
                    if last and size > losses:
                        # A set that is not extended is read in full only when
                        # its mean, with its other units at the least other
                        # value, may be a mode's.
                        rest_low = (size - losses) * values[g, rest_floor]
                        if mean_value(size, loss_total + rest_low) > allowed:
                            continue
                    total, worst, _ = _value_sums(
                        source,
                        row_i,
                        bits,
                        col_j,
                        rest_start,
                        rest_stop,
                        values,
                        g,
                        min_size,
                        loss_total,
                        loss_worst,
                        losses,
                    )
                    lowest = lowest_mean(worst, min_size)
                    if lowest > allowed:
                        continue
                    score = mean_value(size, total)
                else:
                    score = score_of(size, losses, wins, base)
                is_mode = False
                floor = cand_floor
                if meets_conditions(
                    size, score, gscore, cand_floor, min_size, min_drop, min_gain, tol
                ):
                    for t in range(d + 1):
                        cols[t] = prefix[t]
                    cols[d + 1] = col_j
                    if k == 2:  # a pair's subsets are its two tags
                        is_mode = True
                    else:
                        counted[k] += (1 << k) - 2  # its subsets are counted too
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
                            group_win_words,
                            gscore,
                            base,
                            min_size,
                            min_drop,
                            min_gain,
                            minimal,
                            tol,
                            work,
                            values,
                            g,
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
                            for r in range(n_out):  # a loop: no shape check to compile
                                for t in range(max_tags):
                                    grown[r, t] = out_cols[r, t]
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
                # Alive: some superset may still be a mode.
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
    base: float,
    min_size: int,
    min_drop: float,
    min_gain: float,
    max_tags: int,
    minimal: bool,
    tolerance: float,
    slack: float,
    limits: np.ndarray,
    values: np.ndarray | None = None,
):
    """Finds the modes of two or more tags of some groups.

    Args:
        bits: ``(n_cols, width)`` uint64 bitsets: each group's losses in
            words ``[0, loss_words)``, wins in ``[loss_words, loss_words +
            win_words)``, the other units after them
            (:class:`~fiftyone_prime.core.candidates.Chunk`)
        loss_words, win_words: the widths of the loss and win regions (no
            win region: 0)
        group_loss_words, group_win_words, group_rest_words: the words each
            group fills in each region (without a win region, the kernel is
            compiled without the counts of wins: a failure-mode search runs
            as fast as a kernel written for errors alone)
        col_bounds: group ``g`` owns columns ``col_bounds[g]:col_bounds[g + 1]``
        col_losses, col_score: each column's losses and score
        group_score: each group's score
        base: the score's base (:func:`~fiftyone_prime.core.definition.score`)
        min_size, min_drop, min_gain, max_tags, minimal: the search parameters
        tolerance, slack: the comparison tolerance and the pruning slack
        limits: per set size ``k``, the most candidate sets a group may count
        values (None): a continuous score's values, ``(n_groups, 64 * width
            + 1)``, each group's at its rows' bit positions, then the least
            value outside its loss region
            (:attr:`~fiftyone_prime.core.candidates.Chunk.values`): a set's
            score is the mean of its rows' values and its bound the mean of
            its ``min_size`` worst (the rows are sorted by value, its losses
            first: those below the group's mean; a set is bounded from its
            losses before its other rows are counted); ``None`` for a
            counted score, whose kernel is compiled without them

    Returns:
        ``(groups, cols, sizes, losses, wins, gains, status, group)``: per
        mode its group (an index into ``col_bounds``), columns (padded with
        -1), size, losses, wins and gain; ``status[0]`` is :data:`TOO_MANY`
        when a group passed its limit (``status[1]`` sets of ``status[2]``
        tags in group ``group``); ``status[COUNTED + k]``, the sets of ``k``
        tags counted
    """
    return _search_chunk(
        np.ascontiguousarray(bits, dtype=np.uint64),
        int(loss_words),
        int(win_words),
        np.asarray(group_loss_words, dtype=np.int64),
        # No wins: None, so that the kernel is compiled without their counts.
        np.asarray(group_win_words, dtype=np.int64) if int(win_words) else None,
        np.asarray(group_rest_words, dtype=np.int64),
        np.asarray(col_bounds, dtype=np.int64),
        np.asarray(col_losses, dtype=np.int64),
        np.asarray(col_score, dtype=np.float64),
        np.asarray(group_score, dtype=np.float64),
        float(base),
        int(min_size),
        float(min_drop),
        float(min_gain),
        int(max_tags),
        bool(minimal),
        float(tolerance),
        float(slack),
        np.asarray(limits, dtype=np.int64),
        None if values is None else np.ascontiguousarray(values, dtype=np.float64),
    )
