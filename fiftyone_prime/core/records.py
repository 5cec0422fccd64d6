"""The search's records: failure modes as :class:`FailureMode`, tested for significance."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import error_control
from .aliases import MemberIndex
from .significance import Significance, TestedFamily
from .types import FailureMode, SearchParams


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


def to_records(
    modes: list[tuple[np.ndarray, int, int, int, Optional[float]]],
    label: Optional[Hashable],
    names: list[str],
    n_group: int,
    group_correct: int,
) -> list[FailureMode]:
    """One group's modes as records, in the contract's order (by drop,
    descending, then number of tags, then tag names).

    Args:
        modes: ``(tag columns, size, errors, wins, gain)`` per mode (no wins:
            a failure-mode search scores accuracy)
        label: the group's label
        names: the tag names
        n_group, group_correct: the group's samples and correct samples

    Returns:
        a list of :class:`FailureMode` without p-values
    """
    group_acc = group_correct / n_group if n_group else 0.0
    records = []
    for cols, size, errs, _wins, gain in modes:
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


def tested(
    candidates: list[FailureMode],
    group_errors: np.ndarray,
    family: Optional[TestedFamily],
    params: SearchParams,
    members: Optional[MemberIndex] = None,
) -> SearchOutcome:
    """Adds p-values, adjusted p-values and intervals to the modes; keeps
    those the chosen error control reports, with proxies as aliases
    (:func:`fiftyone_prime.core.error_control.control`).

    Args:
        candidates: the modes of the definition
        group_errors: per mode, its group's number of misclassified samples
        family: the family of tag sets the search tested (``None`` with
            ``alpha=None``: none is counted)
        params: the search parameters (``alpha``, ``error_control``)
        members (None): the searched data's members, to group proxies

    Returns:
        a :class:`SearchOutcome`
    """
    kept, significance = error_control.control(candidates, group_errors, family, params, members)
    return SearchOutcome(kept, significance, params)
