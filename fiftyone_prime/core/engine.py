"""The engine seam: which engine searches, and the driver every engine shares.

An engine turns the validated input and what is scored into its layout
(:meth:`Engine.layout`) and searches the sets of two or more tags of a
packed chunk of groups (:meth:`Engine.search_chunk`). The driver,
:func:`search_groups`, judges the single tags of every group at once, cuts
the groups into chunks, packs each and runs the engine on it, on a thread
pool where the engine allows it. Every search goes through it: a
failure-mode search (accuracy) and a regression search (the change in
accuracy), the score a parameter of the layout
(:class:`~fiftyone_prime.core.layout.Outcomes`). A search that counts more
on the same bitsets (the regression search's tested family) passes a
:class:`ChunkCounter`.

:func:`select_engine` is the one place that chooses an engine. The product
ships one, :class:`CompiledEngine` (numba; with ``NUMBA_DISABLE_JIT=1`` its
kernels run as Python, with the same results); the tests add a levelwise
numpy engine as a second oracle (``tests/core/levelwise.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Protocol, Union

import numpy as np

from . import kernels
from .candidates import Chunk, Singles, chunks
from .defaults import MAX_TAGS_LIMIT
from .definition import (
    TOLERANCE,
    lowest_score,
    may_extend,
    meets_conditions,
)
from .groups import CodedGroups
from .layout import GroupedInput, Outcomes
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
    """Modes found, as arrays, one batch per level and chunk."""

    def __init__(self):
        self.batches: list[tuple] = []

    def add(self, groups, tags, sizes, losses, wins, gains) -> None:
        """Adds a batch: per mode its group (index), tag columns (one row
        per mode), size, losses (errors), wins and gain (``None`` for single
        tags)."""
        if len(groups):
            self.batches.append((groups, tags, sizes, losses, wins, gains))

    def extend(self, other: Modes) -> None:
        """Adds another's batches."""
        self.batches.extend(other.batches)

    def by_group(self) -> dict[int, list[tuple[np.ndarray, int, int, int, Optional[float]]]]:
        """The modes per group: ``(tag columns, size, losses, wins, gain)`` each."""
        out: dict[int, list] = {}
        for groups, tags, sizes, losses, wins, gains in self.batches:
            for i in range(len(groups)):
                gain = None if gains is None else float(gains[i])
                out.setdefault(int(groups[i]), []).append(
                    (tags[i], int(sizes[i]), int(losses[i]), int(wins[i]), gain)
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
        self,
        matrix: TagMatrix,
        outcomes: Union[Outcomes, np.ndarray],
        groups: Union[np.ndarray, CodedGroups, None],
    ) -> GroupedInput:
        """The input in the engine's layout."""
        ...

    def search_chunk(
        self, data: GroupedInput, bits: Chunk, group_score: np.ndarray, params: SearchParams
    ) -> Modes:
        """The modes of ``2..max_tags`` tags of a packed chunk of groups.

        Raises:
            TooManyCandidates: when a group passes the engine's limit
        """
        ...


class ChunkCounter(Protocol):
    """What a search counts beside the modes on the same packed chunks (the
    regression search's tested family).

    Attributes:
        keep: per entry of the layout, whether it is packed for the count
    """

    keep: np.ndarray

    def count(self, bits: Chunk) -> Any:
        """Counts on a chunk's packed columns (only those of :attr:`keep`)."""
        ...

    def add(self, chunk: np.ndarray, counted: Any) -> None:
        """Adds a chunk's counts, in chunk order."""
        ...


class CompiledEngine:
    """The depth-first search of :mod:`fiftyone_prime.core.kernels`."""

    name = "compiled"
    threads = True

    def layout(
        self,
        matrix: TagMatrix,
        outcomes: Union[Outcomes, np.ndarray],
        groups: Union[np.ndarray, CodedGroups, None],
    ) -> GroupedInput:
        """Rows sorted by group only: the kernels read each row's kind."""
        return GroupedInput(matrix, outcomes, groups)

    def search_chunk(
        self, data: GroupedInput, bits: Chunk, group_score: np.ndarray, params: SearchParams
    ) -> Modes:
        """Levels ``2..max_tags`` for a packed chunk of groups, in the compiled kernel."""
        modes = Modes()
        chunk = bits.chunk
        limits = np.array(
            [MAX_CANDIDATE_BYTES // candidate_bytes(1, k) for k in range(params.max_tags + 1)]
        )
        found_group, cols, sizes, losses, wins, gains, status, where = kernels.search_chunk(
            bits.bits,
            bits.loss_words,
            bits.win_words,
            *bits.group_words,
            bits.col_bounds,
            bits.errors,
            bits.score,
            group_score[chunk],
            base=data.base,
            min_size=params.min_size,
            min_drop=params.min_drop,
            min_gain=params.min_gain,
            max_tags=params.max_tags,
            minimal=params.minimal,
            tolerance=TOLERANCE,
            slack=data.prune_slack,
            limits=limits,
            values=bits.values,
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
                losses[rows],
                wins[rows],
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


def search_groups(
    engine: Engine,
    data: GroupedInput,
    params: SearchParams,
    counter: Optional[ChunkCounter] = None,
) -> Modes:
    """Runs the search on every group: single tags at once, larger sets in
    packed chunks of groups by ``engine``.

    Args:
        engine: the engine for sets of two or more tags
        data: the input in ``engine``'s layout, with what is scored
        params: the search parameters
        counter (None): what else to count on the same packed chunks

    Returns:
        the modes found

    Raises:
        TooManyCandidates: when a group passes the engine's limit
    """
    modes = Modes()
    group_score = data.group_score()
    n_g, base = data.sizes, data.base
    # The least score a set of >= min_size units can have (every unit a loss;
    # with values, the mean of the group's min_size worst).
    worst = data.worst_mean(params.min_size)
    eligible = (
        (n_g > 0) & (n_g >= params.min_size) & (group_score - params.min_drop >= worst - TOLERANCE)
    )

    # Single tags, every group at once: their floor is inf (no proper subset).
    sel = np.flatnonzero(eligible[data.entry_group] & (data.entry_size >= params.min_size))
    groups, tags = data.entry_group[sel], data.entry_tag[sel]
    sizes, losses, wins = data.entry_size[sel], data.entry_errors[sel], data.entry_wins[sel]
    scores, g_score = data.entry_score(sel), group_score[groups]
    is_mode = meets_conditions(
        sizes, scores, g_score, np.inf, params.min_size, params.min_drop, params.min_gain, TOLERANCE
    )
    modes.add(
        groups[is_mode],
        tags[is_mode][:, None],
        sizes[is_mode],
        losses[is_mode],
        wins[is_mode],
        None,
    )
    if params.max_tags < 2:
        return modes
    # With values, the group's bound (the kernel takes each tag's own).
    lowest = (
        worst[groups]
        if data.row_values is not None
        else lowest_score(losses, params.min_size, base)
    )
    alive = may_extend(
        lowest,
        g_score,
        scores,
        params.min_drop,
        params.min_gain,
        TOLERANCE,
        data.prune_slack,
    )
    if params.minimal:
        alive &= ~is_mode
    # The entries packed: the search's extendable tags, and the counter's.
    in_search = np.zeros(len(data.entry_group), dtype=bool)
    in_search[sel[alive]] = True
    packed = in_search if counter is None else in_search | counter.keep

    def search(bits: Chunk) -> tuple[Optional[Modes], Any]:
        columns = in_search[bits.entry]
        found = counted = None
        if columns.any():
            found = engine.search_chunk(data, bits.subset(columns), group_score, params)
        if counter is not None:
            wanted = counter.keep[bits.entry]
            if wanted.any():
                counted = counter.count(bits.subset(wanted))
        return found, counted

    for chunk, (found, counted) in packed_chunks(data, packed, search, engine.threads):
        if found is not None:
            modes.extend(found)
        if counted is not None:
            counter.add(chunk, counted)
    return modes


def packed_chunks(
    data: GroupedInput, entries: np.ndarray, work: Callable[[Chunk], Any], threads: bool = True
) -> Iterator[tuple[np.ndarray, Any]]:
    """Packs the masked ``entries`` of ``data`` chunk by chunk
    (:func:`~fiftyone_prime.core.candidates.chunks`) and runs ``work`` on
    each packed :class:`~fiftyone_prime.core.candidates.Chunk`, on a thread
    pool of the CPUs when ``threads`` (the compiled kernels release the GIL).

    Yields:
        ``(chunk, work's result)``, in chunk order
    """
    singles = Singles.of(data, np.flatnonzero(entries))
    todo = list(chunks(singles, data))

    def run(chunk: np.ndarray) -> tuple[np.ndarray, Any]:
        return chunk, work(Chunk(data, singles, chunk))

    n_threads = min(len(todo), num_threads()) if threads else 1
    if n_threads <= 1:
        yield from map(run, todo)
        return
    pool = ThreadPoolExecutor(n_threads)
    try:
        yield from pool.map(run, todo)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
