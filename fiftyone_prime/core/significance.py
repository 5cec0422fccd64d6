"""How much to trust a failure mode: exact p-values, the tested family, intervals.

A search tests a great many tag sets, so some meet the failure-mode
definition by chance. This module gives each mode

-   ``p_value``: the one-sided Fisher exact (hypergeometric) p-value of its
    error count given its class: ``P(X >= e_T)`` with
    ``X ~ Hypergeom(n_g, e_g, n_T)``, i.e. the chance that ``n_T`` samples
    drawn from the class without replacement hold at least as many errors;
-   ``adjusted_p_value``: that p-value corrected for every hypothesis the
    definition tests: a false-discovery (Benjamini-Hochberg) q-value by
    default, or the family-wise (Bonferroni-Tarone) value below; which one
    is ``SearchParams.error_control``, and the false-discovery procedures
    live in :mod:`fiftyone_prime.core.error_control`;
-   ``accuracy_ci``: the exact (Clopper-Pearson) 95% interval of its accuracy.

The family and the family-wise correction (Bonferroni with Tarone's
testability, as in LAMP, Terada et al., PNAS 2013; ``error_control="fwer"``):

-   The family is every tag set of ``1..max_tags`` tags with at least
    ``min_size`` samples in its class, in every class: each is a hypothesis
    "errors are spread over this set as over the rest of the class".
-   Given the class's size and error count (fixed under Fisher's
    conditional null), a set of ``n`` samples cannot reach a p-value below
    ``psi(n) = P(X = min(n, e_g))``. A set with ``psi(n) > delta`` can never
    be significant at level ``delta`` and is not counted at that level
    (Tarone, Biometrics 1990).
-   With ``m(delta)`` the number of sets of the family with
    ``psi <= delta``, a mode's adjusted p-value is
    ``min(1, p * m(p))``: the smallest family-wise level at which
    Tarone-Bonferroni rejects it. Reporting only modes with an adjusted
    p-value ``<= alpha`` bounds the probability that *any* reported mode is
    a chance finding by ``alpha``, whatever the dependence between tag sets;
    and since the control is family-wise, leaving out modes after the exact
    search (minimality, gain) keeps it.
-   ``m(delta)`` is counted exactly for single tags. For ``k >= 2`` tags it
    is bounded from above, without enumerating the sets, by
    ``min(C(F, k), sum_i C(t_i, k) / lo)``: ``F`` is the number of tags with
    at least ``lo`` samples (every tag of a set with ``lo`` samples has
    ``lo`` samples), ``t_i`` is how many tags with ``>= min_size`` samples
    sample ``i`` carries, and each set with ``>= lo`` samples accounts for at
    least ``lo`` of the ``sum_i C(t_i, k)`` (sample, k-set) incidences. An
    upper bound only makes the correction conservative. Where the work is
    small, :mod:`fiftyone_prime.core.exact_family` replaces the bound by the
    exact count (``Significance.family_count``).

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.special import gammaln, log_ndtr, ndtr
from scipy.stats import beta, hypergeom

from . import family_kernel
from .arrays import concatenated_ranges

#: The family-wise procedure (``error_control="fwer"``): :meth:`TestedFamily.adjust`.
FWER_PROCEDURE = "bonferroni-tarone"

#: The false-discovery procedure (``error_control="fdr"``, the default):
#: Benjamini-Hochberg over Tarone's testable sets (:mod:`.error_control`).
FDR_PROCEDURE = "benjamini-hochberg-tarone"

#: The same under any dependence (``error_control="fdr_by"``): Benjamini-Yekutieli.
FDR_BY_PROCEDURE = "benjamini-yekutieli-tarone"

#: The procedure of each ``SearchParams.error_control``.
PROCEDURES = {"fdr": FDR_PROCEDURE, "fdr_by": FDR_BY_PROCEDURE, "fwer": FWER_PROCEDURE}

#: The name of the default multiple-testing procedure, stored with every run.
PROCEDURE = FDR_PROCEDURE

#: The procedure of re-measured and held-out modes (:func:`benjamini_hochberg`).
BH_PROCEDURE = "benjamini-hochberg"

#: The coverage of :func:`accuracy_intervals`.
CONFIDENCE = 0.95

# Relative slack when comparing a set's least attainable log p-value with a
# threshold, so that float rounding never leaves a set out of the count.
_LOG_SLACK = 1e-9


def log_limit(levels: np.ndarray | float) -> np.ndarray:
    """The largest least attainable log p-value counted at each significance level.

    A relative slack of ``1e-9`` absorbs float rounding, so that no set is
    left out of a count; a level of 0 gives ``-inf`` (the slack added to
    ``log 0`` alone made it NaN, which a sorted search reads as above
    everything).

    Args:
        levels: significance levels (clipped to ``[0, 1]``)

    Returns:
        the limits, as an array of the same shape
    """
    levels = np.clip(np.asarray(levels, dtype=float), 0.0, 1.0)
    positive = levels > 0
    logs = np.log(np.where(positive, levels, 1.0))
    return np.where(positive, logs + _LOG_SLACK * np.maximum(1.0, np.abs(logs)), -np.inf)


def fisher_p_values(
    sizes: np.ndarray, errors: np.ndarray, group_sizes: np.ndarray, group_errors: np.ndarray
) -> np.ndarray:
    """One-sided Fisher exact p-values of error counts within their groups.

    Args:
        sizes: ``n_T`` per set
        errors: ``e_T`` per set (misclassified samples in the set)
        group_sizes: ``n_g`` per set
        group_errors: ``e_g`` per set

    Returns:
        ``P(X >= e_T)`` with ``X ~ Hypergeom(n_g, e_g, n_T)``, per set
    """
    return hypergeom.sf(
        np.asarray(errors) - 1,
        np.asarray(group_sizes),
        np.asarray(group_errors),
        np.asarray(sizes),
    ).astype(float)


def mid_ranks(values: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks of values within their groups, and each group's tie term.

    Args:
        values: per row, its value; rows sorted by group, then value
        bounds: group ``g``'s rows are ``bounds[g]:bounds[g + 1]``

    Returns:
        ``(ranks, ties)``: per row its rank among its group's values, from
        1 (ties share their mean rank); per group ``sum (t**3 - t)`` over
        its runs of ``t`` tied values
    """
    n = len(values)
    n_groups = len(bounds) - 1
    group_start = np.repeat(bounds[:-1], np.diff(bounds))
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = values[1:] != values[:-1]
    new_run[bounds[:-1][bounds[:-1] < n]] = True
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.r_[starts, n])
    run_of = np.cumsum(new_run) - 1
    ranks = (starts - group_start[starts] + (lengths + 1) / 2.0)[run_of]
    run_group = np.searchsorted(bounds, starts, side="right") - 1
    t = lengths.astype(float)
    ties = np.bincount(run_group, t**3 - t, minlength=n_groups)
    return ranks, ties


def rank_sum_p_values(
    rank_sums: np.ndarray,
    sizes: np.ndarray,
    group_sizes: np.ndarray,
    ties: np.ndarray,
    log: bool = False,
    log_below: Optional[float] = None,
) -> np.ndarray:
    """One-sided Mann-Whitney p-values that sets hold their groups' lowest
    values: the normal approximation with the tie correction and the
    continuity correction (``scipy.stats.mannwhitneyu(x, y,
    alternative="less", method="asymptotic")`` of the set ``x`` against the
    rest of its group ``y``).

    Args:
        rank_sums: per set, the sum of its units' mid-ranks in the group
        sizes: per set, ``n_1``
        group_sizes: per set, its group's ``n``
        ties: per set, its group's ``sum (t**3 - t)`` (:func:`mid_ranks`)
        log (False): whether to return the log p-values
        log_below (None): with ``log``, a level (at most -1) below which a
            log p-value need not be known: one whose normal deviate ``z``
            puts it surely below (``log Phi(z) <= -z**2 / 2`` for ``z <= -1``)
            is returned as ``-inf`` without being evaluated

    Returns:
        ``P(U <= u)`` per set, ``u = R - n_1 (n_1 + 1) / 2``; 1 where the
        rest of the group is empty or every value is tied
    """
    r = np.asarray(rank_sums, dtype=float)
    n1 = np.asarray(sizes, dtype=float)
    n = np.asarray(group_sizes, dtype=float)
    n2 = n - n1
    u = r - n1 * (n1 + 1.0) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        var = n1 * n2 / 12.0 * ((n + 1.0) - np.asarray(ties, dtype=float) / (n * (n - 1.0)))
        z = (u - n1 * n2 / 2.0 + 0.5) / np.sqrt(var)
    defined = (n2 > 0) & (var > 0)
    z = np.where(defined, z, np.inf)
    # scipy.stats.norm's logcdf and cdf, without their argument checks
    if log and log_below is not None:
        p = np.full(z.shape, -np.inf)
        needed = ~(z < -np.sqrt(-2.0 * min(log_below, -1.0)))
        p[needed] = log_ndtr(z[needed])
    else:
        p = log_ndtr(z) if log else ndtr(z)
    return np.minimum(p, 0.0 if log else 1.0)


def accuracy_intervals(
    num_correct: np.ndarray, sizes: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) confidence intervals of accuracies.

    Args:
        num_correct: correct samples per set
        sizes: samples per set (``> 0``)
        confidence (0.95): the coverage

    Returns:
        ``(low, high)`` arrays
    """
    x = np.asarray(num_correct, dtype=float)
    n = np.asarray(sizes, dtype=float)
    tail = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, beta.ppf(tail, x, n - x + 1), 0.0)
        high = np.where(x < n, beta.ppf(1.0 - tail, x + 1, n - x), 1.0)
    return low, high


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of a few hypotheses.

    Used for held-out confirmation, where only the run's modes are tested.
    NaN p-values (modes that could not be measured) stay NaN and do not
    count as hypotheses.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out


# Sizes whose least attainable p-values are computed together (8 MiB each).
_PSI_BATCH = 1 << 20


def _binomials(n_max: int, k_max: int) -> np.ndarray:
    """``C(n, k)`` as floats for ``0 <= n <= n_max`` and ``0 <= k <= k_max``,
    rounded once from the exact integers."""
    return np.array(
        [[float(math.comb(n, k)) for k in range(k_max + 1)] for n in range(n_max + 1)]
    ).reshape(n_max + 1, k_max + 1)


@dataclass
class _GroupFamily:
    """What the family count needs of one group."""

    supports: np.ndarray  # sorted supports of the tags with >= min_size samples
    incidences: np.ndarray  # sum_i C(t_i, k) for k = 2..max_tags
    log_psi: np.ndarray  # least attainable log p-value of a set of min_size + i samples
    pivot: int  # the index where log_psi is smallest (a set of e_g samples)


def largest_level(log_points: np.ndarray, totals: np.ndarray, alpha: float) -> float:
    """The largest ``delta <= alpha`` with ``delta * m(delta) <= alpha``, for
    the step function ``m`` that is ``totals[j]`` from ``exp(log_points[j])``
    on (sorted) and 0 before (Tarone's corrected level)."""
    if len(log_points) == 0:
        return float(alpha)
    # m is totals[j] on [exp(points[j]), exp(points[j + 1])), and 0 before;
    # each interval's largest delta that fits, just below its end when
    # alpha / m reaches past it (m jumps there).
    starts = np.exp(log_points)
    ends = np.append(starts[1:], np.inf)
    reach = alpha / np.maximum(totals, 1.0)
    inside = np.where(reach < ends, reach, np.nextafter(ends, 0.0))
    fits = starts * totals <= alpha
    level = max(
        float(inside[fits].max()) if fits.any() else 0.0,
        float(np.nextafter(starts[0], 0.0)),  # below every breakpoint, m is 0
    )
    return min(level, float(alpha))


class TestedFamily:
    """The family of tag sets a search tests, counted per group as it runs.

    Args:
        min_size: the search's ``min_size``
        max_tags: the search's ``max_tags``
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, min_size: int, max_tags: int):
        self.min_size = int(min_size)
        self.max_tags = int(max_tags)
        self._groups: list[_GroupFamily] = []
        self._log_factorials = np.zeros(1)
        self._size: Optional[float] = None
        self._steps: Optional[tuple[np.ndarray, np.ndarray]] = None

    def _log_comb(self, a, b):
        """``log C(a, b)`` from a table of log factorials (integer arguments)."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        table = self._log_factorials
        return table[a] - table[b] - table[a - b]

    def add_groups(
        self,
        frequent_per_sample: np.ndarray,
        bounds: np.ndarray,
        supports: np.ndarray,
        support_bounds: np.ndarray,
        num_errors: np.ndarray,
        log_psi: Optional[Callable[[np.ndarray, int], np.ndarray]] = None,
    ) -> None:
        """Records many groups at once (the same as one by one).

        Args:
            frequent_per_sample: per sample, how many of its tags have
                ``>= min_size`` samples in its group; samples sorted by group
            bounds: group ``g``'s samples are ``bounds[g]:bounds[g + 1]``
            supports: the groups' tags' numbers of samples (tags absent
                from a group may be left out); group ``g``'s are
                ``support_bounds[g]:support_bounds[g + 1]``
            support_bounds: see ``supports``
            num_errors: each group's number of misclassified samples
            log_psi (None): another test's least attainable log p-value,
                which depends on a set's size alone (a rank test's):
                ``log_psi(groups, min_size)`` gives, per group of
                ``groups``, its values at sizes ``min_size..n_g``,
                concatenated. Each group's smallest value is its pivot,
                and each side is made monotone downwards (which only adds
                sets to a count). ``None``: Fisher's, from ``num_errors``
        """
        per_sample = np.asarray(frequent_per_sample, dtype=np.int64)
        bounds = np.asarray(bounds, dtype=np.int64)
        support_bounds = np.asarray(support_bounds, dtype=np.int64)
        supports = np.asarray(supports, dtype=np.int64)
        num_errors = np.asarray(num_errors, dtype=np.int64)
        n_groups, sizes = len(bounds) - 1, np.diff(bounds)
        support_group = np.repeat(np.arange(n_groups), np.diff(support_bounds))
        frequent = supports >= self.min_size
        n_frequent = np.bincount(support_group[frequent], minlength=n_groups)
        # A group can have a tested set only with min_size samples and a frequent tag.
        kept = np.flatnonzero((sizes >= self.min_size) & (n_frequent > 0))
        if not len(kept):
            return
        incidences = self._incidences(per_sample, bounds, kept)
        size_of, errors_of = sizes[kept], num_errors[kept]
        if len(self._log_factorials) <= size_of.max():
            self._log_factorials = gammaln(np.arange(size_of.max() + 1, dtype=float) + 1.0)
        pivots = np.clip(errors_of, self.min_size, size_of) - self.min_size
        sorted_supports = supports[frequent][
            np.lexsort((supports[frequent], support_group[frequent]))
        ]
        support_starts = np.r_[0, np.cumsum(n_frequent[kept])]
        lengths = size_of - self.min_size + 1  # sizes min_size..n_g
        # Batches of groups with about _PSI_BATCH sizes in all bound the
        # temporary arrays.
        batch_of = np.cumsum(lengths) // _PSI_BATCH
        for batch in np.split(np.arange(len(kept)), np.flatnonzero(np.diff(batch_of)) + 1):
            if log_psi is None:
                batch_psi = self._log_psi(size_of[batch], errors_of[batch])
            else:
                batch_psi = np.asarray(log_psi(kept[batch], self.min_size), dtype=float)
            psi_starts = np.r_[0, np.cumsum(lengths[batch])]
            for j, i in enumerate(batch.tolist()):
                psi = batch_psi[psi_starts[j] : psi_starts[j + 1]]
                if log_psi is None:
                    pivot = int(pivots[i])
                    # psi falls to the pivot and rises after it; rounding can
                    # break that by an ulp in groups of tens of millions of
                    # samples, and the counts (and _breakpoints) rely on it:
                    # each side is made monotone.
                    psi[: pivot + 1] = np.minimum.accumulate(psi[: pivot + 1])
                    psi[pivot:] = np.maximum.accumulate(psi[pivot:])
                else:  # monotone by lowering only: never fewer sets counted
                    pivot = int(np.argmin(psi))
                    psi[: pivot + 1] = np.minimum.accumulate(psi[: pivot + 1])
                    psi[pivot:] = np.minimum.accumulate(psi[pivot:][::-1])[::-1]
                self._groups.append(
                    _GroupFamily(
                        sorted_supports[support_starts[i] : support_starts[i + 1]],
                        incidences[i],
                        psi,
                        pivot,
                    )
                )
        self._size = self._steps = None

    def _log_psi(self, sizes: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Per group, the least attainable log p-value of a set of each size
        ``min_size..n_g``, concatenated."""
        lengths = sizes - self.min_size + 1
        ns = concatenated_ranges(np.full(len(sizes), self.min_size), sizes + 1)
        e_g, n_g = np.repeat(errors, lengths), np.repeat(sizes, lengths)
        return np.where(
            ns <= e_g,
            self._log_comb(e_g, np.minimum(ns, e_g)) - self._log_comb(n_g, ns),
            self._log_comb(ns, e_g) - self._log_comb(n_g, e_g),
        )

    def _incidences(
        self, per_sample: np.ndarray, bounds: np.ndarray, kept: np.ndarray
    ) -> np.ndarray:
        """Per kept group, ``sum_i C(t_i, k)`` for ``k = 2..max_tags``, where
        ``t_i`` is sample ``i``'s number of frequent tags: ``(len(kept), max_tags - 1)``."""
        out = np.zeros((len(kept), max(0, self.max_tags - 1)))
        if not out.size:
            return out
        nonempty = np.flatnonzero(np.diff(bounds) > 0)
        position = np.searchsorted(nonempty, kept)  # kept groups are nonempty
        table = _binomials(int(per_sample.max()), self.max_tags)
        for k in range(2, self.max_tags + 1):
            # Adjacent, nonempty segments: each sum runs over its group only.
            sums = np.add.reduceat(table[per_sample, k], bounds[nonempty])
            out[:, k - 2] = sums[position]
        return out

    def count(self, deltas: np.ndarray) -> np.ndarray:
        """Bounds ``m(delta)``: the sets whose least attainable p-value is ``<= delta``.

        Args:
            deltas: thresholds in ``[0, 1]``

        Returns:
            an upper bound of ``m(delta)`` per threshold (exact for single tags)
        """
        deltas = np.atleast_1d(np.asarray(deltas, dtype=float))
        limits = log_limit(deltas)
        breakpoints, totals = self._step_function()
        if len(totals) == 0:
            return np.zeros(len(deltas))
        at = np.searchsorted(breakpoints, limits, side="right") - 1
        return np.where(at >= 0, totals[np.maximum(at, 0)], 0.0)

    def _step_function(self) -> tuple[np.ndarray, np.ndarray]:
        """``m`` as a step function of ``log delta``: sorted breakpoints (the
        groups' least attainable log p-values) and ``m`` from each one on.

        Each group's count is evaluated once at its own breakpoints; the
        increments of all groups are then merged in one sort, so a count
        costs a binary search however many groups and thresholds there are.
        The counts are whole numbers, so the merged sums are exact.
        """
        if self._steps is None:
            if self._groups:
                points, increments = self._compiled_rises()
            else:
                points, increments = np.zeros(0), np.zeros(0)
            order = np.argsort(points, kind="stable")
            points, totals = points[order], np.cumsum(increments[order])
            last = np.ones(len(points), dtype=bool)  # one step per distinct breakpoint
            last[:-1] = points[1:] != points[:-1]
            self._steps = (points[last], totals[last])
        return self._steps

    def _compiled_rises(self) -> tuple[np.ndarray, np.ndarray]:
        """Each group's breakpoints where its count rises, and by how much,
        in group order, in one compiled pass over all groups
        (:func:`fiftyone_prime.core.family_kernel.family_steps`).

        A group's count at a log p-value limit: the sizes whose least
        attainable log p-value is within the limit form one interval
        ``[lo, hi]`` around the pivot (psi falls until ``n = e_g`` and rises
        after it); single tags are counted exactly by their supports in it,
        sets of ``k`` tags bounded by ``min(C(F, k), incidences_k / lo)``
        with ``F`` the tags of ``>= lo`` samples. It may change only at
        psi's falling side (where ``lo`` moves) and at psi of the supports
        on its rising side (where ``hi`` passes a single tag).
        """
        groups = self._groups

        def starts(arrays):
            return np.r_[0, np.cumsum([len(a) for a in arrays])]

        return family_kernel.family_steps(
            np.concatenate([g.log_psi for g in groups]),
            starts([g.log_psi for g in groups]),
            np.array([g.pivot for g in groups]),
            np.concatenate([g.supports for g in groups]),
            starts([g.supports for g in groups]),
            np.array([g.incidences for g in groups]).reshape(len(groups), -1),
            self.min_size,
        )

    @property
    def size(self) -> float:
        """A bound of the whole family: every set with ``>= min_size`` samples."""
        if self._size is None:
            self._size = float(self.count(np.ones(1))[0])
        return self._size

    def adjust(self, p_values: np.ndarray) -> np.ndarray:
        """Tarone-Bonferroni adjusted p-values, ``min(1, p * m(p))``."""
        p = np.asarray(p_values, dtype=float)
        if p.size == 0:
            return p.copy()
        unique, inverse = np.unique(p, return_inverse=True)
        m = np.maximum(self.count(unique), 1.0)  # a tested set counts itself
        return np.minimum(1.0, unique * m)[inverse]

    def corrected_level(self, alpha: float) -> float:
        """The per-set level a p-value must reach: the largest ``delta`` with
        ``delta * m(delta) <= alpha`` (Tarone's corrected level).

        For display; reporting decides mode by mode, ``p * m(p) <= alpha``.
        """
        points, totals = self._step_function()
        return largest_level(points, totals, alpha)


@dataclass(frozen=True)
class Significance:
    """How a search's modes were tested.

    Attributes:
        procedure: the multiple-testing procedure (:data:`PROCEDURES`)
        alpha: the level (of the false-discovery rate or the family-wise
            error rate, see ``error_control``), or ``None`` when nothing was
            left out
        family_size: an upper bound of the number of tag sets tested
            (``None`` with ``alpha=None``: no family is counted then, and
            ``reference_alpha``, ``testable_level`` and ``tested_family``
            are ``None`` too)
        corrected_level: the per-set level a p-value had to reach, or
            ``None`` without ``alpha``: Tarone's level for ``"fwer"``; the
            step-up cutoff ``alpha * R / (m * c)`` that the reported modes
            met for the false-discovery procedures
        num_candidates: the modes of the definition (conditions 1-4)
        num_not_significant: how many of them were left out
        error_control: ``"fdr"``, ``"fdr_by"`` or ``"fwer"`` (``None`` in
            records stored before the choice existed: ``"fwer"``)
        reference_alpha: the level that fixed the testable family: ``alpha``
        testable_level: Tarone's level at ``reference_alpha``: the sets whose
            least attainable p-value is at most it form the tested family
        tested_family: ``m``, the number of sets counted in that family (an
            upper bound, see ``family_count``); the false-discovery
            procedures divide by it
        family_count: how sets of 2+ tags were counted: ``"exact"``,
            ``"bound"`` (the incidence bound) or ``"mixed"`` (exact in the
            classes the work budget allowed; :mod:`.exact_family`), or
            ``"none"`` with ``alpha=None`` (nothing counted)
        num_aliases: reported modes shown as aliases of a stronger mode
    """

    procedure: str
    alpha: Optional[float]
    family_size: Optional[float]
    corrected_level: Optional[float]
    num_candidates: int
    num_not_significant: int
    error_control: Optional[str] = None
    reference_alpha: Optional[float] = None
    testable_level: Optional[float] = None
    tested_family: Optional[float] = None
    family_count: str = "bound"
    num_aliases: int = 0

    @classmethod
    def of_family(
        cls,
        how: str,
        alpha: Optional[float],
        family: TestedFamily,
        level: Optional[float],
        num_candidates: int,
        num_reported: int,
        *,
        reference_alpha: Optional[float],
        testable_level: Optional[float],
        tested_family: Optional[float],
        num_aliases: int = 0,
    ) -> Significance:
        """The record of a search whose ``num_candidates`` modes were tested
        over ``family`` (its ``size`` and ``count_kind``) with procedure
        ``how`` at ``level``, of which ``num_reported`` are reported (plus
        ``num_aliases`` listed under them)."""
        return cls(
            procedure=PROCEDURES[how],
            alpha=alpha,
            family_size=family.size,
            corrected_level=level,
            num_candidates=num_candidates,
            num_not_significant=num_candidates - num_reported - num_aliases,
            error_control=how,
            reference_alpha=reference_alpha,
            testable_level=testable_level,
            tested_family=tested_family,
            family_count=getattr(family, "count_kind", "bound"),
            num_aliases=num_aliases,
        )

    def to_dict(self) -> dict:
        """Returns a JSON-serializable dict."""
        return dict(self.__dict__)
