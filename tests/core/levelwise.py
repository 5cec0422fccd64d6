"""The levelwise (Apriori/Eclat) numpy engine: a second oracle for the search.

It was the product's engine where numba was missing; numba is now required,
so it lives here, where it checks the compiled engine's strategy (the
brute force of :mod:`tests.core.oracle` checks the definition). It applies
the definition through :mod:`fiftyone_prime.core.definition` and shares the
layout, the single-tag pass and the packed bitsets with the compiled engine
(:func:`fiftyone_prime.core.engine.search_groups`,
:class:`fiftyone_prime.core.candidates.Chunk`), and serves every score the
compiled engine does (a failure-mode search's accuracy, a regression
search's change): it counts a set's losses, wins and size region by region.

A level is the sorted table of its alive sets, with, for each set, the rows
of its subsets (the set less one tag) in the previous level's table. Level
``k`` extends each alive ``(k-1)``-set ``L`` by the tags ``y`` for which
every ``L - {s} + {y}`` is alive: an AND of the previous level's child
bitmaps, so only candidates whose subsets are all alive are ever built;
where those bitmaps would be too large it falls back to an Apriori join
with a sorted-key lookup. The last level counts first and looks up the
subsets' accuracies (for the gain) only for sets that are large enough and
drop enough. Each level of each group is held in memory, bounded by
:data:`fiftyone_prime.core.engine.MAX_CANDIDATE_BYTES`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import numpy as np

from fiftyone_prime.core import engine as core_engine
from fiftyone_prime.core.candidates import Chunk
from fiftyone_prime.core.definition import (
    PRUNE_SLACK,
    TOLERANCE,
    lowest_score,
    may_extend,
    meets_conditions,
    score,
)
from fiftyone_prime.core.engine import Modes, TooManyCandidates, candidate_bytes
from fiftyone_prime.core.layout import GroupedInput
from fiftyone_prime.core.types import SearchParams

# Words of candidate bitsets intersected per batch (512 KiB per array).
_BATCH_WORDS = 1 << 16

# Candidate sets built per join batch (a few MiB each).
_JOIN_CANDIDATES = 1 << 16

# The most words of child bitmaps a level may use (128 MiB); beyond it the
# level falls back to a join with sorted-key lookups.
_BITMAP_WORDS = 1 << 24


class LevelwiseEngine:
    """The levelwise numpy engine, behind the same seam as the compiled one."""

    name = "levelwise"
    threads = False

    def layout(self, matrix, outcomes, groups) -> GroupedInput:
        return GroupedInput(matrix, outcomes, groups)

    def search_chunk(
        self, data: GroupedInput, bits: Chunk, group_score: np.ndarray, params: SearchParams
    ) -> Modes:
        modes = Modes()
        _search_chunk(_Chunk(bits), data.base, group_score, params, modes)
        return modes


class _Chunk(Chunk):
    """A packed :class:`Chunk` with what the levelwise engine adds: each
    column's group's first column, and for each local tag index x a bitmap
    of the local indices above x."""

    def __init__(self, packed: Chunk):
        self.__dict__.update(packed.__dict__)
        lengths = np.diff(self.col_bounds)
        self.first_col = (np.r_[0, np.cumsum(lengths)[:-1]])[self.local_group].astype(np.int32)
        self.map_words = -(-self.max_cols // 64)
        local = np.arange(self.max_cols)
        above = np.zeros((self.max_cols, self.map_words * 64), dtype=bool)
        above[:, : self.max_cols] = local[None, :] > local[:, None]
        self.above = np.packbits(above, axis=1, bitorder="little").view(np.uint64)

    def count(
        self, sets: np.ndarray, prefix_rows: Optional[np.ndarray] = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Returns the support, losses and wins of each row of ``sets``.

        With ``prefix_rows`` (nondecreasing ids of each set less its last
        tag), the intersection of each distinct prefix in a batch is taken
        once, leaving one AND per set.
        """
        n_sets, k = sets.shape
        width = self.width
        exact = np.float32 if width * 64 < (1 << 24) else np.float64
        weights = np.zeros((width, 3), dtype=exact)
        weights[: self.loss_words, 0] = 1
        weights[self.loss_words : self.loss_words + self.win_words, 1] = 1
        weights[:, 2] = 1
        sizes = np.empty(n_sets, dtype=np.int64)
        errs = np.empty(n_sets, dtype=np.int64)
        wins = np.empty(n_sets, dtype=np.int64)
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
            wins[start : start + len(chunk)] = counts[:, 1]
            sizes[start : start + len(chunk)] = counts[:, 2]
        return sizes, errs, wins


def _judge(
    sizes: np.ndarray,
    errs: np.ndarray,
    wins: np.ndarray,
    base: float,
    floor: np.ndarray,
    group_acc: np.ndarray,
    params: SearchParams,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Applies the definition to sets of ``k`` tags.

    Returns:
        ``(is_mode, alive, score)`` per set; alive sets may have a
        superset that is a mode
    """
    thresholds = (params.min_size, params.min_drop, params.min_gain, TOLERANCE)
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = score(sizes, errs, wins, base)
    is_mode = meets_conditions(sizes, acc, group_acc, floor, *thresholds)
    if k >= params.max_tags:
        return is_mode, np.zeros(len(sizes), dtype=bool), acc
    alive = (sizes >= params.min_size) & may_extend(
        lowest_score(errs, params.min_size, base),
        group_acc,
        np.minimum(acc, floor),
        params.min_drop,
        params.min_gain,
        TOLERANCE,
        PRUNE_SLACK,
    )
    if params.minimal:
        alive &= ~is_mode
    return is_mode, alive, acc


def _search_chunk(
    bits: _Chunk,
    base: float,
    group_acc: np.ndarray,
    params: SearchParams,
    modes: Modes,
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
    col_acc = group_acc[bits.group]
    level = _Level(
        np.arange(bits.n_cols, dtype=np.int32)[:, None], bits.score, bits.errors, None, 0
    )
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
                _last_level(
                    cand, prefix_rows, subsets, level, bits, base, col_acc, params, k, modes
                )
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
            keep = may_extend(
                lowest_score(fewest, params.min_size, base),
                col_acc[cand[:, 0]],
                cand_floor,
                params.min_drop,
                params.min_gain,
                TOLERANCE,
                PRUNE_SLACK,
            )
            if not keep.all():
                cand, sub, cand_floor = cand[keep], sub[:, keep], cand_floor[keep]
            if not len(cand):
                continue
            sizes, errs, wins = bits.count(cand, sub[k - 1])  # sub[k - 1]: less its last tag
            group_score = col_acc[cand[:, 0]]
            is_mode, alive, acc = _judge(
                sizes, errs, wins, base, cand_floor, group_score, params, k
            )
            if is_mode.any():
                found = cand[is_mode]
                modes.add(
                    bits.group[found[:, 0]],
                    bits.tag[found],
                    sizes[is_mode],
                    errs[is_mode],
                    wins[is_mode],
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


def _last_level(cand, prefix_rows, subsets, level, bits, base, col_acc, params, k, modes) -> None:
    """The last level needs only its modes: candidates are counted first,
    and the subsets' scores (for the gain) are looked up only for those
    that are large enough and drop enough."""
    sizes, errs, wins = bits.count(cand, prefix_rows)
    group_acc = col_acc[cand[:, 0]]
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = score(sizes, errs, wins, base)
    # Conditions 1 and 2 (a floor of inf: the gain is checked below).
    maybe = np.flatnonzero(
        meets_conditions(
            sizes, acc, group_acc, np.inf, params.min_size, params.min_drop, 0.0, TOLERANCE
        )
    )
    if not len(maybe):
        return
    sub = subsets(maybe)
    cand_floor = level.floor[sub[0]]
    for i in range(1, k):
        np.minimum(cand_floor, level.floor[sub[i]], out=cand_floor)
    sizes, errs, wins, group_acc = sizes[maybe], errs[maybe], wins[maybe], group_acc[maybe]
    is_mode, _, acc = _judge(sizes, errs, wins, base, cand_floor, group_acc, params, k)
    if is_mode.any():
        found = cand[maybe[is_mode]]
        modes.add(
            bits.group[found[:, 0]],
            bits.tag[found],
            sizes[is_mode],
            errs[is_mode],
            wins[is_mode],
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
    if candidate_bytes(int(per_group[worst]), k) > core_engine.MAX_CANDIDATE_BYTES:
        raise TooManyCandidates(int(per_group[worst]), k, int(bits.chunk[worst]))


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
