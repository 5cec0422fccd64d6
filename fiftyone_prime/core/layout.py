"""The search's input layout: rows sorted by group, what is scored, and each
tag's counts per group."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import pairwise
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp

from . import input_kernels
from .arrays import concatenated_ranges
from .definition import PRUNE_SLACK, lowest_mean, mean_value, score
from .groups import CodedGroups
from .validation import TagMatrix

logger = logging.getLogger(__name__)

#: Up to this many (group, tag) pairs, wins are counted with one bincount.
_DENSE_KEYS = 1 << 23


@dataclass(frozen=True)
class Outcomes:
    """What a search scores, per unit (in the input's order): its losses, its
    wins and the score's base (:func:`fiftyone_prime.core.definition.score`).

    A continuous score (:meth:`values`) has no losses or wins: each unit
    scores its own value, and a set's score is the mean of its values.

    Attributes:
        losses: per unit, whether it is a loss (bool)
        wins: per unit, whether it is a win (bool), or ``None`` for none
        base: the score of a unit that is neither
        values: per unit, its own score (float64, higher is better), or
            ``None`` for a score counted from losses and wins
    """

    losses: np.ndarray
    wins: Optional[np.ndarray] = None
    base: float = 1.0
    values: Optional[np.ndarray] = None

    @classmethod
    def errors(cls, correct: np.ndarray) -> Outcomes:
        """A failure-mode search's: accuracy, the misclassified units the
        losses, no wins (a regression against an always-right baseline)."""
        return cls(~np.asarray(correct, dtype=bool))

    @classmethod
    def change(cls, baseline: np.ndarray, new: np.ndarray) -> Outcomes:
        """A regression search's: the change in accuracy, new minus
        baseline; a loss where only the baseline is right, a win where only
        the new model is."""
        return cls(baseline & ~new, new & ~baseline, 0.0)

    @classmethod
    def scores(cls, values: np.ndarray) -> Outcomes:
        """A continuous score's: each unit's own value (finite floats,
        oriented so that higher is better), no losses or wins."""
        values = np.asarray(values, dtype=np.float64)
        return cls(np.zeros(len(values), dtype=bool), None, 0.0, values)


def _value_order(codes: np.ndarray, values: np.ndarray, n_groups: int) -> Optional[np.ndarray]:
    """The rows by group, then by value, or ``None`` when they are in that
    order already. Rows already by group in large groups are sorted group by
    group (faster than one sort of them all), ties in no particular order:
    tied rows hold equal values, so every sum over rows in this order adds
    the same numbers in the same order whichever of them comes first."""
    n_rows = len(codes)
    by_group = n_rows < 2 or bool(np.all(codes[1:] >= codes[:-1]))
    if by_group and n_groups * 256 <= n_rows:
        bounds = np.searchsorted(codes, np.arange(n_groups + 1)).tolist()
        order = np.empty(n_rows, dtype=np.int64)
        for lo, hi in pairwise(bounds):
            order[lo:hi] = np.argsort(values[lo:hi])
            order[lo:hi] += lo
    else:
        order = np.lexsort((values, codes))
    return None if bool(np.all(order == np.arange(n_rows))) else order


class GroupedInput:
    """The validated input with its rows sorted by group, and each tag's
    support and errors per group.

    Rows already in group order are not copied. Dense matrices are made
    C-contiguous (the kernels read rows).

    The counts speak of losses (a failure-mode search's misclassified
    samples, hence the names ``errors``) and wins (none in a failure-mode
    search).

    Args:
        matrix: the validated tag matrix (a bool array or a CSR matrix)
        outcomes: what is scored (:class:`Outcomes`), or per row whether it
            is classified right (a failure-mode search's)
        groups: per row, its group label (or :class:`CodedGroups`), or
            ``None`` for one group

    Attributes:
        labels: the group labels, sorted (``[None]`` without groups)
        bounds: group ``g`` holds sorted rows ``bounds[g]:bounds[g + 1]``
        order: the input's row of each sorted row (``None``: already sorted)
        matrix: the sorted tag matrix, in the input's kind (array or CSR)
        row_errors: per sorted row, whether it is a loss (misclassified)
        row_kind: per sorted row, ``LOSS``, ``WIN`` or ``REST`` of
            :mod:`~fiftyone_prime.core.input_kernels` (int8)
        row_values: per sorted row, its value (a continuous score, whose
            rows are sorted by value within each group, worst first; its
            losses are the rows below their group's mean), or ``None``
        group_sums, entry_sums: a continuous score's sums of values per
            group and per entry (``None`` otherwise)
        base: the score's base
        sparse: whether it is CSR
        n_tags: the number of tag columns
        sizes, num_errors, num_wins: units, losses and wins per group
        entry_group, entry_tag, entry_size, entry_errors, entry_wins: one
            entry per (group, tag) with the tag present in the group, sorted
            by group then tag: its support, losses and wins in the group
        entry_bounds: group ``g``'s entries are ``entry_bounds[g]:entry_bounds[g + 1]``
    """

    def __init__(
        self,
        matrix: TagMatrix,
        outcomes: Union[Outcomes, np.ndarray],
        groups: Union[np.ndarray, CodedGroups, None],
    ):
        if not isinstance(outcomes, Outcomes):
            outcomes = Outcomes.errors(outcomes)
        n_rows, n_tags = matrix.shape
        if groups is None:
            labels: list = [None]
            codes = np.zeros(n_rows, dtype=np.int64)
        elif isinstance(groups, CodedGroups):  # already factorized (e.g. cached inputs)
            labels = list(groups.labels)
            codes = groups.codes.astype(np.int64, copy=False)
        else:
            try:
                unique, codes = np.unique(groups, return_inverse=True)
            except TypeError as e:
                raise TypeError(f"`groups` labels cannot be sorted: {e}") from e
            labels = [u.item() if isinstance(u, np.generic) else u for u in unique]
            codes = codes.ravel().astype(np.int64)
        n_groups = len(labels)
        values = outcomes.values
        if values is None:
            in_order = n_rows < 2 or bool(np.all(codes[1:] >= codes[:-1]))
            order = None if in_order else np.argsort(codes, kind="stable")
        else:  # by group, then value (worst first): a set's worst rows come first
            order = _value_order(codes, values, n_groups)
        self.labels = labels
        self.bounds = np.searchsorted(
            codes if order is None else codes[order], np.arange(n_groups + 1)
        )
        self.sizes = np.diff(self.bounds)
        losses, wins = outcomes.losses, outcomes.wins
        if values is not None:
            # Regions of a continuous score: the units below their group's
            # mean (the kernel bounds a set from them before it reads the rest).
            means = np.bincount(codes, values, n_groups) / np.maximum(1, np.diff(self.bounds))
            losses = values < means[codes]
        self.base = float(outcomes.base)
        self.order = order
        self.num_errors = np.bincount(codes[losses], minlength=n_groups).astype(np.int64)
        self.n_tags = n_tags
        self.sparse = sp.issparse(matrix)
        if order is not None:
            # a row permutation keeps each row's indices sorted (a flag the
            # validation has usually set: no check then)
            sorted_indices = self.sparse and matrix.has_sorted_indices
            matrix = matrix[order]
            if sorted_indices:
                matrix.has_sorted_indices = True
            elif self.sparse:
                matrix.sort_indices()
        elif not self.sparse:
            matrix = np.ascontiguousarray(matrix)  # the kernels read rows
        self.matrix = matrix
        self.row_errors = losses if order is None else losses[order]
        row_wins = None if wins is None else (wins if order is None else wins[order])
        self.row_kind = np.full(n_rows, input_kernels.REST, dtype=np.int8)
        self.row_kind[self.row_errors] = input_kernels.LOSS
        if row_wins is not None:
            self.row_kind[row_wins] = input_kernels.WIN
        self.row_values = self.group_sums = self.entry_sums = None
        if values is not None:
            self.row_values = values if order is None else values[order]
        if self.sparse:
            counts = input_kernels.sparse_counts(
                self.matrix.indptr,
                self.matrix.indices,
                self.bounds,
                self.row_errors,
                n_tags,
                self.row_values,
            )
            self.entry_group, self.entry_tag, self.entry_size, self.entry_errors = counts[:4]
            self.entry_sums = counts[4]
        else:
            sizes, errs = input_kernels.dense_counts(self.matrix, self.bounds, self.row_errors)
            self.entry_group, self.entry_tag = (a.astype(np.int64) for a in np.nonzero(sizes))
            self.entry_size = sizes[self.entry_group, self.entry_tag]
            self.entry_errors = errs[self.entry_group, self.entry_tag]
        self.entry_bounds = np.searchsorted(self.entry_group, np.arange(n_groups + 1))
        if row_wins is None:
            self.num_wins = np.zeros(n_groups, dtype=np.int64)
            self.entry_wins = np.zeros(len(self.entry_group), dtype=np.int64)
        else:
            self.num_wins = np.bincount(
                np.repeat(np.arange(n_groups), self.sizes)[row_wins], minlength=n_groups
            ).astype(np.int64)
            self.entry_wins = self._entry_counts(row_wins)
        if values is not None:
            self.group_sums = np.bincount(
                np.repeat(np.arange(n_groups), self.sizes), self.row_values, n_groups
            )
            if self.entry_sums is None:  # dense: counted above for CSR
                self.entry_sums = self._entry_counts(np.ones(n_rows, dtype=bool), self.row_values)

    def _entry_counts(self, rows: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
        """Per (group, tag) entry, how many of its rows are in the mask
        ``rows`` (with ``weights``, per sorted row: the sum of their weights)."""
        n_groups = len(self.sizes)
        if not self.sparse and weights is not None:
            # row by row, one addition at a time (as the kernels sum)
            r, c = np.nonzero(self.matrix & rows[:, None])
            keys = np.repeat(np.arange(n_groups), self.sizes)[r] * self.n_tags + c
            entry_keys = self.entry_group * self.n_tags + self.entry_tag
            found = np.bincount(keys, weights[r], minlength=n_groups * self.n_tags)
            return found[entry_keys]
        if not self.sparse:
            _, counts = input_kernels.dense_counts(self.matrix, self.bounds, rows)
            return counts[self.entry_group, self.entry_tag]
        # from the masked rows' entries only
        indptr = self.matrix.indptr
        codes = np.repeat(np.arange(n_groups), self.sizes)
        if rows.all():  # every row: the matrix's own entries
            lengths, tags = np.diff(indptr), self.matrix.indices
            keys = np.repeat(codes, lengths) * self.n_tags + tags
            w = None if weights is None else np.repeat(weights, lengths)
        else:
            picked = np.flatnonzero(rows)
            lengths = indptr[picked + 1] - indptr[picked]
            tags = self.matrix.indices[concatenated_ranges(indptr[picked], indptr[picked + 1])]
            keys = np.repeat(codes[picked], lengths) * self.n_tags + tags
            w = None if weights is None else np.repeat(weights[picked], lengths)
        entry_keys = self.entry_group * self.n_tags + self.entry_tag  # sorted
        if n_groups * self.n_tags <= _DENSE_KEYS:
            return np.bincount(keys, w, minlength=n_groups * self.n_tags)[entry_keys]
        order = np.argsort(keys, kind="stable")
        found, starts = np.unique(keys[order], return_index=True)
        if w is None:
            counts = np.diff(np.r_[starts, len(keys)])
        else:
            counts = np.add.reduceat(w[order], starts) if len(keys) else np.zeros(0)
        out = np.zeros(len(entry_keys), dtype=np.int64 if w is None else np.float64)
        out[np.searchsorted(entry_keys, found)] = counts
        return out

    def group_score(self) -> np.ndarray:
        """Each group's score (NaN for an empty group)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.row_values is not None:
                return mean_value(self.sizes, self.group_sums)
            return score(self.sizes, self.num_errors, self.num_wins, self.base)

    def entry_score(self, entries: np.ndarray) -> np.ndarray:
        """The score of each of the given entries (NaN where empty)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.row_values is not None:
                return mean_value(self.entry_size[entries], self.entry_sums[entries])
            return score(
                self.entry_size[entries],
                self.entry_errors[entries],
                self.entry_wins[entries],
                self.base,
            )

    def worst_mean(self, min_size: int) -> np.ndarray:
        """Per group, the least score a set of ``>= min_size`` of its units
        can have: with values, the mean of its ``min_size`` worst values
        (:func:`~fiftyone_prime.core.definition.lowest_mean`, less the
        rounding of a mean; NaN for a group of fewer units); else every
        unit a loss, ``base - 1``."""
        n_groups = len(self.sizes)
        if self.row_values is None:
            return np.full(n_groups, self.base - 1.0)
        out = np.full(n_groups, np.nan)
        for g in np.flatnonzero(self.sizes >= min_size).tolist():
            lo = int(self.bounds[g])
            out[g] = lowest_mean(np.cumsum(self.row_values[lo : lo + min_size])[-1], min_size)
        return out - (self.prune_slack - PRUNE_SLACK)  # the rounding of a set's mean

    @property
    def prune_slack(self) -> float:
        """The pruning slack: :data:`~fiftyone_prime.core.definition.PRUNE_SLACK`,
        and with values as much again as the rounding of a sum of a group's
        values can move a mean (so rounding never prunes a mode)."""
        if self.row_values is None or not len(self.row_values):
            return PRUNE_SLACK
        largest = float(np.abs(self.row_values).max())
        return PRUNE_SLACK + 4.0 * float(self.sizes.max()) * np.finfo(float).eps * largest

    def frequent_per_row(self, min_size: int) -> np.ndarray:
        """Per sorted row, how many of its tags have ``>= min_size`` samples
        in the row's group."""
        entries = (self.entry_bounds, self.entry_tag, self.entry_size, min_size)
        if self.sparse:
            return input_kernels.frequent_per_row(
                self.matrix.indptr, self.matrix.indices, self.bounds, *entries, self.n_tags
            )
        return input_kernels.dense_frequent_per_row(self.matrix, self.bounds, *entries)
