"""The tags a search extends, grouped into chunks and packed into bitsets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import input_kernels
from .layout import GroupedInput

# Words of bitsets per chunk of groups searched together (8 MiB).
CHUNK_WORDS = 1 << 20

# Entries of a chunk's (group, tag) -> column map (32 MiB): bounds the
# number of groups in a chunk when the vocabulary is large.
CHUNK_MAP = 1 << 22


@dataclass
class Singles:
    """The single tags packed for the sets of two or more tags, sorted by
    group then tag.

    Attributes:
        entry: each one's entry in the :class:`GroupedInput`
        group, tag: its group (index) and column
        size, errors, score: its support, losses (errors) and score in the group
    """

    entry: np.ndarray
    group: np.ndarray
    tag: np.ndarray
    size: np.ndarray
    errors: np.ndarray
    score: np.ndarray

    @classmethod
    def of(cls, data: GroupedInput, entries: np.ndarray) -> Singles:
        """The given entries (sorted) of ``data``, with their scores."""
        scores = data.entry_score(entries)
        return cls(
            entries,
            data.entry_group[entries],
            data.entry_tag[entries],
            data.entry_size[entries],
            data.entry_errors[entries],
            scores,
        )

    def rows_of(self, g: int) -> slice:
        """The entries of group ``g``."""
        lo, hi = np.searchsorted(self.group, [g, g + 1])
        return slice(int(lo), int(hi))


def words(data: GroupedInput, g) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Words of group ``g``'s losses, wins and other rows (``g`` may be an
    array of groups)."""
    losses, wins = data.num_errors[g], data.num_wins[g]
    return -(-losses // 64), -(-wins // 64), -(-(data.sizes[g] - losses - wins) // 64)


def chunks(singles: Singles, data: GroupedInput) -> Iterator[np.ndarray]:
    """Groups with two or more packed tags, in chunks of similar size.

    A chunk's bitsets are padded to its largest group, region by region, so
    groups are taken in order of size and a chunk is closed before padding
    would waste more than a quarter; it is also closed at
    :data:`CHUNK_WORDS` words of bitsets, or at :data:`CHUNK_MAP` (group,
    tag) entries.

    Yields:
        arrays of group indices
    """
    present, counts = np.unique(singles.group, return_counts=True)
    present = present[counts >= 2]
    counts = counts[counts >= 2]
    if not len(present):
        return
    regions = np.stack(words(data, present))  # (3, n)
    order = np.argsort(regions.sum(axis=0), kind="stable")
    max_groups = max(1, CHUNK_MAP // max(1, data.n_tags))
    chunk: list[int] = []
    widest = np.zeros(3, dtype=np.int64)
    cols = first = 0
    for i in order.tolist():
        own = regions[:, i]
        grown = np.maximum(widest, own)
        width = int(grown.sum())
        if chunk and (
            (cols + int(counts[i])) * width > CHUNK_WORDS
            or width > max(first * 5 // 4, first + 2)
            or len(chunk) >= max_groups
        ):
            yield np.array(chunk)
            chunk, cols = [], 0
            grown = own
        if not chunk:
            first = int(own.sum())
        chunk.append(int(present[i]))
        widest, cols = grown, cols + int(counts[i])
    if chunk:
        yield np.array(chunk)


class Chunk:
    """Some groups' packed tags as bitsets, 64 rows to a word.

    Column ``c`` (a local index) is a tag of group ``group[c]``; a group's
    columns are contiguous and in tag order. Each group's rows fill three
    regions of words, each in row order: its losses (a failure-mode
    search's misclassified rows) words ``[0, loss_words)``, its wins the
    next ``win_words`` (none in a failure-mode search), its other rows the
    words after them; so one popcount pass gives, region by region, a set's
    losses, wins and size.

    Args:
        data: the input
        singles: every group's packed tags
        chunk: the groups (indices) of this chunk

    Attributes:
        chunk: the groups
        index: the rows of ``singles`` packed, group by group
        entry, group, tag, size, errors, score: per column, as in :class:`Singles`
        local_group: per column, its group's position in ``chunk``
        col_bounds: the chunk's ``i``-th group owns columns
            ``col_bounds[i]:col_bounds[i + 1]``
        loss_words, win_words, width: the widths of the loss and win
            regions, and of all rows
        group_words: ``(3, len(chunk))``: the words each group fills in
            each region
        max_cols: the most columns a group has
        bits: ``(n_cols, width)`` uint64 bitsets
        values: a continuous score's values, ``(len(chunk), 64 * width +
            1)``: row ``i`` holds the ``i``-th group's values at its rows'
            bit positions (by value, worst first: its losses, the rows below
            its mean, then the others) and last the least value of the
            others (``inf`` for none), or ``None`` for a counted score
    """

    def __init__(self, data: GroupedInput, singles: Singles, chunk: np.ndarray):
        parts = [singles.rows_of(int(g)) for g in chunk]
        self.index = np.concatenate([np.arange(p.start, p.stop) for p in parts])
        self.chunk = chunk
        self._columns(singles, self.index)
        self.group_words = np.stack(words(data, chunk))
        self.loss_words, self.win_words, rest = (int(w) for w in self.group_words.max(axis=1))
        self.width = self.loss_words + self.win_words + rest
        lengths = [p.stop - p.start for p in parts]
        self.local_group = np.repeat(np.arange(len(chunk)), lengths)
        self._bounds()
        self.bits = self._pack(data)
        self.values = None
        if data.row_values is not None:
            self.values = np.zeros((len(chunk), 64 * self.width + 1))
            self.values[:, -1] = np.inf
            rest = 64 * (self.loss_words + self.win_words)
            for i, g in enumerate(chunk.tolist()):
                lo, hi = int(data.bounds[g]), int(data.bounds[g + 1])
                n_loss = int(data.num_errors[g])
                self.values[i, :n_loss] = data.row_values[lo : lo + n_loss]
                self.values[i, rest : rest + hi - lo - n_loss] = data.row_values[lo + n_loss : hi]
                if hi > lo + n_loss:
                    self.values[i, -1] = data.row_values[lo + n_loss]

    def _columns(self, singles: Singles, index: np.ndarray) -> None:
        self.entry = singles.entry[index]
        self.group = singles.group[index]
        self.tag = singles.tag[index]
        self.size = singles.size[index]
        self.errors = singles.errors[index]
        self.score = singles.score[index]

    def _bounds(self) -> None:
        counts = np.bincount(self.local_group, minlength=len(self.chunk))
        self.col_bounds = np.r_[0, np.cumsum(counts)]
        self.max_cols = int(counts.max()) if len(counts) else 0

    @property
    def n_cols(self) -> int:
        """The number of columns (bitsets)."""
        return len(self.group)

    def subset(self, columns: np.ndarray) -> Chunk:
        """The chunk of the masked ``columns`` only (itself when all are)."""
        if columns.all():
            return self
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.index = self.index[columns]
        for name in ("entry", "group", "tag", "size", "errors", "score", "local_group"):
            setattr(out, name, getattr(self, name)[columns])
        out.bits = self.bits[columns]
        out._bounds()
        return out

    def _pack(self, data: GroupedInput) -> np.ndarray:
        out = np.zeros((self.n_cols, self.width), dtype=np.uint64)
        chunk = self.chunk
        if data.sparse:
            column_of = np.full(len(chunk) * data.n_tags, -1, dtype=np.int64)
            column_of[self.local_group * data.n_tags + self.tag] = np.arange(self.n_cols)
            input_kernels.pack_sparse(
                data.matrix.indptr,
                data.matrix.indices,
                data.bounds[chunk],
                data.sizes[chunk],
                data.row_kind,
                column_of,
                data.n_tags,
                self.loss_words,
                self.win_words,
                out,
            )
        else:
            input_kernels.pack_dense(
                data.matrix,
                data.bounds[chunk],
                data.sizes[chunk],
                data.row_kind,
                self.col_bounds,
                self.tag,
                self.loss_words,
                self.win_words,
                out,
            )
        return out
