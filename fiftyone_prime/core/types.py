"""Plain records shared by the search engine and everything built on it.

This module imports numpy at most; it never imports fiftyone or torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Hashable, Optional


@dataclass(frozen=True)
class FailureMode:
    """A set of tags whose presence drops the classifier's accuracy in a group.

    Attributes:
        group: the group (ground-truth class) the failure mode belongs to, or
            ``None`` when the search ran over a single, unnamed group
        tags: the tag names of the set, sorted
        tag_indices: the column indices of the tags in the input matrix, in
            the same order as ``tags``
        size: the number of samples of the group that carry every tag
        num_correct: how many of those samples the classifier got right
        accuracy: ``num_correct / size``
        group_size: the number of samples in the group
        group_accuracy: the classifier's accuracy on the whole group
        drop: ``group_accuracy - accuracy``
        gain: the smallest accuracy gain obtained by removing tags, that is
            ``min(acc_U - accuracy)`` over the nonempty proper subsets ``U``
            of the set; ``None`` for single tags, which have no such subset
    """

    group: Optional[Hashable]
    tags: tuple[str, ...]
    tag_indices: tuple[int, ...]
    size: int
    num_correct: int
    accuracy: float
    group_size: int
    group_accuracy: float
    drop: float
    gain: Optional[float]

    @property
    def num_tags(self) -> int:
        """The number of tags in the set."""
        return len(self.tags)

    @property
    def num_errors(self) -> int:
        """How many samples of the failure mode are misclassified."""
        return self.size - self.num_correct

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict of this record."""
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["tag_indices"] = list(self.tag_indices)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FailureMode":
        """Builds a record from the output of :meth:`to_dict`."""
        kwargs = {f: d[f] for f in cls.__dataclass_fields__}
        kwargs["tags"] = tuple(kwargs["tags"])
        kwargs["tag_indices"] = tuple(int(i) for i in kwargs["tag_indices"])
        return cls(**kwargs)


@dataclass(frozen=True)
class SearchParams:
    """The thresholds of a failure-mode search (PRIME's ``s``, ``a``, ``b``).

    Attributes:
        min_size: the least number of samples a failure mode must have
        min_drop: the least accuracy drop against the group's accuracy
        min_gain: the least accuracy gain from removing any nonempty subset
            of the tags (every tag is needed)
        max_tags: the largest number of tags in a failure mode
        minimal: whether to drop sets that contain a smaller failure mode
    """

    min_size: int = 30
    min_drop: float = 0.2
    min_gain: float = 0.1
    max_tags: int = 3
    minimal: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict of the parameters."""
        return asdict(self)
