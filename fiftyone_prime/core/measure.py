"""Measuring given tag sets on other data, and checking the definition there.

The search finds tag sets; this module measures sets it already found on
other samples (a held-out split, a teammate's copy): their size and
accuracy, the one-sided Fisher p-value and accuracy interval, and whether
they still satisfy the failure-mode definition (conditions 1-4 of
:mod:`fiftyone_prime.core.definition`, ``minimal`` included).

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .definition import TOLERANCE, meets_conditions
from .significance import accuracy_intervals, fisher_p_values
from .types import SearchParams

#: Marks a tag that does not occur in the data measured.
ABSENT = -1


@dataclass(frozen=True)
class TagSetQuery:
    """A tag set to measure: its group and its tags' columns in the data.

    Attributes:
        group: the group (class) label
        columns: the column of each tag, :data:`ABSENT` for tags the data lacks
    """

    group: Hashable
    columns: tuple[int, ...]


@dataclass(frozen=True)
class Measurement:
    """A tag set measured on some data.

    Attributes:
        size: samples of the group carrying every tag (0 if a tag is absent)
        num_correct: how many of them are classified right
        group_size: samples of the group
        group_correct: how many of those are classified right
        p_value: the one-sided Fisher exact p-value, ``None`` when ``size`` is 0
        accuracy_ci: the 95% interval of the accuracy, ``None`` when ``size`` is 0
        holds: whether the set satisfies the failure-mode definition there
    """

    size: int
    num_correct: int
    group_size: int
    group_correct: int
    p_value: Optional[float]
    accuracy_ci: Optional[tuple[float, float]]
    holds: bool

    @property
    def accuracy(self) -> float:
        """The accuracy on the set; NaN when it is empty."""
        return self.num_correct / self.size if self.size else float("nan")

    @property
    def group_accuracy(self) -> float:
        """The accuracy on the group; NaN when it is empty."""
        return self.group_correct / self.group_size if self.group_size else float("nan")

    @property
    def drop(self) -> float:
        """``group_accuracy - accuracy``; NaN when either is undefined."""
        return self.group_accuracy - self.accuracy


class TagSetCounter:
    """Finds and counts the samples of a group that carry every tag of a set.

    Each group's rows of the tag matrix are cut out once, so a set costs a
    few column reads of its group only; counts are cached per set.

    Args:
        tags: an ``(n_samples, n_tags)`` boolean array or sparse matrix
        correct: ``(n_samples,)`` booleans, whether each sample is classified right
        groups: ``(n_samples,)`` group labels
    """

    def __init__(self, tags, correct: np.ndarray, groups: np.ndarray):
        self._tags = sp.csr_matrix(tags) if sp.issparse(tags) else np.asarray(tags, dtype=bool)
        self._correct = np.asarray(correct, dtype=bool)
        self._groups = np.asarray(groups, dtype=object)
        self._group_rows: dict = {}
        self._group_tags: dict = {}
        self._cache: dict = {}

    def group_rows(self, group) -> np.ndarray:
        """The rows of ``group``."""
        if group not in self._group_rows:
            self._group_rows[group] = np.flatnonzero(self._groups == group)
        return self._group_rows[group]

    def group_correct(self, group) -> int:
        """How many samples of ``group`` are classified right."""
        return int(self._correct[self.group_rows(group)].sum())

    def members(self, group, columns: Sequence[int]) -> np.ndarray:
        """The rows of ``group`` that carry every tag of ``columns`` (none
        when a column is :data:`ABSENT`)."""
        rows = self.group_rows(group)
        if ABSENT in columns or len(rows) == 0:
            return rows[:0]
        if group not in self._group_tags:
            sub = self._tags[rows]
            self._group_tags[group] = sp.csc_matrix(sub) if sp.issparse(sub) else sub
        sub = self._group_tags[group]
        mask = np.ones(len(rows), dtype=bool)
        for j in columns:
            column = sub[:, j]
            mask &= column.toarray().ravel() if sp.issparse(column) else column
        return rows[mask]

    def count(self, group, columns: Sequence[int]) -> tuple[int, int]:
        """``(size, num_correct)`` of the set within ``group``."""
        key = (group, tuple(sorted(columns)))
        if key not in self._cache:
            found = self.members(group, columns)
            self._cache[key] = (len(found), int(self._correct[found].sum()))
        return self._cache[key]


def measure_tag_sets(
    tags,
    correct: np.ndarray,
    groups: np.ndarray,
    queries: Sequence[TagSetQuery],
    params: SearchParams,
) -> list[Measurement]:
    """Measures tag sets on data and checks the failure-mode definition there.

    Args:
        tags: an ``(n_samples, n_tags)`` boolean array or sparse matrix
        correct: ``(n_samples,)`` booleans, whether each sample is classified right
        groups: ``(n_samples,)`` group labels
        queries: the sets to measure
        params: the thresholds of the definition (``alpha`` is not used)

    Returns:
        a :class:`Measurement` per query, in order
    """
    counter = TagSetCounter(tags, correct, groups)

    def accuracy(group, columns):
        size, right = counter.count(group, columns)
        return size, (right / size if size else float("nan"))

    def conditions_hold(group, columns, group_acc) -> bool:
        """Conditions 1-3 of the definition for one set."""
        size, acc = accuracy(group, columns)
        thresholds = (params.min_size, params.min_drop, params.min_gain, TOLERANCE)
        # Conditions 1 and 2 first: the subsets are counted only if they hold.
        if not meets_conditions(size, acc, group_acc, np.inf, *thresholds):
            return False
        floor = min(
            (
                accuracy(group, subset)[1]
                for r in range(1, len(columns))
                for subset in combinations(columns, r)
            ),
            default=np.inf,
        )
        return bool(meets_conditions(size, acc, group_acc, floor, *thresholds))

    out = []
    for query in queries:
        columns = tuple(query.columns)
        size, right = counter.count(query.group, columns)
        group_size = len(counter.group_rows(query.group))
        group_correct = counter.group_correct(query.group)
        group_acc = group_correct / group_size if group_size else float("nan")
        holds = size > 0 and conditions_hold(query.group, columns, group_acc)
        if holds and params.minimal:
            holds = not any(
                conditions_hold(query.group, subset, group_acc)
                for r in range(1, len(columns))
                for subset in combinations(columns, r)
            )
        p_value = ci = None
        if size:
            p_value = float(
                fisher_p_values(
                    np.array([size]),
                    np.array([size - right]),
                    np.array([group_size]),
                    np.array([group_size - group_correct]),
                )[0]
            )
            low, high = accuracy_intervals(np.array([right]), np.array([size]))
            ci = (float(low[0]), float(high[0]))
        out.append(Measurement(size, right, group_size, group_correct, p_value, ci, bool(holds)))
    return out
