"""The search's input layout: rows sorted by group, and each tag's counts per group."""

from __future__ import annotations

import logging
from typing import Union

import numpy as np
import scipy.sparse as sp

from . import input_kernels
from .groups import CodedGroups
from .validation import TagMatrix

logger = logging.getLogger(__name__)


class GroupedInput:
    """The validated input with its rows sorted by group, and each tag's
    support and errors per group.

    Rows already in group order are not copied. Dense matrices are made
    C-contiguous (the kernels read rows).

    Args:
        matrix: the validated tag matrix (a bool array or a CSR matrix)
        correct: per row, whether it is classified right
        groups: per row, its group label (or :class:`CodedGroups`), or
            ``None`` for one group

    Attributes:
        labels: the group labels, sorted (``[None]`` without groups)
        bounds: group ``g`` holds sorted rows ``bounds[g]:bounds[g + 1]``
        matrix: the sorted tag matrix, in the input's kind (array or CSR)
        row_errors: per sorted row, whether it is misclassified
        sparse: whether it is CSR
        n_tags: the number of tag columns
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
        groups: Union[np.ndarray, CodedGroups, None],
    ):
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
        in_order = n_rows < 2 or bool(np.all(codes[1:] >= codes[:-1]))
        order = None if in_order else np.argsort(codes, kind="stable")
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
            self.entry_group, self.entry_tag, self.entry_size, self.entry_errors = (
                input_kernels.sparse_counts(
                    self.matrix.indptr, self.matrix.indices, self.bounds, self.row_errors, n_tags
                )
            )
        else:
            sizes, errs = input_kernels.dense_counts(self.matrix, self.bounds, self.row_errors)
            self.entry_group, self.entry_tag = (a.astype(np.int64) for a in np.nonzero(sizes))
            self.entry_size = sizes[self.entry_group, self.entry_tag]
            self.entry_errors = errs[self.entry_group, self.entry_tag]
        self.entry_bounds = np.searchsorted(self.entry_group, np.arange(n_groups + 1))

    def group_accuracy(self) -> np.ndarray:
        """Each group's accuracy (NaN for an empty group)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.sizes - self.num_errors) / self.sizes

    def frequent_per_row(self, min_size: int) -> np.ndarray:
        """Per sorted row, how many of its tags have ``>= min_size`` samples
        in the row's group."""
        entries = (self.entry_bounds, self.entry_tag, self.entry_size, min_size)
        if self.sparse:
            return input_kernels.frequent_per_row(
                self.matrix.indptr, self.matrix.indices, self.bounds, *entries, self.n_tags
            )
        return input_kernels.dense_frequent_per_row(self.matrix, self.bounds, *entries)
