"""Where is a score worst? An exact search for score modes.

Each unit carries a number: an error, a loss, an IoU, an accuracy. A
*score mode* is PRIME's failure mode with the mean score in place of
accuracy: for a group ``g`` (a class) a tag set ``T`` with ``1 <= |T| <=
max_tags`` is one iff

1. ``n_T >= min_size``;
2. ``mean(T)`` is worse than ``mean(g)`` by at least ``min_drop`` (in the
   score's units);
3. ``mean(T)`` is worse than ``mean(U)`` by at least ``min_gain`` for every
   nonempty proper subset ``U`` of ``T`` (every tag is needed);
4. with ``minimal=True``: no nonempty proper subset of ``T`` is one.

"Worse" is higher with ``higher_is_worse=True`` (an error, a loss) and
lower otherwise (an accuracy, an IoU). Comparisons are ``>=`` with the
``1e-9`` tolerance of :mod:`fiftyone_prime.core.definition`.

The search is the failure-mode search with another score: the same layout
(:class:`~fiftyone_prime.core.layout.Outcomes.scores`: each unit scores
its own value, oriented so that higher is better), driver, packer and
kernel. Rows are sorted by value within each group, worst first, so the
kernel reads a set's ``min_size`` worst values as its first ``min_size``
rows: the mean of those bounds every superset with ``>= min_size`` units
(:func:`~fiftyone_prime.core.definition.lowest_mean`), as an error count
bounds accuracy. A set's mean is its float64 sum over its rows in that
order, one addition at a time, divided by its size: the same number in the
kernel, the records and the tests; exact for values that are multiples of
a power of two within float64's range, otherwise the rounding of a sum.
The pruning slack covers that rounding, so pruning never loses a mode.

Significance. Each mode's ``p_value`` is the one-sided Mann-Whitney
p-value of its scores against the rest of its group (mid-ranks, the
normal approximation with the tie and continuity corrections;
:func:`~fiftyone_prime.core.significance.rank_sum_p_values`): it holds for
skewed, tied and heavy-tailed scores, because it sees only ranks. The
least p-value a set of ``n`` units can reach is that of the group's ``n``
worst ranks, which depends on ``n`` alone (LAMP), so Tarone's testable
family and the false-discovery control are those of the failure-mode search
(:class:`~fiftyone_prime.core.significance.TestedFamily` with this test's
least attainable p-values, :func:`~fiftyone_prime.core.error_control.control`),
and proxies are listed as aliases by the residual rank test outside the
stronger mode (:mod:`fiftyone_prime.core.aliases`). Each mode carries a 95%
Student-t interval of its mean.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np
from scipy.stats import t as student_t

from . import compile_status, exact_family
from .aliases import MemberIndex
from .arrays import concatenated_ranges
from .engine import Engine, TooManyCandidates, search_groups, select_engine
from .error_control import control
from .layout import GroupedInput, Outcomes
from .significance import CONFIDENCE, Significance, mid_ranks, rank_sum_p_values
from .types import DEFAULT_PARAMS, ScoreParams, SearchParams, TagSetRecord
from .validation import validate_groups, validate_scores, validate_tag_names, validate_tags

__all__ = ["ScoreAlias", "ScoreMode", "ScoreOutcome", "find_score_modes", "run_score_search"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreMode(TagSetRecord):
    """A set of tags on which a per-unit score is worse than on its group.

    Attributes:
        group: the group (class), or ``None`` for a single unnamed group
        tags: the tag names, sorted
        tag_indices: their columns in the input, in the same order
        size: units of the group carrying every tag
        mean: the mean score of those units (the score's units)
        group_size: units of the group
        group_mean: the mean score of the group
        drop: how much worse ``mean`` is than ``group_mean`` (``>=
            min_drop``): ``mean - group_mean`` when higher is worse, else
            ``group_mean - mean``
        gain: the least amount by which ``mean`` is worse than the mean of a
            nonempty proper subset of the tags; ``None`` for a single tag
        higher_is_worse: the score's direction
        p_value: the one-sided Mann-Whitney p-value of the set's scores
            against the rest of its group (see the module)
        adjusted_p_value: ``p_value`` corrected for the tested family (a
            false-discovery q-value by default; ``None`` with
            ``alpha=None``)
        mean_ci: the 95% Student-t interval of ``mean``, ``(low, high)``
        aliases: the reported modes of the group that are proxies of this
            one, as :class:`ScoreAlias` records (see
            :mod:`fiftyone_prime.core.aliases`)
    """

    group: Optional[Hashable]
    tags: tuple[str, ...]
    tag_indices: tuple[int, ...]
    size: int
    mean: float
    group_size: int
    group_mean: float
    drop: float
    gain: Optional[float]
    higher_is_worse: bool = True
    p_value: Optional[float] = None
    adjusted_p_value: Optional[float] = None
    mean_ci: Optional[tuple[float, float]] = None
    aliases: tuple[ScoreAlias, ...] = ()

    interval_field: ClassVar[str] = "mean_ci"

    @classmethod
    def alias_class(cls) -> type:
        """:class:`ScoreAlias`."""
        return ScoreAlias


@dataclass(frozen=True)
class ScoreAlias(ScoreMode):
    """A reported score mode shown as a proxy of a stronger one of its group.

    Attributes:
        overlap: how many of its units are also the stronger mode's
        residual_p_value: the one-sided Mann-Whitney p-value of its scores
            outside the stronger mode against the group less the stronger
            mode; it did not reach the run's cutoff
    """

    overlap: int = 0
    residual_p_value: Optional[float] = None

    @property
    def overlap_share(self) -> float:
        """The share of its units that are also the stronger mode's."""
        return self.overlap / self.size if self.size else float("nan")


@dataclass(frozen=True)
class ScoreOutcome:
    """What a score search found and how it was tested.

    Attributes:
        modes: the significant score modes (all of the definition's when
            ``alpha`` is ``None``), in the search's order
        significance: a :class:`~fiftyone_prime.core.significance.Significance`
        params: the :class:`~fiftyone_prime.core.types.ScoreParams` used
        num_dropped: units left out for a NaN or infinite score
            (``drop_nonfinite=True``)
    """

    modes: list[ScoreMode]
    significance: Significance
    params: SearchParams
    num_dropped: int = 0


class ScoreMembers(MemberIndex):
    """The units of each group carrying a set of tags, with their values
    (oriented: higher is better; sorted within the group) and mid-ranks.

    Args:
        data: the searched layout (with ``row_values``)
    """

    alias_class = ScoreAlias

    def __init__(self, data: GroupedInput):
        super().__init__(data.matrix, data.bounds, data.row_errors, data.labels)
        self.data = data
        self.ranks, self.ties = mid_ranks(data.row_values, data.bounds)
        self._found: dict = {}

    def members(self, group: Hashable, columns: Sequence[int]) -> np.ndarray:
        """As :meth:`MemberIndex.members`, remembered per set (the records,
        the test and the aliases ask for the same sets)."""
        key = (group, tuple(columns))
        if key not in self._found:
            self._found[key] = super().members(group, columns)
        return self._found[key]

    def group_of(self, group: Hashable) -> int:
        """The index of a group label."""
        return self._index[group]

    def values(self, group: Hashable) -> np.ndarray:
        """The group's values, sorted (worst first)."""
        g = self._index[group]
        return self.data.row_values[self._bounds[g] : self._bounds[g + 1]]

    def residuals(self, members: dict) -> dict:
        """As :meth:`MemberIndex.residuals`, with the one-sided rank test of
        ``B``'s values outside ``A`` against the group less ``A``."""
        out = {}
        for group, found in members.items():
            values = self.values(group)
            n = len(found)
            overlap = np.zeros((n, n), dtype=np.int64)
            residual = np.ones((n, n))
            for a in range(n):
                rest = np.ones(len(values), dtype=bool)
                rest[found[a]] = False
                # mid-ranks among the group less A (its values stay sorted)
                ranks, ties = mid_ranks(values[rest], np.array([0, int(rest.sum())]))
                rank_of = np.zeros(len(values))
                rank_of[rest] = ranks
                for b in range(n):
                    if a == b:
                        continue
                    inside = np.isin(found[b], found[a], assume_unique=True)
                    overlap[a, b] = int(inside.sum())
                    outside = found[b][~inside]
                    if len(outside):
                        residual[a, b] = rank_sum_p_values(
                            rank_of[outside].sum(), len(outside), int(rest.sum()), ties[0]
                        )
            out[group] = (overlap, residual)
        return out


#: Least attainable p-values below ``exp(LOG_PSI_CUT)`` are lowered to
#: ``exp(LOG_PSI_FLOOR)`` (``~1e-304``), in the family and for the modes
#: alike: the family counts those sets at every level from there (it only
#: grows, so the control stays valid), and has a few breakpoints per group
#: instead of one per size (a rank test's least p-value is astronomically
#: small for all but the largest sets).
LOG_PSI_CUT = np.log(1e-12)
LOG_PSI_FLOOR = -700.0


def _lowered(log_psi: np.ndarray) -> np.ndarray:
    return np.where(log_psi < LOG_PSI_CUT, LOG_PSI_FLOOR, log_psi)


class RankTest:
    """The test of a score search's modes (the methods of
    :class:`~fiftyone_prime.core.error_control.FisherTest`): one-sided
    Mann-Whitney on mid-ranks, its least attainable p-value (of a set's size
    alone), and Student-t intervals of the means.

    Args:
        members: the searched data's :class:`ScoreMembers`
        higher_is_worse: the score's direction (the values are oriented
            so that higher is better)
    """

    def __init__(self, members: ScoreMembers, higher_is_worse: bool):
        self.members = members
        self.sign = -1.0 if higher_is_worse else 1.0

    def _rows_of(self, m: ScoreMode) -> np.ndarray:
        return self.members.members(m.group, m.tag_indices)

    def _group_arrays(self, candidates: Sequence[ScoreMode]):
        data = self.members.data
        g = np.array([self.members.group_of(m.group) for m in candidates], dtype=np.int64)
        return g, data.bounds[g]

    def p_values(self, candidates: Sequence[ScoreMode]) -> np.ndarray:
        """Each mode's p-value."""
        g, starts = self._group_arrays(candidates)
        ranks = self.members.ranks
        sums = np.array([ranks[s + self._rows_of(m)].sum() for m, s in zip(candidates, starts)])
        sizes = np.array([m.size for m in candidates])
        return rank_sum_p_values(sums, sizes, self.members.data.sizes[g], self.members.ties[g])

    def least_log_p_values(self, candidates: Sequence[ScoreMode]) -> np.ndarray:
        """Each mode's least attainable log p-value: that of its group's
        ``size`` worst ranks."""
        g, starts = self._group_arrays(candidates)
        ranks = self.members.ranks
        sizes = np.array([m.size for m in candidates])
        sums = np.array([ranks[s : s + n].sum() for s, n in zip(starts.tolist(), sizes.tolist())])
        data = self.members.data
        return _lowered(
            rank_sum_p_values(sums, sizes, data.sizes[g], self.members.ties[g], log=True)
        )

    def log_psi(self, groups: np.ndarray, min_size: int) -> np.ndarray:
        """Per group, the least attainable log p-value of a set of each size
        ``min_size..n_g``, concatenated (for the tested family)."""
        data = self.members.data
        sizes = data.sizes[groups]
        lengths = np.maximum(sizes - min_size + 1, 0)
        n = concatenated_ranges(np.full(len(groups), min_size), sizes + 1)
        starts = np.repeat(data.bounds[groups], lengths)
        # the sum of a group's n lowest ranks: its ranks' running sum at n
        running = np.cumsum(self.members.ranks)
        before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0.0)
        sums = running[starts + n - 1] - before
        group_of = np.repeat(groups, lengths)
        ties = self.members.ties[group_of]
        return _lowered(
            rank_sum_p_values(sums, n, data.sizes[group_of], ties, log=True, log_below=LOG_PSI_CUT)
        )

    def annotate(
        self, candidates: Sequence[ScoreMode], p: np.ndarray, adjusted: Optional[np.ndarray]
    ) -> list[ScoreMode]:
        """The modes with their p-values, adjusted p-values (``None``
        without) and intervals."""
        sizes = np.array([m.size for m in candidates])
        spread = np.array(
            [
                np.std(self.members.values(m.group)[self._rows_of(m)], ddof=1) if m.size > 1 else 0
                for m in candidates
            ]
        )
        with np.errstate(invalid="ignore"):
            quantile = student_t.ppf(0.5 + CONFIDENCE / 2, np.maximum(sizes - 1, 1))
        halves = np.where(sizes > 1, quantile * spread / np.sqrt(sizes), 0.0)
        out = []
        for i, m in enumerate(candidates):
            half = float(halves[i])
            low, high = m.mean - half, m.mean + half
            out.append(
                dataclasses.replace(
                    m,
                    p_value=float(p[i]),
                    adjusted_p_value=None if adjusted is None else float(adjusted[i]),
                    mean_ci=(float(low), float(high)),
                )
            )
        return out


def find_score_modes(
    tags: Any,
    scores: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    min_size: int = DEFAULT_PARAMS.min_size,
    min_drop: float = DEFAULT_PARAMS.min_drop,
    min_gain: float = DEFAULT_PARAMS.min_gain,
    max_tags: int = DEFAULT_PARAMS.max_tags,
    minimal: bool = DEFAULT_PARAMS.minimal,
    alpha: Optional[float] = DEFAULT_PARAMS.alpha,
    error_control: str = DEFAULT_PARAMS.error_control,
    higher_is_worse: bool = True,
    drop_nonfinite: bool = False,
) -> list[ScoreMode]:
    """Finds the tag sets on which a per-sample score is worst, exactly and
    with error control.

    PRIME's definition with the mean score in place of accuracy (see
    :mod:`fiftyone_prime.core.scores`): a mode has at least ``min_size``
    samples, a mean worse than its group's by ``min_drop`` and worse than
    every proper subset's by ``min_gain`` (in the score's units), and with
    ``minimal`` holds no smaller mode. Each mode gets a one-sided
    Mann-Whitney p-value against the rest of its group, an adjusted p-value
    (a false-discovery q-value by default) and a 95% interval of its mean;
    with ``alpha`` set those above it are left out after the exact search.

    Args:
        tags: a ``(n_samples, n_tags)`` boolean array or scipy sparse matrix
        scores: ``(n_samples,)`` numbers, one per sample
        groups (None): ``(n_samples,)`` group labels; ``None``: one group
        tag_names (None): a name per tag column
        min_size (30): the least number of samples in a mode
        min_drop (0.2): the least amount, in the score's units, by which a
            mode's mean is worse than its group's
        min_gain (0.1): the least amount by which it is worse than the mean
            of any nonempty proper subset of its tags
        max_tags (3): the largest number of tags in a mode (at most 8)
        minimal (True): whether to leave out sets holding a smaller mode
        alpha (0.05): the significance level; ``None`` returns every mode of
            the definition with its p-value and no adjusted p-value
        error_control ("fdr"): ``"fdr"``, ``"fdr_by"`` or ``"fwer"``, as in
            :func:`fiftyone_prime.core.find_failure_modes`
        higher_is_worse (True): whether a higher score is worse (an error, a
            loss); ``False`` for an accuracy or an IoU
        drop_nonfinite (False): whether samples with a NaN or infinite
            score are left out (counted in :attr:`ScoreOutcome.num_dropped`)
            rather than refused

    Returns:
        a list of :class:`ScoreMode`, groups sorted, within a group by drop
        (descending), then number of tags, then tag names

    Raises:
        TypeError: if an argument has the wrong type
        ValueError: if shapes, values or thresholds are invalid, or a score
            is NaN or infinite (without ``drop_nonfinite``)
    """
    # The keywords in SearchParams' field order (SearchParams.names()).
    params = ScoreParams(min_size, min_drop, min_gain, max_tags, minimal, alpha, error_control)
    return run_score_search(
        tags,
        scores,
        groups,
        tag_names=tag_names,
        params=params,
        higher_is_worse=higher_is_worse,
        drop_nonfinite=drop_nonfinite,
    ).modes


def run_score_search(
    tags: Any,
    scores: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    params: SearchParams = DEFAULT_PARAMS,
    higher_is_worse: bool = True,
    drop_nonfinite: bool = False,
    engine: Optional[Engine] = None,
) -> ScoreOutcome:
    """:func:`find_score_modes` with its parameters as one object; also
    returns how the modes were tested.

    Args:
        tags, scores, groups, tag_names, higher_is_worse, drop_nonfinite: as
            in :func:`find_score_modes`
        params (the defaults): a :class:`~fiftyone_prime.core.types.SearchParams`
            (its ``min_drop`` and ``min_gain`` in the score's units)
        engine (None): the engine (``None``: :func:`select_engine`'s)

    Returns:
        a :class:`ScoreOutcome`
    """
    from .search import _too_large, tested_family  # search imports the records below

    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    if not isinstance(higher_is_worse, (bool, np.bool_)):
        raise TypeError(f"`higher_is_worse` must be a bool; got {higher_is_worse!r}")
    matrix = validate_tags(tags)
    n_samples, n_tags = matrix.shape
    values = validate_scores(scores, n_samples, drop_nonfinite)
    group_arr = validate_groups(groups, n_samples)
    names = validate_tag_names(tag_names, n_tags)
    finite = np.isfinite(values)
    num_dropped = int(n_samples - finite.sum())
    if num_dropped:
        logger.info("Left out %d samples whose score is NaN or infinite", num_dropped)
        matrix, values = matrix[finite], values[finite]
        if group_arr is not None:
            group_arr = (
                type(group_arr)(group_arr.codes[finite], group_arr.labels)
                if hasattr(group_arr, "codes")
                else group_arr[finite]
            )
    oriented = -values if higher_is_worse else values
    sign = -1.0 if higher_is_worse else 1.0

    engine = select_engine(params) if engine is None else engine
    compile_status.announce()
    data = engine.layout(matrix, Outcomes.scores(oriented), group_arr)
    members = ScoreMembers(data)
    test = RankTest(members, bool(higher_is_worse))
    family = None
    if params.alpha is not None:
        family = tested_family(data, params, test.log_psi)
        exact_family.refine(
            family, data.matrix, data.bounds, data.entry_bounds, data.entry_tag, data.entry_size
        )
    try:
        found = search_groups(engine, data, params).by_group()
    except TooManyCandidates as e:
        raise _too_large(e, data.labels[e.group], params) from None
    group_score = data.group_score()
    candidates: list[ScoreMode] = []
    for g in sorted(found):
        label, lo = data.labels[g], int(data.bounds[g])
        records = []
        for cols, size, _losses, _wins, gain in found[g]:
            pairs = sorted((names[c], int(c)) for c in cols)
            rows = members.members(label, [p[1] for p in pairs])
            # the kernel's sum: one addition at a time, in row order
            mean = float(np.cumsum(data.row_values[lo + rows])[-1]) / size
            records.append(
                ScoreMode(
                    group=label,
                    tags=tuple(p[0] for p in pairs),
                    tag_indices=tuple(p[1] for p in pairs),
                    size=size,
                    mean=sign * mean,
                    group_size=int(data.sizes[g]),
                    group_mean=sign * float(group_score[g]),
                    drop=float(group_score[g]) - mean,
                    gain=gain,
                    higher_is_worse=bool(higher_is_worse),
                )
            )
        records.sort(key=lambda r: (-r.drop, len(r.tags), r.tags))
        candidates.extend(records)
    kept, significance = control(candidates, None, family, params, members, test)
    logger.debug(
        "Found %d score modes (%d left out as not significant)",
        len(kept),
        significance.num_not_significant,
    )
    return ScoreOutcome(kept, significance, params, num_dropped)
