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
    """The extendable single tags of every group, sorted by group then tag.

    Attributes:
        group, tag: each tag's group (index) and column
        size, errors, acc: its support, error count and accuracy in the group
    """

    group: np.ndarray
    tag: np.ndarray
    size: np.ndarray
    errors: np.ndarray
    acc: np.ndarray

    def rows_of(self, g: int) -> slice:
        """The entries of group ``g``."""
        lo, hi = np.searchsorted(self.group, [g, g + 1])
        return slice(int(lo), int(hi))


def words(data: GroupedInput, g) -> tuple[np.ndarray, np.ndarray]:
    """Words of group ``g``'s misclassified and correctly classified rows
    (``g`` may be an array of groups)."""
    errors = data.num_errors[g]
    return -(-errors // 64), -(-(data.sizes[g] - errors) // 64)


def chunks(singles: Singles, data: GroupedInput) -> Iterator[np.ndarray]:
    """Groups with two or more extendable tags, in chunks of similar size.

    A chunk's bitsets are padded to its largest group, so groups are taken
    in order of size and a chunk is closed before padding would waste more
    than a quarter; it is also closed at :data:`CHUNK_WORDS` words of
    bitsets, or at :data:`CHUNK_MAP` (group, tag) entries.

    Yields:
        arrays of group indices
    """
    present, counts = np.unique(singles.group, return_counts=True)
    present = present[counts >= 2]
    counts = counts[counts >= 2]
    if not len(present):
        return
    err_words, ok_words = words(data, present)
    order = np.argsort(err_words + ok_words, kind="stable")
    max_groups = max(1, CHUNK_MAP // max(1, data.n_tags))
    chunk: list[int] = []
    we = wc = cols = first = 0
    for i in order.tolist():
        new_we, new_wc = max(we, int(err_words[i])), max(wc, int(ok_words[i]))
        width = new_we + new_wc
        if chunk and (
            (cols + int(counts[i])) * width > CHUNK_WORDS
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


class Chunk:
    """Some groups' extendable tags as bitsets, packed 64 rows to a word.

    Column ``c`` (a local index) is a tag of group ``group[c]``; a group's
    columns are contiguous and in tag order. Each group's misclassified rows
    fill words ``[0, err_words)`` and its other rows words
    ``[err_words, width)``, each in row order, so one popcount pass gives a
    set's size and its errors.

    Args:
        data: the input
        singles: every group's extendable tags
        chunk: the groups (indices) of this chunk

    Attributes:
        chunk: the groups
        group, tag, size, errors, acc: per column, as in :class:`Singles`
        local_group: per column, its group's position in ``chunk``
        col_bounds: the chunk's ``i``-th group owns columns
            ``col_bounds[i]:col_bounds[i + 1]``
        err_words, width: the words of misclassified rows, and of all rows
        max_cols: the most columns a group has
        bits: ``(n_cols, width)`` uint64 bitsets
    """

    def __init__(self, data: GroupedInput, singles: Singles, chunk: np.ndarray):
        parts = [singles.rows_of(int(g)) for g in chunk]
        index = np.concatenate([np.arange(p.start, p.stop) for p in parts])
        self.chunk = chunk
        self.group = singles.group[index]
        self.tag = singles.tag[index]
        self.size = singles.size[index]
        self.errors = singles.errors[index]
        self.acc = singles.acc[index]
        err_words, ok_words = words(data, chunk)
        self.err_words = int(err_words.max())
        self.width = self.err_words + int(ok_words.max())
        lengths = [p.stop - p.start for p in parts]
        self.max_cols = max(lengths)
        self.local_group = np.repeat(np.arange(len(chunk)), lengths)
        self.col_bounds = np.searchsorted(self.local_group, np.arange(len(chunk) + 1))
        self.bits = self._pack(data)

    @property
    def n_cols(self) -> int:
        """The number of columns (bitsets)."""
        return len(self.group)

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
                data.row_errors,
                column_of,
                data.n_tags,
                self.err_words,
                out,
            )
        else:
            input_kernels.pack_dense(
                data.matrix,
                data.bounds[chunk],
                data.sizes[chunk],
                data.row_errors,
                self.col_bounds,
                self.tag,
                self.err_words,
                out,
            )
        return out
