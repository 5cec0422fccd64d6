"""Plain records shared by the search engine and everything built on it.

This module imports numpy at most; it never imports fiftyone or torch.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar, Optional


class TagSetRecord:
    """What every record of a tag set shares (:class:`FailureMode`,
    :class:`~fiftyone_prime.core.scores.ScoreMode`): its number of tags, its
    aliases' tag sets, and its JSON form. A record names the field of its
    interval and the class of its aliases."""

    #: The field holding the record's interval, ``(low, high)``.
    interval_field: ClassVar[str] = "accuracy_ci"

    @classmethod
    def alias_class(cls) -> type:
        """The class of the record's aliases."""
        raise NotImplementedError

    @property
    def num_tags(self) -> int:
        """The number of tags in the set."""
        return len(self.tags)

    @property
    def alias_tags(self) -> tuple[tuple[str, ...], ...]:
        """The tag sets of :attr:`aliases`, in order (for captions and
        descriptions: "also seen as ...")."""
        return tuple(a.tags for a in self.aliases)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict of this record."""
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["tag_indices"] = list(self.tag_indices)
        interval = getattr(self, self.interval_field)
        d[self.interval_field] = list(interval) if interval else None
        d["aliases"] = [a.to_dict() for a in self.aliases]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Builds a record from the output of :meth:`to_dict`; fields that
        records stored by older versions lack take their defaults."""
        kwargs = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        return cls(**cls._from_json(kwargs))

    @classmethod
    def _from_json(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Turns the JSON lists of :meth:`to_dict` back into tuples."""
        kwargs["tags"] = tuple(kwargs["tags"])
        kwargs["tag_indices"] = tuple(int(i) for i in kwargs.get("tag_indices") or ())
        if kwargs.get(cls.interval_field) is not None:
            kwargs[cls.interval_field] = tuple(float(v) for v in kwargs[cls.interval_field])
        alias = cls.alias_class()
        kwargs["aliases"] = tuple(alias.from_dict(a) for a in kwargs.get("aliases") or ())
        return kwargs


@dataclass(frozen=True)
class FailureMode(TagSetRecord):
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
        p_value: the one-sided Fisher exact p-value of the mode's error count
            given its group, ``P(X >= num_errors)`` with ``X ~
            Hypergeom(group_size, group errors, size)``; ``None`` in runs
            stored before p-values existed
        adjusted_p_value: ``p_value`` corrected for the family of tag sets
            the search tested, under the run's ``error_control``: a
            false-discovery q-value by default, a family-wise value with
            ``"fwer"`` (see :mod:`fiftyone_prime.core.error_control`);
            ``None`` with ``alpha=None`` (no error control asked for, no
            family counted)
        accuracy_ci: the 95% Clopper-Pearson interval of ``accuracy``, as
            ``(low, high)``
        aliases: the reported modes of the same group that are proxies of
            this one (their drop is explained by this mode's samples), as
            :class:`Alias` records, strongest first; empty when none, and
            always with ``alpha=None`` (see
            :mod:`fiftyone_prime.core.aliases`)
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
    p_value: Optional[float] = None
    adjusted_p_value: Optional[float] = None
    accuracy_ci: Optional[tuple[float, float]] = None
    aliases: tuple[Alias, ...] = ()

    @property
    def num_errors(self) -> int:
        """How many samples of the failure mode are misclassified."""
        return self.size - self.num_correct

    @classmethod
    def alias_class(cls) -> type:
        """:class:`Alias`."""
        return Alias


@dataclass(frozen=True)
class AliasOf:
    """How a reported mode shown as a proxy relates to the stronger mode of
    its group it is an alias of: the fields an alias record adds to its
    mode's (:class:`Alias` for failure modes,
    :class:`~fiftyone_prime.core.regression.RegressionAlias` for regression
    modes; list this class first among the bases).

    Attributes:
        overlap: how many of its samples are also the stronger mode's
        residual_p_value: the one-sided Fisher p-value of its errors (a
            regression mode's losses) on its samples outside the stronger
            mode's, within the group less the stronger mode's samples; it did
            not reach the run's cutoff, so the stronger mode explains its drop
    """

    overlap: int = 0
    residual_p_value: Optional[float] = None

    @property
    def overlap_share(self) -> float:
        """The share of its samples that are also the stronger mode's."""
        return self.overlap / self.size if self.size else float("nan")

    @classmethod
    def mode_class(cls) -> type:
        """The record class of the modes it is an alias of."""
        return next(c for c in cls.__mro__[1:] if not issubclass(c, AliasOf))


@dataclass(frozen=True)
class Alias(AliasOf, FailureMode):
    """A reported failure mode shown as a proxy of a stronger one of its group.

    All the fields of :class:`FailureMode` (its own statistics, as reported),
    plus how it relates to the mode it is an alias of (:class:`AliasOf`).
    """


@dataclass(frozen=True)
class SearchParams:
    """The parameters of a failure-mode search: PRIME's thresholds ``s``,
    ``a``, ``b``, the largest set, minimality and the significance level.

    This is the one place where the defaults live; the core search, the
    SDK, the run config, the operator form and the CLI all take them from
    here. Constructing an instance validates every value, so a
    ``SearchParams`` that exists is a valid one.

    Attributes:
        min_size (30): the least number of samples a failure mode must have
        min_drop (0.2): the least accuracy drop against the group's accuracy
        min_gain (0.1): the least accuracy gain from removing any nonempty
            subset of the tags (every tag is needed)
        max_tags (3): the largest number of tags in a failure mode, at most
            :data:`fiftyone_prime.core.defaults.MAX_TAGS_LIMIT` (8)
        minimal (True): whether to drop sets that contain a smaller failure
            mode
        alpha (0.05): the significance level: modes whose adjusted p-value
            exceeds it are left out after the exact search. ``None`` keeps
            every mode of the definition (the paper's method) with its
            p-value and no adjusted p-value: no error control is asked for,
            so the tested family is not counted
        error_control ("fdr"): what ``alpha`` bounds: ``"fdr"``, the
            false-discovery rate (Benjamini-Hochberg over Tarone's testable
            sets; assumes positive dependence, PRDS); ``"fdr_by"``, the same
            under any dependence (Benjamini-Yekutieli); ``"fwer"``, the
            family-wise error rate (Bonferroni-Tarone). See
            :mod:`fiftyone_prime.core.error_control`

    Raises:
        TypeError: if a value has the wrong type
        ValueError: if a value is out of range
    """

    min_size: int = 30
    min_drop: float = 0.2
    min_gain: float = 0.1
    max_tags: int = 3
    minimal: bool = True
    alpha: Optional[float] = 0.05
    error_control: str = "fdr"

    #: Whether ``min_drop`` and ``min_gain`` are in a continuous score's
    #: units (:class:`ScoreParams`) rather than accuracies.
    score_units: ClassVar[bool] = False

    def __post_init__(self) -> None:
        from .validation import checked_params  # validation imports this module

        _check_bounded(self)
        for name, value in checked_params(asdict(self), self.score_units).items():
            object.__setattr__(self, name, value)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict of the parameters."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchParams:
        """Builds parameters from a dict; missing keys take the defaults and
        unknown keys are an error."""
        unknown = sorted(set(d) - set(cls.names()))
        if unknown:
            raise TypeError(f"Unknown search parameters {unknown}; known: {list(cls.names())}")
        return cls(**d)

    def replace(self, **changes: Any) -> SearchParams:
        """Returns a copy with some parameters changed (and validated)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class ScoreParams(SearchParams):
    """:class:`SearchParams` of a continuous score's search
    (:func:`fiftyone_prime.core.find_score_modes`): the same fields and
    defaults, with ``min_drop`` and ``min_gain`` in the score's units (any
    finite number ``>= 0``)."""

    score_units: ClassVar[bool] = True


def _check_bounded(params) -> None:
    """Raises for whole-number parameters beyond :data:`MAX_COUNT` (a value
    of 2**63 or more cannot even be stored)."""
    from .defaults import MAX_COUNT

    for name in ("min_size", "max_tags"):
        value = getattr(params, name)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_COUNT:
            raise ValueError(
                f"`{name}` must be an integer from 1 to {MAX_COUNT:,}; got {_short(value)}"
            )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"


#: The project's default search parameters.
DEFAULT_PARAMS = SearchParams()


def is_missing(value: Any) -> bool:
    """Whether a float statistic is absent (``None`` or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
