"""The engine seam: which engine searches, and the driver every engine shares.

An engine turns the validated input into its layout
(:meth:`Engine.layout`) and searches the sets of two or more tags of a
chunk of groups (:meth:`Engine.search_chunk`). The driver,
:func:`search_groups`, judges the single tags of every group at once, cuts
the groups into chunks and runs the engine on each, on a thread pool where
the engine allows it.

:func:`select_engine` is the one place that chooses an engine. The product
ships one, :class:`CompiledEngine` (numba; with ``NUMBA_DISABLE_JIT=1`` its
kernels run as Python, with the same results); the tests add a levelwise
numpy engine as a second oracle (``tests/core/levelwise.py``).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Protocol, Union

import numpy as np

from . import kernels
from .candidates import Chunk, Singles, chunks, words
from .defaults import MAX_TAGS_LIMIT
from .definition import (
    PRUNE_SLACK,
    TOLERANCE,
    accuracy,
    lowest_reachable,
    may_extend,
    meets_conditions,
)
from .groups import CodedGroups
from .layout import GroupedInput
from .types import SearchParams
from .validation import TagMatrix

logger = logging.getLogger(__name__)

#: The most memory the candidate sets of one level of one group may take
#: (512 MiB: 4.5M sets of 4 tags with their bookkeeping), for an engine that
#: keeps a level in memory. Thresholds that prune nothing (min_size=1,
#: min_drop=0, min_gain=0, many tags) reach it within seconds, and the
#: search stops there with advice. The compiled engine, which keeps no
#: level in memory, stops at the same number of sets of a size counted in
#: one group (time, not memory, is its limit).
MAX_CANDIDATE_BYTES = 1 << 29


def candidate_bytes(count: int, k: int) -> int:
    """Memory of ``count`` candidate ``k``-sets: int32 tags, int64 subset
    rows, and a levelwise join's int64 work arrays."""
    return count * (4 * k + 8 * k + 32)


class TooManyCandidates(Exception):
    """A group needs more candidate sets of ``k`` tags than the limit:
    ``count`` at once (an engine keeping levels), or more than ``count`` in
    all (the compiled engine, with ``in_all``).

    Args:
        count: the number of sets
        k: their number of tags
        group (0): the group (index) where the limit was passed
        in_all (False): whether ``count`` sets were counted in all
    """

    def __init__(self, count: int, k: int, group: int = 0, in_all: bool = False):
        super().__init__(count, k, group, in_all)
        self.count, self.k, self.group, self.in_all = count, k, group, in_all


class Modes:
    """Failure modes found, as arrays, one batch per level and chunk."""

    def __init__(self):
        self.batches: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]] = []

    def add(self, groups, tags, sizes, errors, gains) -> None:
        """Adds a batch: per mode its group (index), tag columns (one row
        per mode), size, errors and gain (``None`` for single tags)."""
        if len(groups):
            self.batches.append((groups, tags, sizes, errors, gains))

    def extend(self, other: Modes) -> None:
        """Adds another's batches."""
        self.batches.extend(other.batches)

    def by_group(self) -> dict[int, list[tuple[np.ndarray, int, int, Optional[float]]]]:
        """The modes per group: ``(tag columns, size, errors, gain)`` each."""
        out: dict[int, list] = {}
        for groups, tags, sizes, errors, gains in self.batches:
            for i in range(len(groups)):
                gain = None if gains is None else float(gains[i])
                out.setdefault(int(groups[i]), []).append(
                    (tags[i], int(sizes[i]), int(errors[i]), gain)
                )
        return out


class Engine(Protocol):
    """What an engine provides.

    Attributes:
        name: a short name, for logs and tests
        threads: whether chunks may run on a thread pool (the engine
            releases the GIL)
    """

    name: str
    threads: bool

    def layout(
        self, matrix: TagMatrix, correct: np.ndarray, groups: Union[np.ndarray, CodedGroups, None]
    ) -> GroupedInput:
        """The input in the engine's layout."""
        ...

    def search_chunk(
        self,
        data: GroupedInput,
        singles: Singles,
        chunk: np.ndarray,
        group_acc: np.ndarray,
        params: SearchParams,
    ) -> Modes:
        """The failure modes of ``2..max_tags`` tags of a chunk of groups.

        Raises:
            TooManyCandidates: when a group passes the engine's limit
        """
        ...


class CompiledEngine:
    """The depth-first search of :mod:`fiftyone_prime.core.kernels`."""

    name = "compiled"
    threads = True

    def layout(
        self, matrix: TagMatrix, correct: np.ndarray, groups: Union[np.ndarray, CodedGroups, None]
    ) -> GroupedInput:
        """Rows sorted by group only: the kernels read each row's error flag."""
        return GroupedInput(matrix, correct, groups)

    def search_chunk(
        self,
        data: GroupedInput,
        singles: Singles,
        chunk: np.ndarray,
        group_acc: np.ndarray,
        params: SearchParams,
    ) -> Modes:
        """Levels ``2..max_tags`` for a chunk of groups, in the compiled kernel."""
        modes = Modes()
        bits = Chunk(data, singles, chunk)
        limits = np.array(
            [MAX_CANDIDATE_BYTES // candidate_bytes(1, k) for k in range(params.max_tags + 1)]
        )
        err_words, ok_words = words(data, chunk)
        found_group, cols, sizes, errs, gains, status, where = kernels.search_chunk(
            bits.bits,
            bits.err_words,
            err_words,
            ok_words,
            bits.col_bounds,
            bits.errors,
            bits.acc,
            group_acc[chunk],
            min_size=params.min_size,
            min_drop=params.min_drop,
            min_gain=params.min_gain,
            max_tags=params.max_tags,
            minimal=params.minimal,
            tolerance=TOLERANCE,
            slack=PRUNE_SLACK,
            limits=limits,
        )
        if status[0] == kernels.TOO_MANY:
            raise TooManyCandidates(int(limits[status[2]]), int(status[2]), int(chunk[where]), True)
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


_COMPILED = CompiledEngine()


def select_engine(params: SearchParams) -> Engine:
    """The engine that searches with ``params``: the one place that chooses.

    Args:
        params: the search parameters

    Returns:
        an :class:`Engine` (today always the compiled one)
    """
    if params.max_tags > MAX_TAGS_LIMIT:  # SearchParams checks it already
        raise ValueError(f"`max_tags` must be at most {MAX_TAGS_LIMIT}; got {params.max_tags}")
    return _COMPILED


def num_threads() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def search_groups(engine: Engine, data: GroupedInput, params: SearchParams) -> Modes:
    """Runs the search on every group: single tags at once, larger sets in
    chunks of groups by ``engine``.

    Args:
        engine: the engine for sets of two or more tags
        data: the input in ``engine``'s layout
        params: the search parameters

    Returns:
        the failure modes found

    Raises:
        TooManyCandidates: when a group passes the engine's limit
    """
    modes = Modes()
    group_acc = data.group_accuracy()
    n_g = data.sizes
    eligible = (n_g > 0) & (n_g >= params.min_size) & (group_acc - params.min_drop >= -TOLERANCE)

    # Single tags, every group at once: their floor is inf (no proper subset).
    sel = np.flatnonzero(eligible[data.entry_group] & (data.entry_size >= params.min_size))
    groups, tags = data.entry_group[sel], data.entry_tag[sel]
    sizes, errs = data.entry_size[sel], data.entry_errors[sel]
    acc, gacc = accuracy(sizes, errs), group_acc[groups]
    is_mode = meets_conditions(
        sizes, acc, gacc, np.inf, params.min_size, params.min_drop, params.min_gain, TOLERANCE
    )
    modes.add(groups[is_mode], tags[is_mode][:, None], sizes[is_mode], errs[is_mode], None)
    if params.max_tags < 2:
        return modes
    alive = may_extend(
        lowest_reachable(errs, params.min_size),
        gacc,
        acc,
        params.min_drop,
        params.min_gain,
        TOLERANCE,
        PRUNE_SLACK,
    )
    if params.minimal:
        alive &= ~is_mode
    singles = Singles(groups[alive], tags[alive], sizes[alive], errs[alive], acc[alive])
    todo = list(chunks(singles, data))

    def search(chunk: np.ndarray) -> Modes:
        return engine.search_chunk(data, singles, chunk, group_acc, params)

    # The compiled kernels release the GIL: chunks run on every core, in order.
    threads = min(len(todo), num_threads()) if engine.threads else 1
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        for found in pool.map(search, todo) if pool else map(search, todo):
            modes.extend(found)
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    return modes
