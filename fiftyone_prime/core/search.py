"""Exact search for PRIME's failure modes: minimal tag sets that drop accuracy.

For a group ``g`` (a ground-truth class) with ``n_g`` samples and accuracy
``acc_g``, a tag set ``T`` with ``1 <= |T| <= max_tags`` is a failure mode iff

1. ``n_T >= min_size``, where ``n_T`` counts the samples of ``g`` carrying
   every tag of ``T``;
2. ``acc_g - acc_T >= min_drop``;
3. ``acc_U - acc_T >= min_gain`` for every nonempty proper subset ``U`` of
   ``T`` (every tag is needed);
4. with ``minimal=True``: no nonempty proper subset of ``T`` is itself a
   failure mode.

Comparisons are ``>=`` with a ``1e-9`` tolerance.

How the search stays exact and fast:

-   Levelwise (Apriori-style) enumeration: a ``k``-set is counted only when
    all of its ``(k-1)``-subsets are *alive*, i.e. not provably unable to be
    part of a failure mode. A set stops being alive when

    -   its support is below ``min_size`` (support is anti-monotone);
    -   it cannot reach the accuracy a superset needs: a superset ``T'`` with
        ``n_T' >= min_size`` has at most ``errors(T)`` errors, so
        ``acc_T' >= 1 - errors(T) / min_size``; if that bound exceeds both
        ``acc_g - min_drop`` and ``min(acc_T, acc of T's subsets) - min_gain``
        allowance, no superset qualifies;
    -   it is a failure mode and ``minimal=True`` (its supersets are not
        minimal);
    -   it already has ``max_tags`` tags.

    Every proper subset of a failure mode is alive, so nothing is missed.

-   Pairs are counted in one co-occurrence product (sparse or BLAS), larger
    sets on packed bitsets (64 samples per word) with popcounts, in batches.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any, Hashable, Iterator, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from .significance import (
    PROCEDURE,
    Significance,
    TestedFamily,
    accuracy_intervals,
    fisher_p_values,
)
from .types import DEFAULT_PARAMS, FailureMode, SearchParams
from .validation import (
    TagMatrix,
    validate_correct,
    validate_groups,
    validate_tag_names,
    validate_tags,
)

logger = logging.getLogger(__name__)

#: Tolerance of every threshold comparison: a value exactly at a threshold counts.
TOLERANCE = 1e-9

# Extra slack for pruning only, so that float rounding never prunes a set
# whose exact bound sits at the threshold.
_PRUNE_SLACK = 1e-12

# Sparse groups whose extendable columns fit in this many elements are made
# dense (16M elements: 16 MiB of bools, 64 MiB as float32 for the product).
_DENSE_ELEMENTS = 1 << 24

# Target number of uint64 words handled per bitset batch (32 MiB).
_BATCH_WORDS = 1 << 22

# Rows of a sparse group made dense at a time while packing bitsets (64 MiB).
_PACK_ELEMENTS = 1 << 26

#: The most memory the candidate sets of one level of one group may take
#: (512 MiB: 4.5M sets of 4 tags with their bookkeeping). Real runs stay far
#: below it; thresholds that prune nothing (min_size=1, min_drop=0,
#: min_gain=0, many tags) reach it within seconds, and the search stops
#: there with advice instead of exhausting the machine's memory.
MAX_CANDIDATE_BYTES = 1 << 29


def _candidate_bytes(count: int, k: int) -> int:
    """Memory of ``count`` candidate ``k``-sets: int32 tags, int64 subset
    rows, and the join's int64 work arrays."""
    return count * (4 * k + 8 * k + 32)


class SearchTooLargeError(ValueError):
    """The thresholds prune too little for the search to finish in memory."""


class _TooManyCandidates(Exception):
    def __init__(self, count: int, k: int):
        super().__init__(count, k)
        self.count, self.k = count, k


@dataclass(frozen=True)
class SearchOutcome:
    """What a search found and how it was tested.

    Attributes:
        failure_modes: the significant failure modes (all modes of the
            definition when ``alpha`` is ``None``), in the search's order
        significance: a :class:`Significance`
        params: the :class:`SearchParams` used
    """

    failure_modes: list[FailureMode]
    significance: Significance
    params: SearchParams


def find_failure_modes(
    tags: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    min_size: int = DEFAULT_PARAMS.min_size,
    min_drop: float = DEFAULT_PARAMS.min_drop,
    min_gain: float = DEFAULT_PARAMS.min_gain,
    max_tags: int = DEFAULT_PARAMS.max_tags,
    minimal: bool = DEFAULT_PARAMS.minimal,
    alpha: Optional[float] = DEFAULT_PARAMS.alpha,
) -> list[FailureMode]:
    """Finds the tag sets that satisfy PRIME's failure-mode definition and
    are significant.

    The search is exact: it finds precisely the sets that satisfy the
    definition in this module's docstring. Each one gets an exact p-value,
    a family-wise adjusted p-value and an accuracy interval (see
    :mod:`fiftyone_prime.core.significance`); with ``alpha`` set, those
    whose adjusted p-value exceeds it are left out afterwards. Minimality
    is decided by the definition alone. The order is deterministic (groups
    sorted; within a group by drop, descending, then number of tags, then
    tag names).

    Args:
        tags: a ``(n_samples, n_tags)`` boolean numpy array or scipy sparse
            matrix; entry ``(i, j)`` says whether sample ``i`` carries tag
            ``j``. 0/1 numeric values are accepted
        correct: a ``(n_samples,)`` boolean array, whether the classifier got
            each sample right
        groups (None): a ``(n_samples,)`` array of group labels (class names
            or ids); ``None`` searches all samples as one group
        tag_names (None): a name per tag column; defaults to the column
            indices as strings
        min_size (30): the least number of samples in a failure mode
        min_drop (0.2): the least accuracy drop against the group's accuracy
        min_gain (0.1): the least gain in accuracy from removing any
            nonempty subset of the tags
        max_tags (3): the largest number of tags in a failure mode
        minimal (True): whether to leave out sets that contain a smaller
            failure mode
        alpha (0.05): the family-wise significance level; ``None`` returns
            every mode of the definition, still with its p-values

    Returns:
        a list of :class:`FailureMode`

    Raises:
        TypeError: if an argument has the wrong type
        ValueError: if shapes, values or thresholds are invalid
    """
    params = SearchParams(
        min_size=min_size, min_drop=min_drop, min_gain=min_gain, max_tags=max_tags,
        minimal=minimal, alpha=alpha,
    )
    return run_search(tags, correct, groups, tag_names=tag_names, params=params).failure_modes


def run_search(
    tags: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    params: SearchParams = DEFAULT_PARAMS,
) -> SearchOutcome:
    """:func:`find_failure_modes` with its parameters as one object; also
    returns how the modes were tested.

    Args:
        tags, correct, groups, tag_names: as in :func:`find_failure_modes`
        params (the defaults): a :class:`SearchParams`

    Returns:
        a :class:`SearchOutcome`
    """
    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    matrix = validate_tags(tags)
    n_samples, n_tags = matrix.shape
    correct_arr = validate_correct(correct, n_samples)
    group_arr = validate_groups(groups, n_samples)
    names = validate_tag_names(tag_names, n_tags)

    family = TestedFamily(params.min_size, params.max_tags)
    candidates: list[FailureMode] = []
    group_errors: list[int] = []  # per candidate, its group's error count
    for label, group_tags, group_correct in _split_groups(matrix, correct_arr, group_arr):
        errors = ~group_correct
        num_errors = int(errors.sum())
        sizes, errs = _column_counts(group_tags, errors)
        family.add_group(group_tags, sizes, num_errors)
        try:
            modes = _search_group(group_tags, errors, params, sizes, errs)
        except _TooManyCandidates as e:
            raise _too_large(e, label, params) from None
        candidates.extend(_to_records(modes, label, names, group_correct))
        group_errors.extend([num_errors] * len(modes))
    outcome = _test(candidates, np.asarray(group_errors, dtype=np.int64), family, params)
    logger.debug(
        "Found %d failure modes (%d left out as not significant)",
        len(outcome.failure_modes), outcome.significance.num_not_significant,
    )
    return outcome


def _too_large(e: _TooManyCandidates, label, params: SearchParams) -> SearchTooLargeError:
    where = "" if label is None else f" in group {label!r}"
    return SearchTooLargeError(
        f"The search would count {e.count:,} candidate sets of {e.k} tags{where} at once "
        f"(about {_candidate_bytes(e.count, e.k) / 2**30:,.1f} GiB; the limit is "
        f"{MAX_CANDIDATE_BYTES / 2**30:g} GiB): the thresholds prune too little. "
        f"Tighten them: raise min_size (now {params.min_size}), lower max_tags (now "
        f"{params.max_tags}), raise min_drop (now {params.min_drop}) or min_gain (now "
        f"{params.min_gain})" + ("" if params.minimal else ", or keep minimal=True")
    )


def _test(
    candidates: list[FailureMode],
    group_errors: np.ndarray,
    family: TestedFamily,
    params: SearchParams,
) -> SearchOutcome:
    """Adds p-values and intervals to the modes; keeps the significant ones."""
    if candidates:
        sizes = np.array([m.size for m in candidates])
        correct = np.array([m.num_correct for m in candidates])
        group_sizes = np.array([m.group_size for m in candidates])
        p = fisher_p_values(sizes, sizes - correct, group_sizes, group_errors)
        adjusted = family.adjust(p)
        low, high = accuracy_intervals(correct, sizes)
        candidates = [
            dataclasses.replace(
                m, p_value=float(p[i]), adjusted_p_value=float(adjusted[i]),
                accuracy_ci=(float(low[i]), float(high[i])),
            )
            for i, m in enumerate(candidates)
        ]
    alpha = params.alpha
    kept = candidates if alpha is None else [m for m in candidates if m.adjusted_p_value <= alpha]
    significance = Significance(
        procedure=PROCEDURE,
        alpha=alpha,
        family_size=family.size,
        corrected_level=None if alpha is None else family.corrected_level(alpha),
        num_candidates=len(candidates),
        num_not_significant=len(candidates) - len(kept),
    )
    return SearchOutcome(kept, significance, params)


def _split_groups(
    matrix: TagMatrix, correct: np.ndarray, groups: Optional[np.ndarray]
) -> Iterator[tuple[Optional[Hashable], TagMatrix, np.ndarray]]:
    """Yields ``(label, tags, correct)`` per group, groups in sorted order."""
    if groups is None:
        yield None, matrix, correct
        return
    try:
        labels, codes = np.unique(groups, return_inverse=True)
    except TypeError as e:
        raise TypeError(f"`groups` labels cannot be sorted: {e}") from e
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    sorted_matrix = matrix[order]
    sorted_correct = correct[order]
    for i, label in enumerate(labels):
        rows = slice(bounds[i], bounds[i + 1])
        label = label.item() if isinstance(label, np.generic) else label
        yield label, sorted_matrix[rows], sorted_correct[rows]


class _Level:
    """The sets of one size that a group's search evaluated.

    Attributes:
        sets: ``(n, k)`` int array of sorted tag indices, rows in
            lexicographic order
        sizes: the support of each set
        errors: the number of misclassified samples of each set
        floor: for each set, the least accuracy over the set and all its
            nonempty subsets (what a superset must stay ``min_gain`` below)
    """

    def __init__(self, sets, sizes, errors, floor):
        self.sets = sets
        self.sizes = sizes
        self.errors = errors
        self.floor = floor


def _search_group(
    group_tags: TagMatrix,
    errors: np.ndarray,
    params: SearchParams,
    sizes: np.ndarray,
    errs: np.ndarray,
) -> list[tuple[np.ndarray, int, int, Optional[float]]]:
    """Runs the search on one group, given each tag's support and errors in it.

    Returns:
        a list of ``(column indices, size, num_errors, gain)`` per failure mode
    """
    n_group = group_tags.shape[0]
    if n_group == 0 or n_group < params.min_size:
        return []
    group_acc = (n_group - int(errors.sum())) / n_group
    if group_acc - params.min_drop < -TOLERANCE:
        return []  # no subset can drop that far below the group's accuracy

    found: list[tuple[np.ndarray, int, int, Optional[float]]] = []

    # Level 1: every tag column.
    frequent = np.flatnonzero(sizes >= params.min_size)
    level = _Level(
        frequent[:, None],
        sizes[frequent],
        errs[frequent],
        np.full(len(frequent), np.inf),
    )
    alive = _evaluate(level, group_acc, params, 1, found)
    singles = frequent[alive]  # tag columns that can still be extended
    if params.max_tags < 2 or len(singles) < 2:
        return found

    # Levels >= 2 work in the local index space of the extendable singles.
    local_tags = _select_columns(group_tags, singles)
    single_acc = _accuracy(level.sizes[alive], level.errors[alive])
    level = _pair_level(local_tags, errors, single_acc, params.min_size)
    bitsets = None
    k = 2
    while len(level.sets):
        alive = _evaluate(level, group_acc, params, k, found, column_map=singles)
        if not alive.any():
            break
        parents = _Level(
            level.sets[alive],
            level.sizes[alive],
            level.errors[alive],
            np.minimum(_accuracy(level.sizes[alive], level.errors[alive]), level.floor[alive]),
        )
        if bitsets is None:
            bitsets = _Bitsets(local_tags, errors)
        level = _next_level(parents, bitsets, params.min_size)
        k += 1
    return found


def _accuracy(sizes: np.ndarray, errors: np.ndarray) -> np.ndarray:
    return (sizes - errors) / sizes


def _evaluate(
    level: _Level,
    group_acc: float,
    params: SearchParams,
    k: int,
    found: list,
    column_map: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Records the failure modes of a level; returns the mask of alive sets."""
    sizes, errs, floor = level.sizes, level.errors, level.floor
    big_enough = sizes >= params.min_size
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = _accuracy(sizes, errs)
    is_mode = (
        big_enough
        & (group_acc - acc >= params.min_drop - TOLERANCE)
        & (floor - acc >= params.min_gain - TOLERANCE)
    )
    for i in np.flatnonzero(is_mode):
        cols = level.sets[i] if column_map is None else column_map[level.sets[i]]
        gain = None if k == 1 else float(floor[i] - acc[i])
        found.append((cols, int(sizes[i]), int(errs[i]), gain))

    if k >= params.max_tags:
        return np.zeros(len(sizes), dtype=bool)
    # The lowest accuracy any superset with >= min_size samples can reach.
    lowest = np.maximum(0.0, 1.0 - errs / params.min_size)
    allowed = np.minimum(
        group_acc - params.min_drop, np.minimum(acc, floor) - params.min_gain
    )
    alive = big_enough & (lowest <= allowed + TOLERANCE + _PRUNE_SLACK)
    if params.minimal:
        alive &= ~is_mode
    return alive


def _column_counts(group_tags: TagMatrix, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns each tag's support and error count within the group."""
    if sp.issparse(group_tags):
        sizes = np.asarray(group_tags.sum(axis=0, dtype=np.int64)).ravel()
        errs = np.asarray(group_tags[errors].sum(axis=0, dtype=np.int64)).ravel()
    else:
        sizes = group_tags.sum(axis=0, dtype=np.int64)
        errs = group_tags[errors].sum(axis=0, dtype=np.int64)
    return sizes, errs


def _select_columns(group_tags: TagMatrix, columns: np.ndarray) -> TagMatrix:
    """The group's extendable columns: dense when small (BLAS beats sparse
    bookkeeping there), sparse otherwise."""
    if sp.issparse(group_tags):
        selected = sp.csc_matrix(group_tags[:, columns])
        if selected.shape[0] * selected.shape[1] <= _DENSE_ELEMENTS:
            return selected.toarray()
        return selected
    return np.ascontiguousarray(group_tags[:, columns])


def _pair_level(
    local_tags: TagMatrix, errors: np.ndarray, single_acc: np.ndarray, min_size: int
) -> _Level:
    """Counts every pair of columns with one co-occurrence product."""
    n_rows, n_cols = local_tags.shape
    if sp.issparse(local_tags):
        as_int = local_tags.astype(np.int32)
        cooc = sp.triu(as_int.T @ as_int, k=1).tocoo()
        keep = cooc.data >= min_size
        rows, cols, sizes = cooc.row[keep], cooc.col[keep], cooc.data[keep].astype(np.int64)
        err_tags = as_int[errors]
        err_cooc = sp.csr_matrix(err_tags.T @ err_tags)
        errs = np.zeros(len(rows), dtype=np.int64)
        if len(rows):
            errs[:] = np.asarray(err_cooc[rows, cols]).ravel()
        order = np.lexsort((cols, rows))
        rows, cols, sizes, errs = rows[order], cols[order], sizes[order], errs[order]
    else:
        dtype = np.float32 if n_rows < (1 << 24) else np.float64  # exact integer sums
        dense = local_tags.astype(dtype)
        err_dense = dense[errors]
        cooc = dense.T @ dense
        err_cooc = err_dense.T @ err_dense
        rows, cols = np.triu_indices(n_cols, k=1)
        pair_sizes = cooc[rows, cols]
        keep = pair_sizes >= min_size
        rows, cols = rows[keep], cols[keep]
        sizes = np.rint(pair_sizes[keep]).astype(np.int64)
        errs = np.rint(err_cooc[rows, cols]).astype(np.int64)
    sets = np.stack([rows, cols], axis=1).astype(np.int32)
    floor = np.minimum(single_acc[rows], single_acc[cols])
    return _Level(sets, sizes, errs, floor)


class _Bitsets:
    """The group's tag columns and error flags packed 64 samples per word."""

    def __init__(self, local_tags: TagMatrix, errors: np.ndarray):
        n_rows, n_cols = local_tags.shape
        n_words = max(1, math.ceil(n_rows / 64))
        packed = np.zeros((n_cols, n_words * 8), dtype=np.uint8)
        # Pack in row blocks so a sparse group never becomes one dense matrix.
        block = max(64, _PACK_ELEMENTS // max(1, n_cols) // 64 * 64)
        for start in range(0, n_rows, block):
            stop = min(n_rows, start + block)
            chunk = local_tags[start:stop]
            chunk = chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk)
            bytes_ = np.packbits(chunk, axis=0, bitorder="little")  # (rows/8, cols)
            packed[:, start // 8 : start // 8 + bytes_.shape[0]] = bytes_.T
        self.tags = packed.view(np.uint64)
        err_bytes = np.zeros(n_words * 8, dtype=np.uint8)
        err_packed = np.packbits(errors, bitorder="little")
        err_bytes[: len(err_packed)] = err_packed
        self.errors = err_bytes.view(np.uint64)

    @property
    def n_words(self) -> int:
        return self.tags.shape[1]

    def count(self, sets: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns the support and error count of each row of ``sets``.

        Error counts are computed only for sets with ``>= min_size`` samples
        (others get 0: they are discarded anyway).
        """
        n_sets = len(sets)
        sizes = np.zeros(n_sets, dtype=np.int64)
        errs = np.zeros(n_sets, dtype=np.int64)
        batch = max(1, _BATCH_WORDS // self.n_words)
        for start in range(0, n_sets, batch):
            chunk = sets[start : start + batch]
            inter = self.tags[chunk[:, 0]]
            for j in range(1, chunk.shape[1]):
                inter &= self.tags[chunk[:, j]]
            chunk_sizes = np.bitwise_count(inter).sum(axis=1, dtype=np.int64)
            sizes[start : start + len(chunk)] = chunk_sizes
            big = np.flatnonzero(chunk_sizes >= min_size)
            if len(big):
                hit = inter[big] & self.errors
                errs[start + big] = np.bitwise_count(hit).sum(axis=1, dtype=np.int64)
        return sizes, errs


def _next_level(parents: _Level, bitsets: _Bitsets, min_size: int) -> _Level:
    """Builds the ``k``-sets all of whose ``(k-1)``-subsets are alive, and counts them."""
    sets, subset_index = _join_candidates(parents.sets)
    if len(sets) == 0:
        return _Level(sets, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    sizes, errs = bitsets.count(sets, min_size)
    floor = parents.floor[subset_index].min(axis=1)
    keep = sizes >= min_size
    return _Level(sets[keep], sizes[keep], errs[keep], floor[keep])


def _join_candidates(parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apriori join of lexicographically sorted ``(k-1)``-sets.

    Two parents sharing their first ``k-2`` tags give the candidate
    ``prefix + (x, y)``. A candidate is kept only if every one of its
    ``(k-1)``-subsets is among the parents.

    Returns:
        ``(candidates, subset_index)``: the sorted ``(n, k)`` candidates and,
        for each, the parent row of each of its ``k`` subsets of size ``k-1``
    """
    n_parents, width = parents.shape
    k = width + 1
    empty = (np.zeros((0, k), np.int32), np.zeros((0, k), np.int64))
    if n_parents < 2:
        return empty
    prefix = parents[:, :-1]
    starts_block = np.r_[True, np.any(prefix[1:] != prefix[:-1], axis=1)]
    starts = np.flatnonzero(starts_block)
    ends = np.r_[starts[1:], n_parents]
    block_end = np.repeat(ends, ends - starts)
    partners = block_end - np.arange(n_parents) - 1
    total = int(partners.sum())
    if total == 0:
        return empty
    if _candidate_bytes(total, k) > MAX_CANDIDATE_BYTES:
        raise _TooManyCandidates(total, k)
    left = np.repeat(np.arange(n_parents), partners)
    offset = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    right = left + 1 + offset
    candidates = np.concatenate([parents[left], parents[right, -1:]], axis=1)

    subset_index = np.empty((total, k), dtype=np.int64)
    subset_index[:, k - 1] = left  # drop the last tag
    subset_index[:, k - 2] = right  # drop the second to last tag
    keep = np.ones(total, dtype=bool)
    if k > 2:
        finder = _SetFinder(parents)
        for drop in range(k - 2):
            idx = finder.find(np.delete(candidates, drop, axis=1))
            keep &= idx >= 0
            subset_index[:, drop] = idx
    return candidates[keep], subset_index[keep]


class _SetFinder:
    """Finds rows of sorted integer sets in a lexicographically sorted table."""

    def __init__(self, table: np.ndarray):
        self._base = int(table.max()) + 1 if table.size else 1
        self._fits = self._base ** table.shape[1] < (1 << 62)
        if self._fits:
            self._keys = self._encode(table)
        else:
            self._lookup = {tuple(row): i for i, row in enumerate(table.tolist())}

    def _encode(self, rows: np.ndarray) -> np.ndarray:
        keys = np.zeros(len(rows), dtype=np.int64)
        for j in range(rows.shape[1]):
            keys = keys * self._base + rows[:, j]
        return keys

    def find(self, rows: np.ndarray) -> np.ndarray:
        """Returns the table row of each query row, or -1 where absent."""
        if not self._fits:
            return np.array([self._lookup.get(tuple(r), -1) for r in rows.tolist()], np.int64)
        keys = self._encode(rows)
        pos = np.searchsorted(self._keys, keys)
        pos_clipped = np.minimum(pos, len(self._keys) - 1)
        hit = self._keys[pos_clipped] == keys
        return np.where(hit, pos_clipped, -1)


def _to_records(
    modes: list[tuple[np.ndarray, int, int, Optional[float]]],
    label: Optional[Hashable],
    names: list[str],
    group_correct: np.ndarray,
) -> list[FailureMode]:
    n_group = len(group_correct)
    group_acc = float(group_correct.sum()) / n_group if n_group else 0.0
    records = []
    for cols, size, errs, gain in modes:
        pairs = sorted((names[c], int(c)) for c in cols)
        num_correct = size - errs
        accuracy = num_correct / size
        records.append(
            FailureMode(
                group=label,
                tags=tuple(p[0] for p in pairs),
                tag_indices=tuple(p[1] for p in pairs),
                size=size,
                num_correct=num_correct,
                accuracy=accuracy,
                group_size=n_group,
                group_accuracy=group_acc,
                drop=group_acc - accuracy,
                gain=gain,
            )
        )
    records.sort(key=lambda r: (-r.drop, len(r.tags), r.tags))
    return records
