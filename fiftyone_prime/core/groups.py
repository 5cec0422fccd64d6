"""Group labels given as integer codes: what a caller that already factorized
its labels passes as ``groups``, so that the search does not sort them again."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CodedGroups:
    """Each sample's group as a code into a sorted list of distinct labels.

    Passing this as ``groups`` to :func:`fiftyone_prime.core.find_failure_modes`
    gives the same result as passing ``labels[codes]``, without sorting a
    million labels (inputs read from a cache keep their codes). Rows already
    sorted by code are not reordered.

    Attributes:
        codes: a ``(n_samples,)`` integer array; sample ``i`` is in group
            ``labels[codes[i]]``
        labels: the group labels, sorted ascending and distinct
    """

    codes: np.ndarray
    labels: tuple

    @classmethod
    def from_labels(cls, labels: Sequence[Any]) -> CodedGroups:
        """Factorizes an array of labels (sorted, as the search sorts them)."""
        unique, codes = np.unique(np.asarray(labels), return_inverse=True)
        return cls(
            codes.ravel(), tuple(u.item() if isinstance(u, np.generic) else u for u in unique)
        )

    def __len__(self) -> int:
        return len(self.codes)

    def decoded(self) -> np.ndarray:
        """The label of each sample, as an object array."""
        labels = np.empty(len(self.labels), dtype=object)
        labels[:] = list(self.labels)
        return labels[self.codes]


def validate_coded_groups(groups: CodedGroups, n_samples: int) -> CodedGroups:
    """Checks coded groups; returns them with only the labels some sample has
    (codes renumbered when one had none).

    Raises:
        TypeError: if the codes are not integers or the labels cannot be compared
        ValueError: on a wrong shape, a code out of range, or labels that are
            not sorted and distinct
    """
    codes = np.asarray(groups.codes)
    labels = tuple(groups.labels)
    if codes.ndim != 1 or codes.shape[0] != n_samples:
        raise ValueError(
            f"`groups.codes` must have shape ({n_samples},) to match `tags`; got shape {codes.shape}"
        )
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise TypeError(f"`groups.codes` must hold integers; got dtype {codes.dtype}")
    if any(label is None for label in labels):
        raise ValueError("`groups.labels` holds None; every group needs a label")
    try:
        ordered = all(a < b for a, b in itertools.pairwise(labels))
    except TypeError as e:
        raise TypeError(f"`groups.labels` cannot be sorted: {e}") from e
    if not ordered:
        raise ValueError("`groups.labels` must be sorted ascending, each label once")
    if codes.size and (codes.min() < 0 or codes.max() >= len(labels)):
        raise ValueError(
            f"`groups.codes` must lie in [0, {len(labels)}); got values from "
            f"{codes.min()} to {codes.max()}"
        )
    counts = np.bincount(codes, minlength=len(labels)) if codes.size else np.zeros(len(labels))
    present = counts > 0
    if present.all():
        return CodedGroups(codes, labels)
    renumber = np.cumsum(present) - 1
    kept = tuple(label for label, p in zip(labels, present) if p)
    return CodedGroups(renumber[codes], kept)
