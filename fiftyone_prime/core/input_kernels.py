"""Compiled passes over the input: counts per group, frequent tags per row,
and packing tag columns into bitsets.

Every routine reads rows sorted by group (group ``g`` holds rows
``bounds[g]:bounds[g + 1]``) and a per-row flag (misclassified, or a loss)
or kind (:data:`LOSS`, :data:`WIN`, :data:`REST`); the rows need not be
sorted by it. Dense matrices are read as C-contiguous uint8 rows.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .jit import bit, grow, inline, jit, sort_prefix


@jit
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


@jit
def _sparse_counts(indptr, indices, bounds, row_errors, n_tags, weights):
    size = np.zeros(n_tags, dtype=np.int64)
    errs = np.zeros(n_tags, dtype=np.int64)
    total = np.zeros(n_tags if weights is not None else 0)
    touched = np.empty(n_tags, dtype=np.int64)
    cap = 1024
    out_group = np.empty(cap, dtype=np.int64)
    out_tag = np.empty(cap, dtype=np.int64)
    out_size = np.empty(cap, dtype=np.int64)
    out_errs = np.empty(cap, dtype=np.int64)
    out_sums = np.empty(cap if weights is not None else 0)
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
                if weights is not None:  # compiled out without weights
                    total[t] += weights[row]  # one addition at a time, in row order
        sort_prefix(touched, n_touched)
        tags = touched[:n_touched]
        if n_out + n_touched > cap:
            cap = max(2 * cap, n_out + n_touched)
            out_group = grow(out_group, cap)
            out_tag = grow(out_tag, cap)
            out_size = grow(out_size, cap)
            out_errs = grow(out_errs, cap)
            if weights is not None:
                out_sums = grow(out_sums, cap)
        for t in tags:
            out_group[n_out] = g
            out_tag[n_out] = t
            out_size[n_out] = size[t]
            out_errs[n_out] = errs[t]
            size[t] = 0
            errs[t] = 0
            if weights is not None:
                out_sums[n_out] = total[t]
                total[t] = 0.0
            n_out += 1
    return (
        out_group[:n_out],
        out_tag[:n_out],
        out_size[:n_out],
        out_errs[:n_out],
        out_sums[: n_out if weights is not None else 0],
    )


@jit
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


@jit
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


#: What a row is in the packed bitsets (``row_kind``): a loss (in a
#: failure-mode search, a misclassified sample), a win, or neither.
LOSS, WIN, REST = 0, 1, 2


@inline
def _position(kind, seen, loss_words, win_words):
    """A row's word and bit: ``kind`` :data:`LOSS`, :data:`WIN` or
    :data:`REST`; ``seen`` counts the group's rows of that kind before it."""
    start = 0 if kind == LOSS else (loss_words if kind == WIN else loss_words + win_words)
    return start + (seen >> 6), bit(seen & 63)


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


def sparse_counts(
    indptr: np.ndarray,
    indices: np.ndarray,
    bounds: np.ndarray,
    row_errors: np.ndarray,
    n_tags: int,
    weights: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Each tag's support and errors in each group of a CSR matrix whose rows
    are sorted by group.

    Args:
        indptr, indices: the CSR matrix's arrays (no explicit zeros)
        bounds: group ``g`` holds rows ``bounds[g]:bounds[g + 1]``
        row_errors: per row, whether it is misclassified
        n_tags: the number of tags
        weights (None): per row, a float64 weight (a continuous score's
            value) to sum per entry, one addition at a time in row order

    Returns:
        ``(group, tag, size, errors, sums)``: one entry per tag present in a
        group, sorted by group then tag; ``sums`` the sums of ``weights``
        (``None`` without)
    """
    if weights is not None:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
    *counts, sums = _sparse_counts(
        indptr, indices, bounds.astype(np.int64), row_errors, int(n_tags), weights
    )
    return (*counts, None if weights is None else sums)


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


def pack_sparse(
    indptr: np.ndarray,
    indices: np.ndarray,
    row_starts: np.ndarray,
    sizes: np.ndarray,
    row_kind: np.ndarray,
    column_of: np.ndarray,
    n_tags: int,
    loss_words: int,
    win_words: int,
    out: np.ndarray,
) -> None:
    """Sets the bits of some groups' rows of a CSR matrix in ``out``, in
    three regions: each group's losses fill words ``[0, loss_words)``, its
    wins the next ``win_words`` words, its other rows the words after them,
    each in row order.

    Args:
        indptr, indices: the CSR matrix's arrays
        row_starts, sizes: per group, its first row and number of rows
        row_kind: per row of the matrix, :data:`LOSS`, :data:`WIN` or
            :data:`REST` (int8)
        column_of: ``column_of[g * n_tags + tag]``: the bitset row of the
            group's tag, or -1
        n_tags: the number of tags
        loss_words, win_words: the widths of the loss and win regions
        out: ``(n_cols, width)`` uint64 bitsets, zeroed
    """
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


def pack_dense(
    matrix: np.ndarray,
    row_starts: np.ndarray,
    sizes: np.ndarray,
    row_kind: np.ndarray,
    col_bounds: np.ndarray,
    col_tags: np.ndarray,
    loss_words: int,
    win_words: int,
    out: np.ndarray,
) -> None:
    """:func:`pack_sparse` for a dense bool matrix.

    Args:
        matrix: the ``(n_rows, n_tags)`` bool matrix
        row_starts, sizes, row_kind: as in :func:`pack_sparse`
        col_bounds: group ``g``'s bitset rows are ``col_bounds[g]:col_bounds[g + 1]``
        col_tags: each bitset row's tag
        loss_words, win_words: as in :func:`pack_sparse`
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
