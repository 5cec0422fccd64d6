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
    A candidate is not even counted when the fewest errors among its
    subsets already fail that bound (it has at most that many errors).

-   All groups are searched together: one sparse product (a sum per group
    for dense input) gives every tag's support and errors in every group,
    and single tags are judged in one vectorized pass. Larger sets are
    searched over chunks of groups of similar size, whose extendable tags
    are packed 64 samples to a word with each group's misclassified samples
    first, so one AND-and-popcount pass gives a set's size and its errors.

-   A ``k``-set (``k >= 3``) is built from an alive ``(k-1)``-set ``L`` and a
    tag ``y`` only when every ``L - {s} + {y}`` is alive: an AND of the
    previous level's child bitmaps (Eclat-style), so no candidate is built
    to be thrown away, and the rows of its subsets come from ranks in those
    bitmaps. Levels whose bitmaps would be too large fall back to an
    Apriori join with sorted-key lookups.

-   The last level counts first and looks up the subsets' accuracies (for
    the gain) only for sets that are large enough and drop enough.

Those last two points describe the numpy engine. Where numba imports (a
dependency) and ``max_tags <= kernels.MAX_TAGS``, the sets of two or more
tags are searched by the compiled depth-first kernel of
:mod:`fiftyone_prime.core.kernels` instead, on every core; it uses the same
bounds and settles each possible failure mode exactly, so both engines
return the same modes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from . import error_control, exact_family, kernels
from .aliases import MemberIndex
from .arrays import concatenated_ranges
from .significance import Significance, TestedFamily
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

# Words of candidate bitsets intersected per batch (512 KiB per array: small
# enough to stay in cache between the passes over it).
_BATCH_WORDS = 1 << 16

# Nonzeros of the tag matrix scattered into bitsets per pass (~100 MiB of
# work arrays).
_PACK_ELEMENTS = 1 << 21

# Words of bitsets per chunk of groups searched together (8 MiB).
_CHUNK_WORDS = 1 << 20

# Entries of a chunk's (group, tag) -> column map (32 MiB): bounds the
# number of groups in a chunk when the vocabulary is large.
_CHUNK_MAP = 1 << 22

# Candidate sets built per join batch (a few MiB each).
_JOIN_CANDIDATES = 1 << 16

# The most words of child bitmaps a level may use (128 MiB); beyond it the
# level falls back to a join with sorted-key lookups.
_BITMAP_WORDS = 1 << 24

#: The most memory the candidate sets of one level of one group may take
#: (512 MiB: 4.5M sets of 4 tags with their bookkeeping). Real runs stay far
#: below it; thresholds that prune nothing (min_size=1, min_drop=0,
#: min_gain=0, many tags) reach it within seconds, and the search stops
#: there with advice instead of exhausting the machine's memory. The
#: compiled engine, which keeps no level in memory, stops at the same number
#: of sets of a size counted in one group (time, not memory, is its limit).
MAX_CANDIDATE_BYTES = 1 << 29


def _candidate_bytes(count: int, k: int) -> int:
    """Memory of ``count`` candidate ``k``-sets: int32 tags, int64 subset
    rows, and the join's int64 work arrays."""
    return count * (4 * k + 8 * k + 32)


class SearchTooLargeError(ValueError):
    """The thresholds prune too little for the search to finish in memory."""


class _TooManyCandidates(Exception):
    """A group needs more candidate sets of ``k`` tags than the limit:
    ``count`` at once (the numpy engine), or more than ``count`` in all
    (the compiled engine, with ``in_all``)."""

    def __init__(self, count: int, k: int, group: int = 0, in_all: bool = False):
        super().__init__(count, k, group, in_all)
        self.count, self.k, self.group, self.in_all = count, k, group, in_all


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
    error_control: str = DEFAULT_PARAMS.error_control,
) -> list[FailureMode]:
    """Finds the tag sets that satisfy PRIME's failure-mode definition and
    are significant.

    The search is exact: it finds precisely the sets that satisfy the
    definition in this module's docstring. Each one gets an exact p-value,
    an adjusted p-value (a false-discovery q-value by default) and an
    accuracy interval (see :mod:`fiftyone_prime.core.error_control`); with
    ``alpha`` set, those whose adjusted p-value exceeds it are left out
    afterwards. Minimality is decided by the definition alone. The order is
    deterministic (groups sorted; within a group by drop, descending, then
    number of tags, then tag names).

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
        alpha (0.05): the significance level; ``None`` returns every mode
            of the definition, still with its p-values
        error_control ("fdr"): what ``alpha`` bounds: ``"fdr"`` (the
            false-discovery rate), ``"fdr_by"`` (the same under any
            dependence) or ``"fwer"`` (the family-wise error rate); see
            :mod:`fiftyone_prime.core.error_control`. With ``alpha`` set,
            proxies of a stronger mode of the same group are listed as its
            ``aliases`` (:mod:`fiftyone_prime.core.aliases`)

    Returns:
        a list of :class:`FailureMode`

    Raises:
        TypeError: if an argument has the wrong type
        ValueError: if shapes, values or thresholds are invalid
    """
    params = SearchParams(
        min_size=min_size,
        min_drop=min_drop,
        min_gain=min_gain,
        max_tags=max_tags,
        minimal=minimal,
        alpha=alpha,
        error_control=error_control,
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

    data = _Groups(matrix, correct_arr, group_arr, errors_first=not _use_kernels(params))
    family = _tested_family(data, params)
    exact_family.refine(
        family, data.matrix, data.bounds, data.entry_bounds, data.entry_tag, data.entry_size
    )
    try:
        found = _search(data, params).by_group()
    except _TooManyCandidates as e:
        raise _too_large(e, data.labels[e.group], params) from None
    candidates: list[FailureMode] = []
    group_errors: list[int] = []  # per candidate, its group's error count
    for g in sorted(found):
        n_group, num_errors = int(data.sizes[g]), int(data.num_errors[g])
        records = _to_records(found[g], data.labels[g], names, n_group, n_group - num_errors)
        candidates.extend(records)
        group_errors.extend([num_errors] * len(records))
    members = MemberIndex(data.matrix, data.bounds, data.row_errors, data.labels)
    outcome = _test(candidates, np.asarray(group_errors, dtype=np.int64), family, params, members)
    logger.debug(
        "Found %d failure modes (%d left out as not significant)",
        len(outcome.failure_modes),
        outcome.significance.num_not_significant,
    )
    return outcome


def _tested_family(data: _Groups, params: SearchParams) -> TestedFamily:
    """The family of tag sets the search tests, recorded for every group at once."""
    family = TestedFamily(params.min_size, params.max_tags)
    entries = (data.entry_bounds, data.entry_tag, data.entry_size, params.min_size)
    if kernels.AVAILABLE and data.sparse:
        matrix = data.matrix
        per_row = kernels.frequent_per_row(
            matrix.indptr, matrix.indices, data.bounds, *entries, data.n_tags
        )
    elif kernels.AVAILABLE:
        per_row = kernels.dense_frequent_per_row(data.matrix, data.bounds, *entries)
    else:
        per_row = np.zeros(data.matrix.shape[0], dtype=np.int64)
        for g in range(len(data.labels)):
            rows = slice(data.bounds[g], data.bounds[g + 1])
            frequent = data.supports(g) >= params.min_size
            if data.sparse:
                per_row[rows] = data.matrix[rows] @ frequent.astype(np.int64)
            else:
                per_row[rows] = np.count_nonzero(data.matrix[rows][:, frequent], axis=1)
    # Only the supports of the tags present in a group (> 0).
    family.add_groups(per_row, data.bounds, data.entry_size, data.entry_bounds, data.num_errors)
    return family


def _too_large(e: _TooManyCandidates, label, params: SearchParams) -> SearchTooLargeError:
    where = "" if label is None else f" in group {label!r}"
    if e.in_all:
        what = (
            f"The search counted more than {e.count:,} tag sets{where} while building sets "
            f"of {e.k} tags (the limit per group and set size)"
        )
    else:
        what = (
            f"The search would count {e.count:,} candidate sets of {e.k} tags{where} at once "
            f"(about {_candidate_bytes(e.count, e.k) / 2**30:,.1f} GiB; the limit is "
            f"{MAX_CANDIDATE_BYTES / 2**30:g} GiB)"
        )
    return SearchTooLargeError(
        f"{what}: the thresholds prune too little. "
        f"Tighten them: raise min_size (now {params.min_size}), lower max_tags (now "
        f"{params.max_tags}), raise min_drop (now {params.min_drop}) or min_gain (now "
        f"{params.min_gain})" + ("" if params.minimal else ", or keep minimal=True")
    )


def _test(
    candidates: list[FailureMode],
    group_errors: np.ndarray,
    family: TestedFamily,
    params: SearchParams,
    members: Optional[MemberIndex] = None,
) -> SearchOutcome:
    """Adds p-values and intervals to the modes; keeps those the error
    control reports, with proxies as aliases (:mod:`.error_control`)."""
    kept, significance = error_control.control(candidates, group_errors, family, params, members)
    return SearchOutcome(kept, significance, params)


# ------------------------------------------------------------------ the input


class _Groups:
    """The input with its rows sorted by group (misclassified rows first
    within each group, for the numpy engine), and each tag's support and
    errors per group.

    Args:
        matrix, correct, groups: the validated input
        errors_first (True): whether each group's misclassified rows must
            come first (the numpy engine's layout; the compiled kernels read
            ``row_errors`` instead, so rows already in group order are not
            copied)

    Attributes:
        labels: the group labels, sorted (``[None]`` without groups)
        bounds: group ``g`` holds sorted rows ``bounds[g]:bounds[g + 1]``
        matrix: the sorted tag matrix, in the input's kind (array or CSR)
        row_errors: per sorted row, whether it is misclassified
        sparse: whether it is CSR
        sizes, num_errors: samples and misclassified samples per group
        entry_group, entry_tag, entry_size, entry_errors: one entry per
            (group, tag) with the tag present in the group, sorted by group
            then tag: its support and error count in the group
        entry_bounds: group ``g``'s entries are ``entry_bounds[g]:entry_bounds[g + 1]``
    """

    def __init__(
        self,
        matrix: TagMatrix,
        correct: np.ndarray,
        groups: Optional[np.ndarray],
        errors_first: bool = True,
    ):
        n_rows, n_tags = matrix.shape
        if groups is None:
            labels: list = [None]
            codes = np.zeros(n_rows, dtype=np.int64)
        else:
            try:
                unique, codes = np.unique(groups, return_inverse=True)
            except TypeError as e:
                raise TypeError(f"`groups` labels cannot be sorted: {e}") from e
            labels = [u.item() if isinstance(u, np.generic) else u for u in unique]
            codes = codes.ravel().astype(np.int64)
        n_groups = len(labels)
        keys = codes * 2 + correct if errors_first else codes
        in_order = n_rows < 2 or bool(np.all(keys[1:] >= keys[:-1]))
        order = None if in_order else np.argsort(keys, kind="stable")
        self.labels = labels
        self.bounds = np.searchsorted(
            codes if order is None else codes[order], np.arange(n_groups + 1)
        )
        self.sizes = np.diff(self.bounds)
        self.num_errors = np.bincount(codes[~correct], minlength=n_groups).astype(np.int64)
        self.n_tags = n_tags
        self.sparse = sp.issparse(matrix)
        if order is not None:
            matrix = matrix[order]
        elif not self.sparse:
            matrix = np.ascontiguousarray(matrix)  # the kernels read rows
        self.matrix = matrix
        if self.sparse and order is not None:
            self.matrix.sort_indices()
        self.row_errors = ~correct if order is None else ~correct[order]
        if self.sparse:
            self._column_counts(self.row_errors)
        else:
            self._dense_column_counts(self.row_errors)

    def _column_counts(self, sorted_errors: np.ndarray) -> None:
        """Every tag's support and errors in every group: one pass of the
        compiled kernel, or one sparse product each."""
        n_groups, n_rows = len(self.labels), len(sorted_errors)
        if kernels.AVAILABLE:
            self.entry_group, self.entry_tag, self.entry_size, self.entry_errors = (
                kernels.sparse_counts(
                    self.matrix.indptr,
                    self.matrix.indices,
                    self.bounds,
                    sorted_errors,
                    self.n_tags,
                )
            )
            self.entry_bounds = np.searchsorted(self.entry_group, np.arange(n_groups + 1))
            return
        indicator = sp.csr_matrix(
            (np.ones(n_rows, np.int32), np.arange(n_rows), self.bounds),
            shape=(n_groups, n_rows),
        )
        counts = sp.csr_matrix(indicator @ self.matrix)
        counts.sum_duplicates()
        counts.sort_indices()
        counts.eliminate_zeros()
        indicator.data = sorted_errors.astype(np.int32)
        err_counts = sp.csr_matrix(indicator @ self.matrix)
        err_counts.sum_duplicates()
        err_counts.sort_indices()
        err_counts.eliminate_zeros()

        def coords(m):
            rows = np.repeat(np.arange(n_groups, dtype=np.int64), np.diff(m.indptr))
            return rows, m.indices.astype(np.int64), m.data.astype(np.int64)

        self.entry_group, self.entry_tag, self.entry_size = coords(counts)
        self.entry_bounds = counts.indptr.astype(np.int64)
        err_group, err_tag, err_values = coords(err_counts)
        keys = self.entry_group * self.n_tags + self.entry_tag
        self.entry_errors = np.zeros(len(keys), dtype=np.int64)
        self.entry_errors[np.searchsorted(keys, err_group * self.n_tags + err_tag)] = err_values

    def _dense_column_counts(self, sorted_errors: np.ndarray) -> None:
        """The same for a dense matrix: one pass of the compiled kernel, or
        sums over each group's rows (misclassified rows first)."""
        n_groups = len(self.labels)
        if kernels.AVAILABLE:
            sizes, errs = kernels.dense_counts(self.matrix, self.bounds, sorted_errors)
        else:
            sizes, errs = self._dense_sums(n_groups)
        self.entry_group, self.entry_tag = (a.astype(np.int64) for a in np.nonzero(sizes))
        self.entry_size = sizes[self.entry_group, self.entry_tag]
        self.entry_errors = errs[self.entry_group, self.entry_tag]
        self.entry_bounds = np.searchsorted(self.entry_group, np.arange(n_groups + 1))

    def _dense_sums(self, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
        sizes = np.zeros((n_groups, self.n_tags), dtype=np.int64)
        errs = np.zeros((n_groups, self.n_tags), dtype=np.int64)
        for g in range(n_groups):
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            if hi > lo:
                self.matrix[lo:hi].sum(axis=0, dtype=np.int64, out=sizes[g])
                self.matrix[lo : lo + int(self.num_errors[g])].sum(
                    axis=0, dtype=np.int64, out=errs[g]
                )
        return sizes, errs

    def group_tags(self, g: int) -> TagMatrix:
        return self.matrix[self.bounds[g] : self.bounds[g + 1]]

    def supports(self, g: int) -> np.ndarray:
        """Each tag's support in group ``g``, as a dense int64 vector."""
        out = np.zeros(self.n_tags, dtype=np.int64)
        rows = slice(self.entry_bounds[g], self.entry_bounds[g + 1])
        out[self.entry_tag[rows]] = self.entry_size[rows]
        return out


# ----------------------------------------------------------------- the search


class _Modes:
    """Failure modes found, as arrays, one batch per level and chunk."""

    def __init__(self):
        self.batches: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]] = []

    def add(self, groups, tags, sizes, errors, gains) -> None:
        if len(groups):
            self.batches.append((groups, tags, sizes, errors, gains))

    def by_group(self) -> dict[int, list[tuple[np.ndarray, int, int, Optional[float]]]]:
        out: dict[int, list] = {}
        for groups, tags, sizes, errors, gains in self.batches:
            for i in range(len(groups)):
                gain = None if gains is None else float(gains[i])
                out.setdefault(int(groups[i]), []).append(
                    (tags[i], int(sizes[i]), int(errors[i]), gain)
                )
        return out


def _judge(
    sizes: np.ndarray,
    errs: np.ndarray,
    floor: np.ndarray,
    group_acc: np.ndarray,
    params: SearchParams,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Applies the definition to sets of ``k`` tags.

    Returns:
        ``(is_mode, alive, accuracy)`` per set; alive sets may have a
        superset that is a failure mode
    """
    big_enough = sizes >= params.min_size
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = _accuracy(sizes, errs)
    is_mode = (
        big_enough
        & (group_acc - acc >= params.min_drop - TOLERANCE)
        & (floor - acc >= params.min_gain - TOLERANCE)
    )
    if k >= params.max_tags:
        return is_mode, np.zeros(len(sizes), dtype=bool), acc
    # The lowest accuracy any superset with >= min_size samples can reach.
    lowest = np.maximum(0.0, 1.0 - errs / params.min_size)
    allowed = np.minimum(group_acc - params.min_drop, np.minimum(acc, floor) - params.min_gain)
    alive = big_enough & (lowest <= allowed + TOLERANCE + _PRUNE_SLACK)
    if params.minimal:
        alive &= ~is_mode
    return is_mode, alive, acc


def _accuracy(sizes: np.ndarray, errors: np.ndarray) -> np.ndarray:
    return (sizes - errors) / sizes


def _search(data: _Groups, params: SearchParams) -> _Modes:
    """Runs the search on every group; levels >= 2 in chunks of groups."""
    modes = _Modes()
    n_g, e_g = data.sizes, data.num_errors
    with np.errstate(divide="ignore", invalid="ignore"):
        group_acc = (n_g - e_g) / n_g
    eligible = (n_g > 0) & (n_g >= params.min_size) & (group_acc - params.min_drop >= -TOLERANCE)

    # Level 1, every group at once.
    sel = np.flatnonzero(eligible[data.entry_group] & (data.entry_size >= params.min_size))
    groups, tags = data.entry_group[sel], data.entry_tag[sel]
    sizes, errs = data.entry_size[sel], data.entry_errors[sel]
    is_mode, alive, acc = _judge(
        sizes, errs, np.full(len(sel), np.inf), group_acc[groups], params, 1
    )
    modes.add(groups[is_mode], tags[is_mode][:, None], sizes[is_mode], errs[is_mode], None)
    if params.max_tags < 2:
        return modes
    singles = _Singles(groups[alive], tags[alive], sizes[alive], errs[alive], acc[alive])
    chunks = list(_chunks(singles, data, params))
    if not _use_kernels(params):
        for chunk in chunks:
            _search_chunk(data, singles, chunk, group_acc, params, modes)
        return modes

    def search(chunk: np.ndarray) -> _Modes:
        return _search_chunk_compiled(data, singles, chunk, group_acc, params)

    # The compiled kernels release the GIL: chunks run on every core, in order.
    threads = min(len(chunks), _num_threads())
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        for found in pool.map(search, chunks) if pool else map(search, chunks):
            modes.batches.extend(found.batches)
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    return modes


def _use_kernels(params: SearchParams) -> bool:
    """Whether levels >= 2 run in the compiled kernel (else in numpy)."""
    return kernels.AVAILABLE and params.max_tags <= kernels.MAX_TAGS


def _num_threads() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _search_chunk_compiled(
    data: _Groups,
    singles: _Singles,
    chunk: np.ndarray,
    group_acc: np.ndarray,
    params: SearchParams,
) -> _Modes:
    """Levels ``2..max_tags`` for a chunk of groups, in the compiled kernel."""
    modes = _Modes()
    bits = _Chunk(data, singles, chunk, compiled=True)
    col_bounds = np.searchsorted(bits.local_group, np.arange(len(chunk) + 1))
    limits = np.array(
        [MAX_CANDIDATE_BYTES // _candidate_bytes(1, k) for k in range(params.max_tags + 1)]
    )
    err_words, ok_words = _words(data, chunk)
    found_group, cols, sizes, errs, gains, status, where = kernels.search_chunk(
        bits.bits,
        bits.err_words,
        err_words,
        ok_words,
        col_bounds,
        bits.errors,
        bits.acc,
        group_acc[chunk],
        min_size=params.min_size,
        min_drop=params.min_drop,
        min_gain=params.min_gain,
        max_tags=params.max_tags,
        minimal=params.minimal,
        tolerance=TOLERANCE,
        slack=_PRUNE_SLACK,
        limits=limits,
    )
    if status[0] == kernels.TOO_MANY:
        raise _TooManyCandidates(int(limits[status[2]]), int(status[2]), int(chunk[where]), True)
    logger.debug(
        "Chunk of %d groups: counted %s sets of 2, 3, ... tags",
        len(chunk),
        status[kernels.COUNTED + 2 :].tolist(),
    )
    n_tags = (cols >= 0).sum(axis=1)
    for k in np.unique(n_tags).tolist():
        rows = np.flatnonzero(n_tags == k)
        modes.add(
            chunk[found_group[rows]],
            bits.tag[cols[rows, :k]],
            sizes[rows],
            errs[rows],
            gains[rows],
        )
    return modes


@dataclass
class _Singles:
    """The extendable single tags of every group, sorted by group then tag."""

    group: np.ndarray
    tag: np.ndarray
    size: np.ndarray
    errors: np.ndarray
    acc: np.ndarray

    def rows_of(self, g: int) -> slice:
        lo, hi = np.searchsorted(self.group, [g, g + 1])
        return slice(int(lo), int(hi))


def _words(data: _Groups, g) -> tuple[np.ndarray, np.ndarray]:
    """Words of group ``g``'s misclassified and correctly classified rows."""
    errors = data.num_errors[g]
    return -(-errors // 64), -(-(data.sizes[g] - errors) // 64)


def _chunks(singles: _Singles, data: _Groups, params: SearchParams) -> Iterator[np.ndarray]:
    """Groups with two or more extendable tags, in chunks of similar size.

    A chunk's bitsets are padded to its largest group, so groups are taken
    in order of size and a chunk is closed before padding would waste more
    than a quarter; it is also closed at ``_CHUNK_WORDS`` words of bitsets.
    """
    present, counts = np.unique(singles.group, return_counts=True)
    present = present[counts >= 2]
    counts = counts[counts >= 2]
    if not len(present):
        return
    err_words, ok_words = _words(data, present)
    order = np.argsort(err_words + ok_words, kind="stable")
    max_groups = max(1, _CHUNK_MAP // max(1, data.n_tags))
    chunk: list[int] = []
    we = wc = cols = first = 0
    for i in order.tolist():
        new_we, new_wc = max(we, int(err_words[i])), max(wc, int(ok_words[i]))
        width = new_we + new_wc
        if chunk and (
            (cols + int(counts[i])) * width > _CHUNK_WORDS
            or width > max(first * 5 // 4, first + 2)
            or len(chunk) >= max_groups
        ):
            yield np.array(chunk)
            chunk, we, wc, cols = [], 0, 0, 0
            new_we, new_wc = int(err_words[i]), int(ok_words[i])
        if not chunk:
            first = int(err_words[i] + ok_words[i])
        chunk.append(int(present[i]))
        we, wc, cols = new_we, new_wc, cols + int(counts[i])
    if chunk:
        yield np.array(chunk)


class _Chunk:
    """Some groups' extendable tags as bitsets, packed 64 rows to a word.

    Column ``c`` (a local index) is a tag of group ``group[c]``; a group's
    columns are contiguous and in tag order. Each group's misclassified rows
    fill words ``[0, err_words)`` and its other rows words
    ``[err_words, width)``, so one popcount pass gives both counts.
    """

    def __init__(self, data: _Groups, singles: _Singles, chunk: np.ndarray, compiled: bool = False):
        self.compiled = compiled
        parts = [singles.rows_of(int(g)) for g in chunk]
        index = np.concatenate([np.arange(p.start, p.stop) for p in parts])
        self.group = singles.group[index]
        self.tag = singles.tag[index]
        self.size = singles.size[index]
        self.errors = singles.errors[index]
        self.acc = singles.acc[index]
        err_words, ok_words = _words(data, chunk)
        self.err_words = int(err_words.max())
        self.width = self.err_words + int(ok_words.max())
        lengths = [p.stop - p.start for p in parts]
        self.max_cols = max(lengths)
        self.local_group = np.repeat(np.arange(len(chunk)), lengths)  # position in chunk
        self.chunk = chunk
        self.bits = self._pack(data, chunk)
        if compiled:
            return
        # For the numpy engine: each column's group's first column, and for
        # each local tag index x a bitmap of the local indices above x.
        self.first_col = (np.r_[0, np.cumsum(lengths)[:-1]])[self.local_group].astype(np.int32)
        self.map_words = -(-self.max_cols // 64)
        local = np.arange(self.max_cols)
        above = np.zeros((self.max_cols, self.map_words * 64), dtype=bool)
        above[:, : self.max_cols] = local[None, :] > local[:, None]
        self.above = np.packbits(above, axis=1, bitorder="little").view(np.uint64)

    @property
    def n_cols(self) -> int:
        return len(self.group)

    def _pack(self, data: _Groups, chunk: np.ndarray) -> np.ndarray:
        n_cols, width, n_tags = self.n_cols, self.width, data.n_tags
        words = np.zeros(n_cols * width, dtype=np.uint64)
        if not data.sparse:
            return self._pack_dense(data, chunk, words)
        column_of = np.full(len(chunk) * n_tags, -1, dtype=np.int64)
        column_of[self.local_group * n_tags + self.tag] = np.arange(n_cols)
        indptr = data.matrix.indptr
        if self.compiled:
            out = words.reshape(n_cols, width)
            kernels.pack_sparse(
                indptr,
                data.matrix.indices,
                data.bounds[chunk],
                data.sizes[chunk],
                data.row_errors,
                column_of,
                n_tags,
                self.err_words,
                out,
            )
            return out
        pieces = []  # (local group, first row, stop row) with bounded nonzeros
        for i, g in enumerate(chunk.tolist()):
            lo, hi = int(data.bounds[g]), int(data.bounds[g + 1])
            while lo < hi:
                stop = int(np.searchsorted(indptr, indptr[lo] + _PACK_ELEMENTS, side="right")) - 1
                stop = min(hi, max(stop, lo + 1))
                pieces.append((i, lo, stop))
                lo = stop
        batch: list = []
        batch_nnz = 0
        for piece in [*pieces, None]:
            if piece is not None:
                nnz = int(indptr[piece[2]] - indptr[piece[1]])
                if not batch or batch_nnz + nnz <= _PACK_ELEMENTS:
                    batch.append(piece)
                    batch_nnz += nnz
                    continue
            if batch:
                self._pack_rows(data, chunk, batch, column_of, words)
            batch, batch_nnz = (
                ([piece], int(indptr[piece[2]] - indptr[piece[1]]))
                if piece is not None
                else ([], 0)
            )
        return words.reshape(n_cols, width)

    def _pack_rows(self, data, chunk, pieces, column_of, words) -> None:
        local = np.array([p[0] for p in pieces], dtype=np.int64)
        starts = np.array([p[1] for p in pieces], dtype=np.int64)
        stops = np.array([p[2] for p in pieces], dtype=np.int64)
        rows = concatenated_ranges(starts, stops)
        row_local = np.repeat(local, stops - starts)
        groups = chunk[row_local]
        offset = rows - data.bounds[groups]
        errors = data.num_errors[groups]
        is_err = offset < errors
        position = np.where(is_err, offset, offset - errors)
        word = (position >> 6) + np.where(is_err, 0, self.err_words)
        bit = np.left_shift(np.uint64(1), (position & 63).astype(np.uint64))
        indptr = data.matrix.indptr
        counts = indptr[rows + 1] - indptr[rows]
        nonzeros = concatenated_ranges(
            indptr[rows].astype(np.int64), indptr[rows + 1].astype(np.int64)
        )
        row_of = np.repeat(np.arange(len(rows)), counts)
        column = column_of[row_local[row_of] * data.n_tags + data.matrix.indices[nonzeros]]
        hit = column >= 0
        row_of = row_of[hit]
        # Each (column, row) is one distinct bit, so adding is or-ing.
        np.add.at(words, column[hit] * self.width + word[row_of], bit[row_of])

    def _pack_dense(self, data: _Groups, chunk: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Packs a dense matrix's columns group by group."""
        if self.compiled:
            out = words.reshape(self.n_cols, self.width)
            kernels.pack_dense(
                data.matrix,
                data.bounds[chunk],
                data.sizes[chunk],
                data.row_errors,
                np.searchsorted(self.local_group, np.arange(len(chunk) + 1)),
                self.tag,
                self.err_words,
                out,
            )
            return out
        as_bytes = words.view(np.uint8).reshape(self.n_cols, self.width * 8)
        first = 0
        for g in chunk.tolist():
            lo, hi = int(data.bounds[g]), int(data.bounds[g + 1])
            errors = int(data.num_errors[g])
            n_cols = int(np.count_nonzero(self.group == g))
            cols = slice(first, first + n_cols)
            block = data.matrix[lo:hi, self.tag[cols]]
            for rows, offset in ((block[:errors], 0), (block[errors:], self.err_words * 8)):
                if len(rows):
                    packed = np.packbits(rows, axis=0, bitorder="little")
                    as_bytes[cols, offset : offset + packed.shape[0]] = packed.T
            first += n_cols
        return words.reshape(self.n_cols, self.width)

    def count(
        self, sets: np.ndarray, prefix_rows: Optional[np.ndarray] = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Returns the support and error count of each row of ``sets``.

        With ``prefix_rows`` (nondecreasing ids of each set less its last
        tag), the intersection of each distinct prefix in a batch is taken
        once, leaving one AND per set.
        """
        n_sets, k = sets.shape
        width = self.width
        exact = np.float32 if width * 64 < (1 << 24) else np.float64
        weights = np.zeros((width, 2), dtype=exact)
        weights[: self.err_words, 0] = 1
        weights[:, 1] = 1
        sizes = np.empty(n_sets, dtype=np.int64)
        errs = np.empty(n_sets, dtype=np.int64)
        batch = max(1, _BATCH_WORDS // width)
        for start in range(0, n_sets, batch):
            chunk = sets[start : start + batch]
            if prefix_rows is not None and k >= 3:
                rows = prefix_rows[start : start + batch]
                new = np.empty(len(rows), dtype=bool)
                new[0] = True
                np.not_equal(rows[1:], rows[:-1], out=new[1:])
                heads = chunk[new]
                prefix = np.take(self.bits, heads[:, 0], axis=0)
                for j in range(1, k - 1):
                    prefix &= np.take(self.bits, heads[:, j], axis=0)
                inter = np.take(prefix, np.cumsum(new) - 1, axis=0)
                inter &= np.take(self.bits, chunk[:, k - 1], axis=0)
            else:
                inter = np.take(self.bits, chunk[:, 0], axis=0)
                for j in range(1, k):
                    inter &= np.take(self.bits, chunk[:, j], axis=0)
            counts = np.bitwise_count(inter).astype(exact) @ weights
            errs[start : start + len(chunk)] = counts[:, 0]
            sizes[start : start + len(chunk)] = counts[:, 1]
        return sizes, errs


def _search_chunk(
    data: _Groups,
    singles: _Singles,
    chunk: np.ndarray,
    group_acc: np.ndarray,
    params: SearchParams,
    modes: _Modes,
) -> None:
    """Levels ``2..max_tags`` for a chunk of groups.

    A level is the sorted table of its alive sets, with, for each set, the
    rows of its subsets (the set less one tag) in the previous level's
    table. Level ``k`` extends each alive ``(k-1)``-set ``L`` by the tags
    ``y`` for which every ``L - {s} + {y}`` is alive: an AND of the
    previous level's child bitmaps, so only candidates whose subsets are
    all alive are ever built (Eclat-style); where those bitmaps would be
    too large it falls back to an Apriori join with a sorted-key lookup.
    """
    bits = _Chunk(data, singles, chunk)
    col_acc = group_acc[bits.group]
    level = _Level(np.arange(bits.n_cols, dtype=np.int32)[:, None], bits.acc, bits.errors, None, 0)
    k = 2
    while len(level.sets) >= 2 and k <= params.max_tags:
        bitmap_words = max(level.n_prev, len(level.sets)) * bits.map_words
        if k >= 3 and bitmap_words <= _BITMAP_WORDS:
            batches = _extend(level, bits)
        else:
            batches = _join(level, bits)
        next_sets, next_floor, next_errs, next_sub = [], [], [], []
        last = k >= params.max_tags
        for cand, prefix_rows, subsets in batches:
            if last:
                _last_level(cand, prefix_rows, subsets, level, bits, col_acc, params, k, modes)
                continue
            sub = subsets(None)
            cand_floor = level.floor[sub[0]]
            fewest = level.errs[sub[0]]
            for i in range(1, k):
                np.minimum(cand_floor, level.floor[sub[i]], out=cand_floor)
                np.minimum(fewest, level.errs[sub[i]], out=fewest)
            # No superset with >= min_size samples has more errors than any
            # subset: a candidate whose subsets have too few errors for it
            # (or a superset) to reach a failure mode's accuracy is dropped
            # before counting.
            lowest = np.maximum(0.0, 1.0 - fewest / params.min_size)
            allowed = np.minimum(
                col_acc[cand[:, 0]] - params.min_drop, cand_floor - params.min_gain
            )
            keep = lowest <= allowed + TOLERANCE + _PRUNE_SLACK
            if not keep.all():
                cand, sub, cand_floor = cand[keep], sub[:, keep], cand_floor[keep]
            if not len(cand):
                continue
            sizes, errs = bits.count(cand, sub[k - 1])  # sub[k - 1]: the set less its last tag
            is_mode, alive, acc = _judge(sizes, errs, cand_floor, col_acc[cand[:, 0]], params, k)
            if is_mode.any():
                found = cand[is_mode]
                modes.add(
                    bits.group[found[:, 0]],
                    bits.tag[found],
                    sizes[is_mode],
                    errs[is_mode],
                    cand_floor[is_mode] - acc[is_mode],
                )
            if alive.any():
                next_sets.append(cand[alive])
                next_floor.append(np.minimum(acc[alive], cand_floor[alive]))
                next_errs.append(errs[alive])
                next_sub.append(sub[:, alive])
        if not next_sets:
            break
        level = _Level(
            np.concatenate(next_sets),
            np.concatenate(next_floor),
            np.concatenate(next_errs),
            np.concatenate(next_sub, axis=1),
            len(level.sets),
        )
        k += 1


def _last_level(cand, prefix_rows, subsets, level, bits, col_acc, params, k, modes) -> None:
    """The last level needs only its failure modes: candidates are counted
    first, and the subsets' accuracies (for the gain) are looked up only for
    those that are large enough and drop enough."""
    sizes, errs = bits.count(cand, prefix_rows)
    group_acc = col_acc[cand[:, 0]]
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = _accuracy(sizes, errs)
    # The same tests as _judge's first two, on the same values.
    maybe = np.flatnonzero(
        (sizes >= params.min_size) & (group_acc - acc >= params.min_drop - TOLERANCE)
    )
    if not len(maybe):
        return
    sub = subsets(maybe)
    cand_floor = level.floor[sub[0]]
    for i in range(1, k):
        np.minimum(cand_floor, level.floor[sub[i]], out=cand_floor)
    sizes, errs, group_acc = sizes[maybe], errs[maybe], group_acc[maybe]
    is_mode, _, acc = _judge(sizes, errs, cand_floor, group_acc, params, k)
    if is_mode.any():
        found = cand[maybe[is_mode]]
        modes.add(
            bits.group[found[:, 0]],
            bits.tag[found],
            sizes[is_mode],
            errs[is_mode],
            cand_floor[is_mode] - acc[is_mode],
        )


@dataclass
class _Level:
    """The alive sets of one size in a chunk.

    Attributes:
        sets: ``(n, k)`` sorted chunk columns, rows in lexicographic order
        floor: per set, the least accuracy over the set and its subsets
        errs: per set, its number of misclassified samples
        sub: ``(k, n)``: ``sub[i]`` holds the rows in the previous level
            of the sets less their ``i``-th tag (``None`` for single tags)
        n_prev: the number of sets in the previous level
    """

    sets: np.ndarray
    floor: np.ndarray
    errs: np.ndarray
    sub: Optional[np.ndarray]
    n_prev: int


def _check_memory(bits: _Chunk, first_cols: np.ndarray, counts: np.ndarray, k: int) -> None:
    """The memory guard, per group as in a one-group search."""
    per_group = np.bincount(bits.local_group[first_cols], weights=counts, minlength=len(bits.chunk))
    worst = int(np.argmax(per_group))
    if _candidate_bytes(int(per_group[worst]), k) > MAX_CANDIDATE_BYTES:
        raise _TooManyCandidates(int(per_group[worst]), k, int(bits.chunk[worst]))


def _batches(counts: np.ndarray) -> Iterator[tuple[int, int]]:
    """Row ranges whose counts sum to at most ``_JOIN_CANDIDATES`` (or one row)."""
    cumulative = np.cumsum(counts)
    start, n_rows = 0, len(counts)
    while start < n_rows:
        base = int(cumulative[start - 1]) if start else 0
        stop = int(np.searchsorted(cumulative, base + _JOIN_CANDIDATES, side="right"))
        stop = min(n_rows, max(stop, start + 1))
        if cumulative[stop - 1] > base:
            yield start, stop
        start = stop


def _extend(level: _Level, bits: _Chunk) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Candidates of level ``k >= 3`` from child bitmaps.

    Yields:
        ``(candidates, prefix_rows, subsets)`` batches: sorted candidates,
        the row in ``level`` of each less its last tag, and a function
        giving, for the candidates selected by an index (``None``: all),
        the rows of their subsets as :class:`_Level`'s ``sub``
    """
    sets, sub = level.sets, level.sub
    n_sets, width = sets.shape
    k = width + 1
    words = bits.map_words
    # Children of each set of the level before, as bitmaps over the local
    # index of the added tag, and the rank structure that turns a
    # (parent, tag) pair into the child's row.
    prefix = sub[width - 1]  # the set less its last tag
    local = (sets[:, -1] - bits.first_col[sets[:, -1]]).astype(np.int64)
    child = np.zeros(level.n_prev * words, dtype=np.uint64)
    np.add.at(
        child,
        prefix * words + (local >> 6),
        np.left_shift(np.uint64(1), (local & 63).astype(np.uint64)),
    )
    child = child.reshape(level.n_prev, words)
    first_child = np.zeros(level.n_prev + 1, dtype=np.int64)
    np.cumsum(np.bincount(prefix, minlength=level.n_prev), out=first_child[1:])
    rank_base = np.zeros((level.n_prev, words), dtype=np.int64)
    if words > 1:
        np.cumsum(np.bitwise_count(child[:, :-1]), axis=1, out=rank_base[:, 1:])
    rank_base += first_child[:-1, None]

    flat_rank, flat_child = rank_base.ravel(), child.ravel()
    # Extensions of each set L: tags y > max(L) with L - {s} + {y} alive for every s.
    masks = bits.above[local]
    for i in range(width):
        masks &= child[sub[i]]
    counts = np.zeros(n_sets, dtype=np.int64)
    for w in range(words):
        counts += np.bitwise_count(masks[:, w])
    _check_memory(bits, sets[:, 0], counts, k)
    for start, stop in _batches(counts):
        rows, added = _set_bits(masks[start:stop])
        rows += start
        cand = np.empty((len(rows), k), dtype=np.int32)
        cand[:, :width] = sets[rows]
        cand[:, width] = bits.first_col[cand[:, 0]] + added

        def subsets(select, rows=rows, added=added):
            if select is not None:
                rows, added = rows[select], added[select]
            cand_sub = np.empty((k, len(rows)), dtype=np.int64)
            word, bit = added >> 6, (added & 63).astype(np.uint64)
            below = np.left_shift(np.uint64(1), bit) - np.uint64(1)
            for i in range(width):
                at = sub[i][rows] * words + word
                below_at = flat_child[at]
                below_at &= below
                cand_sub[i] = flat_rank[at] + np.bitwise_count(below_at)
            cand_sub[width] = rows
            return cand_sub

        yield cand, rows, subsets


# Per byte value: its number of set bits, and their positions.
_BYTE_COUNTS = np.bitwise_count(np.arange(256, dtype=np.uint8)).astype(np.int64)
_BYTE_BITS = np.array(
    [[b for b in range(8) if v >> b & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
    dtype=np.int64,
)


def _set_bits(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The set bits of ``(n, words)`` bitmaps as ``(row, bit index)``, in order."""
    row_bits = masks.shape[1] * 64
    as_bytes = masks.view(np.uint8).ravel()
    nonzero = np.flatnonzero(as_bytes)
    values = as_bytes[nonzero]
    counts = _BYTE_COUNTS[values]
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    rank = np.arange(total) - np.repeat(starts, counts)
    flat = np.repeat(nonzero * 8, counts) + _BYTE_BITS[np.repeat(values, counts), rank]
    return flat // row_bits, flat % row_bits


def _join(level: _Level, bits: _Chunk) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Apriori join of the level's sorted ``(k-1)``-sets, in batches.

    Two sets sharing their first ``k-2`` tags (for pairs: their group) give
    the candidate ``prefix + (x, y)``; it is kept only if every one of its
    ``(k-1)``-subsets is alive, found by a sorted-key lookup.

    Yields:
        batches as :func:`_extend` does
    """
    parents = level.sets
    n_parents, width = parents.shape
    k = width + 1
    if width == 1:
        new_block = bits.group[parents[1:, 0]] != bits.group[parents[:-1, 0]]
    else:
        new_block = np.any(parents[1:, :-1] != parents[:-1, :-1], axis=1)
    starts = np.flatnonzero(np.r_[True, new_block])
    ends = np.r_[starts[1:], n_parents]
    partners = np.repeat(ends, ends - starts) - np.arange(n_parents) - 1
    _check_memory(bits, parents[:, 0], partners, k)
    finder = _SetFinder(parents, bits.max_cols) if k > 2 else None
    for start, stop in _batches(partners):
        part = partners[start:stop]
        total = int(part.sum())
        left = np.repeat(np.arange(start, stop), part)
        offset = np.arange(total) - np.repeat(np.cumsum(part) - part, part)
        right = left + 1 + offset
        cand = np.empty((total, k), dtype=np.int32)
        cand[:, :width] = parents[left]
        cand[:, width] = parents[right, width - 1]
        sub = np.empty((k, total), dtype=np.int64)
        sub[k - 1], sub[k - 2] = left, right
        keep = np.ones(total, dtype=bool)
        for drop in range(k - 2):
            idx = finder.find(cand, drop)
            keep &= idx >= 0
            sub[drop] = idx
        if not keep.all():
            cand, sub = cand[keep], sub[:, keep]
        yield cand, sub[k - 1], (lambda select, sub=sub: sub if select is None else sub[:, select])


class _SetFinder:
    """Finds rows of sorted integer sets in a lexicographically sorted table.

    All tags of a set belong to one group, whose columns are contiguous, so
    a set is encoded by its first column and the others' offsets from it
    (each below ``span``, the most columns a group has).
    """

    def __init__(self, table: np.ndarray, span: int):
        self._span = max(1, int(span))
        n_cols = int(table.max()) + 1 if table.size else 1
        self._fits = n_cols * self._span ** max(0, table.shape[1] - 1) < (1 << 62)
        if self._fits:
            self._keys = self._encode(table, None)
        else:
            self._lookup = {tuple(row): i for i, row in enumerate(table.tolist())}

    def _encode(self, rows: np.ndarray, drop: Optional[int]) -> np.ndarray:
        cols = [j for j in range(rows.shape[1]) if j != drop]
        first = rows[:, cols[0]].astype(np.int64)
        keys = first.copy()
        for j in cols[1:]:
            keys *= self._span
            keys += rows[:, j] - first - 1
        return keys

    def find(self, rows: np.ndarray, drop: int) -> np.ndarray:
        """Returns the table row of each query row without column ``drop``,
        or -1 where absent."""
        if not self._fits:
            queries = np.delete(rows, drop, axis=1)
            return np.array([self._lookup.get(tuple(r), -1) for r in queries.tolist()], np.int64)
        keys = self._encode(rows, drop)
        pos = np.searchsorted(self._keys, keys)
        pos_clipped = np.minimum(pos, len(self._keys) - 1)
        hit = self._keys[pos_clipped] == keys
        return np.where(hit, pos_clipped, -1)


def _to_records(
    modes: list[tuple[np.ndarray, int, int, Optional[float]]],
    label: Optional[Hashable],
    names: list[str],
    n_group: int,
    group_correct: int,
) -> list[FailureMode]:
    group_acc = group_correct / n_group if n_group else 0.0
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
