"""Compiled kernels of the exact search (numba), used when numba imports.

:mod:`fiftyone_prime.core.search` runs the sets of two or more tags in
:func:`search_chunk` when :data:`AVAILABLE` is true and ``max_tags`` is at
most :data:`MAX_TAGS`, and in its pure-numpy levelwise engine otherwise.
Both return exactly the same failure modes: the oracle tests run both. The
other kernels here count, pack and measure the input for the search and the
significance family; each replaces a numpy routine that stays in use
without numba.

:func:`search_chunk` enumerates each group's tag sets depth first (Eclat).
The sets that extend one prefix are kept with their bitsets, and a set of
``k`` tags is the AND of two such siblings: one pass over the group's
words, misclassified samples first, with no Python or numpy call per
candidate. It prunes with the levelwise engine's bounds, over the subsets a
depth-first search knows (the two siblings, and every pair of tags: single
tags are taken last to first, so the pairs of later tags are judged
first), which prunes a little less than the levelwise engine and never
wrongly:

-   a set is not counted when its subsets' errors and accuracies already
    rule it and its supersets out, and its correct samples are not counted
    when its own errors do;
-   where those bounds say a set may be a failure mode, it is settled
    exactly from the counts of all of its subsets, so every failure mode,
    its gain and its minimality are decided as the definition says.

The work is the number of candidate sets times a group's words; chunks of
groups run on separate threads (the kernels release the GIL).
"""

from __future__ import annotations

import numpy as np

#: The most tags a set may have for the compiled engine (it checks a
#: possible failure mode against all of its ``2**k - 1`` subsets);
#: searches with a larger ``max_tags`` use the numpy engine.
MAX_TAGS = 8

try:  # without numba the numpy engine runs
    import numba
    from numba import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

#: Whether the compiled kernels can be used: numba imports and is not
#: switched off (``NUMBA_DISABLE_JIT=1`` runs the numpy engine).
AVAILABLE = numba is not None and not numba.config.DISABLE_JIT

# What search_chunk's status array holds: status[0] is OK or TOO_MANY (then
# status[1] sets were counted while building sets of status[2] tags), and
# status[COUNTED + k] the sets counted while building sets of k tags.
OK = 0
TOO_MANY = 1
COUNTED = 3

if AVAILABLE:

    @intrinsic
    def _popcount(typingctx, x):
        """The number of set bits of a uint64, as an int64 (one popcnt instruction)."""
        sig = types.int64(types.uint64)

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return sig, codegen

    def _compiled(**options):
        """numba.njit that caches the machine code next to this file (or in
        the user's cache directory when that is read-only), and compiles in
        each process where neither can be written."""

        def decorate(func):
            try:
                return numba.njit(cache=True, **options)(func)
            except RuntimeError:  # "cannot cache function ...: no locator available"
                return numba.njit(cache=False, **options)(func)

        return decorate

    # The kernels release the GIL, so that chunks run on several threads.
    _jit = _compiled(nogil=True, boundscheck=False)
    # Small helpers are inlined into their callers.
    _inline = _compiled(nogil=True, boundscheck=False, inline="always")

    @_inline
    def _bit(i):
        """The word with bit ``i % 64`` set."""
        return np.uint64(1) << np.uint64(i & 63)

    # The helpers take 2-D arrays and row numbers rather than rows: a row
    # view would cost a reference count update per candidate.

    @_inline
    def _and_count(a, ra, b, rb, out, ro, start, stop):
        """``out[ro] = a[ra] & b[rb]`` in words ``start:stop``; returns its
        number of set bits there."""
        n = 0
        for w in range(start, stop):
            v = a[ra, w] & b[rb, w]
            out[ro, w] = v
            n += _popcount(v)
        return n

    @_inline
    def _and_count_only(a, ra, b, rb, start, stop):
        """The number of set bits of ``a[ra] & b[rb]`` in words ``start:stop``."""
        n = 0
        for w in range(start, stop):
            n += _popcount(a[ra, w] & b[rb, w])
        return n

    @_jit
    def _settle(
        bits,
        cols,
        k,
        err_stop,
        ok_start,
        ok_stop,
        group_acc,
        min_size,
        min_drop,
        min_gain,
        minimal,
        tol,
        work,
    ):
        """Decides exactly whether the set ``cols[:k]`` is a failure mode.

        Counts every nonempty subset (``work`` holds their bitsets), takes
        each one's least accuracy among its own proper subsets, and applies
        the definition to the whole set; with ``minimal``, also to every
        subset.

        Returns:
            ``(is_mode, floor)``: whether the set is a failure mode and the
            least accuracy among its nonempty proper subsets
        """
        n_masks = 1 << k
        acc = np.empty(n_masks)
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
                errs = _and_count(bits, cols[b], bits, cols[b], work, mask, 0, err_stop)
                size = errs + _and_count(
                    bits, cols[b], bits, cols[b], work, mask, ok_start, ok_stop
                )
            else:
                errs = _and_count(work, rest, bits, cols[b], work, mask, 0, err_stop)
                size = errs + _and_count(work, rest, bits, cols[b], work, mask, ok_start, ok_stop)
            if size == 0:
                acc[mask] = np.nan
            else:
                acc[mask] = (size - errs) / size
            least = np.inf
            inside = False
            for j in range(k):
                sub = mask ^ (1 << j)
                if sub == 0 or (mask >> j) & 1 == 0:
                    continue
                least = min(least, min(acc[sub], floor[sub]))
                inside = inside or cond[sub] or contains[sub]
            floor[mask] = least
            contains[mask] = inside
            a = acc[mask]
            cond[mask] = (
                size >= min_size
                and group_acc - a >= min_drop - tol
                and (rest == 0 or least - a >= min_gain - tol)
            )
        full = n_masks - 1
        return cond[full] and not (minimal and contains[full]), floor[full]

    @_jit
    def _search_chunk(
        bits,
        err_words,
        group_err_words,
        group_ok_words,
        col_bounds,
        col_errs,
        col_acc,
        group_acc,
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
        out_errs = np.empty(cap, dtype=np.int64)
        out_gain = np.empty(cap)
        n_out = 0
        status = np.zeros(COUNTED + max_tags + 1, dtype=np.int64)

        for g in range(n_groups):
            lo, hi = col_bounds[g], col_bounds[g + 1]
            n = hi - lo
            if n < 2:
                continue
            gacc = group_acc[g]
            # The group's words: its misclassified samples in [0, err_stop),
            # the others in [err_words, ok_stop).
            err_stop = group_err_words[g]
            ok_stop = err_words + group_ok_words[g]
            most_acc = gacc - min_drop  # the accuracy a failure mode may have, at most
            counted[:] = 0
            alive_pairs[:n, :] = 0
            for i in range(n):
                entry_col[0, i] = lo + i
                entry_floor[0, i] = col_acc[lo + i]
                entry_lowest[0, i] = max(0.0, 1.0 - col_errs[lo + i] / min_size)
            n_entries[0] = n
            position[0] = 0
            d = 0
            while d >= 0:
                if position[d] >= n_entries[d]:
                    d -= 1
                    continue
                # The single tags are taken last to first, so that when a
                # set's first tag is taken, every pair of later tags has
                # been judged and the pair bitmap can prune.
                i = n - 1 - position[d] if d == 0 else position[d]
                position[d] += 1
                k = d + 2  # the size of the sets built from entry i
                last = k >= max_tags
                col_i = entry_col[d, i]
                prefix[d] = col_i
                floor_i = entry_floor[d, i]
                lowest_i = entry_lowest[d, i]
                # The set's bitset, and where its extensions' go.
                source, row_i = (bits, col_i) if d == 0 else (inter, (d - 1) * max_cols + i)
                row_out = d * max_cols
                pair_row = col_i - lo
                n_next = 0
                for j in range(i + 1, n_entries[d]):
                    col_j = entry_col[d, j]
                    local_j = col_j - lo
                    if d > 0 and (alive_pairs[pair_row, local_j >> 6] & _bit(local_j)) == 0:
                        continue  # a pair of the set is not alive
                    cand_floor = min(floor_i, entry_floor[d, j])
                    # No subset's superset with >= min_size samples has an
                    # accuracy below `lowest`, nor may a failure mode have
                    # one above `allowed`.
                    lowest = max(lowest_i, entry_lowest[d, j])
                    allowed = min(most_acc, cand_floor - min_gain) + tol + slack
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
                            out_errs[:n_out],
                            out_gain[:n_out],
                            status,
                            g,
                        )
                    out = row_out + n_next
                    if last:
                        errs = _and_count_only(source, row_i, bits, col_j, 0, err_stop)
                    else:
                        errs = _and_count(source, row_i, bits, col_j, inter, out, 0, err_stop)
                    # The same bound with the set's own errors, before its
                    # correct samples are counted.
                    lowest = max(0.0, 1.0 - errs / min_size)
                    if lowest > allowed:
                        continue
                    if last:
                        size = errs + _and_count_only(
                            source, row_i, bits, col_j, err_words, ok_stop
                        )
                    else:
                        size = errs + _and_count(
                            source, row_i, bits, col_j, inter, out, err_words, ok_stop
                        )
                    if size < min_size:
                        continue
                    acc = (size - errs) / size
                    is_mode = False
                    floor = cand_floor
                    if gacc - acc >= min_drop - tol and cand_floor - acc >= min_gain - tol:
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
                                err_stop,
                                err_words,
                                ok_stop,
                                gacc,
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
                                out_group = _grow(out_group, cap)
                                out_size = _grow(out_size, cap)
                                out_errs = _grow(out_errs, cap)
                                out_gain = _grow(out_gain, cap)
                                grown = np.full((cap, max_tags), -1, dtype=np.int64)
                                grown[:n_out] = out_cols[:n_out]
                                out_cols = grown
                            out_group[n_out] = g
                            for t in range(k):
                                out_cols[n_out, t] = cols[t]
                            out_size[n_out] = size
                            out_errs[n_out] = errs
                            out_gain[n_out] = floor - acc
                            n_out += 1
                    if last or (minimal and is_mode):
                        continue
                    # Alive: some superset may still be a failure mode.
                    least = min(acc, floor)
                    if lowest <= min(most_acc, least - min_gain) + tol + slack:
                        entry_col[d + 1, n_next] = col_j
                        entry_floor[d + 1, n_next] = least
                        entry_lowest[d + 1, n_next] = lowest
                        n_next += 1
                        if d == 0:
                            alive_pairs[pair_row, local_j >> 6] |= _bit(local_j)
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
            out_errs[:n_out],
            out_gain[:n_out],
            status,
            0,
        )

    @_inline
    def _next_position(row_error, n_errors_seen, n_correct_seen, err_words):
        """A group's next row's word and bit mask (misclassified rows fill the
        first words, the others the words from ``err_words`` on, each in row
        order), and the counts of rows seen with it."""
        if row_error:
            word, bit = n_errors_seen >> 6, n_errors_seen & 63
            return word, _bit(bit), n_errors_seen + 1, n_correct_seen
        word, bit = err_words + (n_correct_seen >> 6), n_correct_seen & 63
        return word, _bit(bit), n_errors_seen, n_correct_seen + 1

    @_jit
    def _pack_sparse(
        indptr, indices, row_starts, sizes, row_errors, column_of, n_tags, err_words, out
    ):
        for g in range(len(row_starts)):
            n_errors = n_correct = 0
            for row in range(row_starts[g], row_starts[g] + sizes[g]):
                word, mask, n_errors, n_correct = _next_position(
                    row_errors[row], n_errors, n_correct, err_words
                )
                for z in range(indptr[row], indptr[row + 1]):
                    col = column_of[g * n_tags + indices[z]]
                    if col >= 0:
                        out[col, word] |= mask

    @_jit
    def _pack_dense(matrix, row_starts, sizes, row_errors, col_bounds, col_tags, err_words, out):
        for g in range(len(row_starts)):
            n_errors = n_correct = 0
            for row in range(row_starts[g], row_starts[g] + sizes[g]):
                word, mask, n_errors, n_correct = _next_position(
                    row_errors[row], n_errors, n_correct, err_words
                )
                for col in range(col_bounds[g], col_bounds[g + 1]):
                    if matrix[row, col_tags[col]]:
                        out[col, word] |= mask

    @_jit
    def _frequent_per_row(
        indptr, indices, bounds, entry_bounds, entry_tag, entry_size, min_size, n_tags, out
    ):
        frequent = np.zeros(n_tags, dtype=np.bool_)
        for g in range(len(bounds) - 1):
            for e in range(entry_bounds[g], entry_bounds[g + 1]):
                frequent[entry_tag[e]] = entry_size[e] >= min_size
            for row in range(bounds[g], bounds[g + 1]):
                count = 0
                for z in range(indptr[row], indptr[row + 1]):
                    count += frequent[indices[z]]
                out[row] = count
            for e in range(entry_bounds[g], entry_bounds[g + 1]):
                frequent[entry_tag[e]] = False

    @_jit
    def _dense_frequent_per_row(matrix, bounds, entry_bounds, entry_tag, entry_size, min_size, out):
        frequent = np.zeros(matrix.shape[1], dtype=np.uint8)
        for g in range(len(bounds) - 1):
            for e in range(entry_bounds[g], entry_bounds[g + 1]):
                frequent[entry_tag[e]] = entry_size[e] >= min_size
            for row in range(bounds[g], bounds[g + 1]):
                count = 0
                for t in range(matrix.shape[1]):
                    count += matrix[row, t] & frequent[t]
                out[row] = count
            for e in range(entry_bounds[g], entry_bounds[g + 1]):
                frequent[entry_tag[e]] = 0

    @_jit
    def _dense_counts(matrix, bounds, row_errors, sizes, errors):
        for g in range(len(bounds) - 1):
            for row in range(bounds[g], bounds[g + 1]):
                if row_errors[row]:
                    for t in range(matrix.shape[1]):
                        sizes[g, t] += matrix[row, t]
                        errors[g, t] += matrix[row, t]
                else:
                    for t in range(matrix.shape[1]):
                        sizes[g, t] += matrix[row, t]

    @_jit
    def _sparse_counts(indptr, indices, bounds, row_errors, n_tags):
        size = np.zeros(n_tags, dtype=np.int64)
        errs = np.zeros(n_tags, dtype=np.int64)
        touched = np.empty(n_tags, dtype=np.int64)
        cap = 1024
        out_group = np.empty(cap, dtype=np.int64)
        out_tag = np.empty(cap, dtype=np.int64)
        out_size = np.empty(cap, dtype=np.int64)
        out_errs = np.empty(cap, dtype=np.int64)
        n_out = 0
        for g in range(len(bounds) - 1):
            n_touched = 0
            for row in range(bounds[g], bounds[g + 1]):
                error = row_errors[row]
                for z in range(indptr[row], indptr[row + 1]):
                    t = indices[z]
                    if size[t] == 0:
                        touched[n_touched] = t
                        n_touched += 1
                    size[t] += 1
                    errs[t] += error
            tags = np.sort(touched[:n_touched])
            if n_out + n_touched > cap:
                cap = max(2 * cap, n_out + n_touched)
                out_group = _grow(out_group, cap)
                out_tag = _grow(out_tag, cap)
                out_size = _grow(out_size, cap)
                out_errs = _grow(out_errs, cap)
            for t in tags:
                out_group[n_out] = g
                out_tag[n_out] = t
                out_size[n_out] = size[t]
                out_errs[n_out] = errs[t]
                n_out += 1
                size[t] = 0
                errs[t] = 0
        return out_group[:n_out], out_tag[:n_out], out_size[:n_out], out_errs[:n_out]

    @_jit
    def _choose(n, k):
        """significance._choose for one float ``n``, with the same operations."""
        out = 1.0
        for i in range(k):
            out *= max(n - i, 0.0) / (i + 1)
        return out

    @_jit
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
            # significance.TestedFamily._breakpoints
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
            # significance.TestedFamily._count_group at each point, and the rises
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
                    count += min(
                        np.rint(_choose(at_least_lo, j + 2)), np.floor(incidences[g, j] / lo)
                    )
                if lo_idx > pivot:  # not testable
                    count = 0.0
                rise = count - previous
                previous = count
                if rise != 0:
                    points[n_out] = v
                    increments[n_out] = rise
                    n_out += 1
        return points[:n_out], increments[:n_out]

    @_jit
    def _grow(a, cap):
        out = np.empty(cap, dtype=a.dtype)
        out[: len(a)] = a
        return out


def search_chunk(
    bits: np.ndarray,
    err_words: int,
    group_err_words: np.ndarray,
    group_ok_words: np.ndarray,
    col_bounds: np.ndarray,
    col_errs: np.ndarray,
    col_acc: np.ndarray,
    group_acc: np.ndarray,
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
    """Finds the failure modes of two or more tags of some groups.

    Args:
        bits: ``(n_cols, width)`` uint64 bitsets of the groups' extendable
            tags, each group's misclassified samples in the first
            ``err_words`` words
        err_words: the words of misclassified samples; the others follow
        group_err_words, group_ok_words: the words each group's
            misclassified and other samples fill
        col_bounds: group ``g`` owns columns ``col_bounds[g]:col_bounds[g + 1]``
        col_errs, col_acc: each column's errors and accuracy
        group_acc: each group's accuracy
        min_size, min_drop, min_gain, max_tags, minimal: the search parameters
        tolerance, slack: the comparison tolerance and the pruning slack
        limits: per set size ``k``, the most candidate sets a group may count

    Returns:
        ``(groups, cols, sizes, errors, gains, status, group)``: per mode
        its group (an index into ``col_bounds``), columns (padded with -1),
        size, errors and gain; ``status[0]`` is :data:`TOO_MANY` when a
        group passed its limit (``status[1]`` sets of ``status[2]`` tags in
        group ``group``)
    """
    return _search_chunk(
        np.ascontiguousarray(bits),
        int(err_words),
        group_err_words.astype(np.int64),
        group_ok_words.astype(np.int64),
        col_bounds.astype(np.int64),
        col_errs.astype(np.int64),
        col_acc.astype(np.float64),
        group_acc.astype(np.float64),
        int(min_size),
        float(min_drop),
        float(min_gain),
        int(max_tags),
        bool(minimal),
        float(tolerance),
        float(slack),
        limits.astype(np.int64),
    )


def sparse_counts(
    indptr: np.ndarray, indices: np.ndarray, bounds: np.ndarray, row_errors: np.ndarray, n_tags: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each tag's support and errors in each group of a CSR matrix whose rows
    are sorted by group.

    Args:
        indptr, indices: the CSR matrix's arrays (no explicit zeros)
        bounds: group ``g`` holds rows ``bounds[g]:bounds[g + 1]``
        row_errors: per row, whether it is misclassified
        n_tags: the number of tags

    Returns:
        ``(group, tag, size, errors)``: one entry per tag present in a
        group, sorted by group then tag
    """
    return _sparse_counts(indptr, indices, bounds.astype(np.int64), row_errors, int(n_tags))


def pack_sparse(
    indptr: np.ndarray,
    indices: np.ndarray,
    row_starts: np.ndarray,
    sizes: np.ndarray,
    row_errors: np.ndarray,
    column_of: np.ndarray,
    n_tags: int,
    err_words: int,
    out: np.ndarray,
) -> None:
    """Sets the bits of some groups' rows of a CSR matrix in ``out``: each
    group's misclassified rows fill words ``[0, err_words)`` and its other
    rows the words from ``err_words`` on, each in row order.

    Args:
        indptr, indices: the CSR matrix's arrays
        row_starts, sizes: per group, its first row and number of rows
        row_errors: per row of the matrix, whether it is misclassified
        column_of: ``column_of[g * n_tags + tag]``: the bitset row of the
            group's tag, or -1
        n_tags: the number of tags
        err_words: the word where the correctly classified rows start
        out: ``(n_cols, width)`` uint64 bitsets, zeroed
    """
    _pack_sparse(
        indptr,
        indices,
        row_starts.astype(np.int64),
        sizes.astype(np.int64),
        row_errors,
        column_of,
        int(n_tags),
        int(err_words),
        out,
    )


def pack_dense(
    matrix: np.ndarray,
    row_starts: np.ndarray,
    sizes: np.ndarray,
    row_errors: np.ndarray,
    col_bounds: np.ndarray,
    col_tags: np.ndarray,
    err_words: int,
    out: np.ndarray,
) -> None:
    """:func:`pack_sparse` for a dense bool matrix.

    Args:
        matrix: the ``(n_rows, n_tags)`` bool matrix
        row_starts, sizes, row_errors: as in :func:`pack_sparse`
        col_bounds: group ``g``'s bitset rows are ``col_bounds[g]:col_bounds[g + 1]``
        col_tags: each bitset row's tag
        err_words: the word where the correctly classified rows start
        out: ``(n_cols, width)`` uint64 bitsets, zeroed
    """
    _pack_dense(
        np.ascontiguousarray(matrix).view(np.uint8),
        row_starts.astype(np.int64),
        sizes.astype(np.int64),
        row_errors,
        col_bounds.astype(np.int64),
        col_tags.astype(np.int64),
        int(err_words),
        out,
    )


def frequent_per_row(
    indptr: np.ndarray,
    indices: np.ndarray,
    bounds: np.ndarray,
    entry_bounds: np.ndarray,
    entry_tag: np.ndarray,
    entry_size: np.ndarray,
    min_size: int,
    n_tags: int,
) -> np.ndarray:
    """Per row of a CSR matrix sorted by group, how many of its tags have
    ``>= min_size`` samples in the row's group.

    Args:
        indptr, indices: the CSR matrix's arrays
        bounds: group ``g`` holds rows ``bounds[g]:bounds[g + 1]``
        entry_bounds, entry_tag, entry_size: each group's tags and their
            supports, group ``g``'s at ``entry_bounds[g]:entry_bounds[g + 1]``
        min_size: the least support of a frequent tag
        n_tags: the number of tags

    Returns:
        an int64 array with one count per row
    """
    out = np.zeros(len(indptr) - 1, dtype=np.int64)
    _frequent_per_row(
        indptr,
        indices,
        bounds.astype(np.int64),
        entry_bounds.astype(np.int64),
        entry_tag.astype(np.int64),
        entry_size.astype(np.int64),
        int(min_size),
        int(n_tags),
        out,
    )
    return out


def dense_counts(
    matrix: np.ndarray, bounds: np.ndarray, row_errors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each tag's support and errors in each group of a dense matrix whose
    rows are sorted by group.

    Args:
        matrix: the ``(n_rows, n_tags)`` bool matrix
        bounds: group ``g`` holds rows ``bounds[g]:bounds[g + 1]``
        row_errors: per row, whether it is misclassified

    Returns:
        ``(sizes, errors)``: two ``(n_groups, n_tags)`` int64 arrays
    """
    n_groups = len(bounds) - 1
    sizes = np.zeros((n_groups, matrix.shape[1]), dtype=np.int64)
    errors = np.zeros_like(sizes)
    _dense_counts(
        np.ascontiguousarray(matrix).view(np.uint8),
        bounds.astype(np.int64),
        row_errors,
        sizes,
        errors,
    )
    return sizes, errors


def dense_frequent_per_row(
    matrix: np.ndarray,
    bounds: np.ndarray,
    entry_bounds: np.ndarray,
    entry_tag: np.ndarray,
    entry_size: np.ndarray,
    min_size: int,
) -> np.ndarray:
    """:func:`frequent_per_row` for a dense bool matrix."""
    out = np.zeros(matrix.shape[0], dtype=np.int64)
    _dense_frequent_per_row(
        np.ascontiguousarray(matrix).view(np.uint8),
        bounds.astype(np.int64),
        entry_bounds.astype(np.int64),
        entry_tag.astype(np.int64),
        entry_size.astype(np.int64),
        int(min_size),
        out,
    )
    return out


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
    order: what :meth:`significance.TestedFamily._step_function` computes
    group by group in numpy, with the same operations.

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
