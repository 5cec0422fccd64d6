"""Where did the new model regress? An exact search for regression modes.

Two models classify the same units. A unit's ``d = new_correct -
baseline_correct`` is -1 (a *loss*: only the baseline is right), +1 (a
*win*: only the new model is right) or 0 (both right, or both wrong). A
set's *change* is ``mean(d) = acc_new - acc_baseline``. For a group ``c``
(a ground-truth class) a tag set ``T`` with ``1 <= |T| <= max_tags`` is a
*regression mode* iff

1. ``n_T >= min_size``;
2. ``change(T) <= change(c) - min_drop``;
3. ``change(U) >= change(T) + min_gain`` for every nonempty proper subset
   ``U`` of ``T`` (every tag is needed);
4. with ``minimal=True``: no nonempty proper subset of ``T`` is itself one.

This is PRIME's failure-mode definition with accuracy replaced by change:
conditions 1-3 are :func:`~fiftyone_prime.core.definition.meets_conditions`
over the change, with the ``1e-9`` tolerance. The search is the
failure-mode search with another score: the same layout, driver, engine
seam and kernel (:mod:`~fiftyone_prime.core.engine`,
:mod:`~fiftyone_prime.core.kernels`), scoring
:func:`~fiftyone_prime.core.definition.change` (a loss where only the
baseline is right, a win where only the new model is), pruned by
:func:`~fiftyone_prime.core.definition.lowest_score`: a superset with
``>= min_size`` units has at most the set's losses ``L``, so its change is
at least ``-L / min_size``. What is this module's own: its records, its
exact conditional test and its tested family.

Significance. Each mode's ``p_value`` is exact and conditional on its
class's *discordant* units (those exactly one model gets right). Null
hypothesis: given the class's ``D_c`` discordant units of which ``L_c``
are losses, which discordant units are losses does not depend on the tag
set, i.e. ``T``'s ``D_T`` discordant units are as a draw without
replacement from the class's. Then ``L_T ~ Hypergeom(D_c, L_c, D_T)`` and
``p = P(X >= L_T)`` (one-sided: more losses than the class's share). This
is McNemar's exact test made conditional on the class, the analogue of the
failure-mode search's Fisher test; concordant units (both right or both
wrong) carry no information on which model is better and drop out.

Family. As in :mod:`fiftyone_prime.core.significance` (Tarone's
testability with Bonferroni, LAMP): a set cannot reach a p-value below
``psi(D_T) = P(X = min(D_T, L_c))``, which depends on its discordant units
``D_T``, not on its size ``n_T``. The tested family is every set of
``1..max_tags`` tags with ``n_T >= min_size`` in its class; the count of
those with ``psi(D_T) <= delta`` is bounded from above by
:class:`~fiftyone_prime.core.significance.TestedFamily` run over the
*discordant units only*: with ``min_size`` 1, a set's "size" its ``D_T``,
its "errors" ``L_T``, and only the tags with ``>= min_size`` units in the
class (every tag of a tested set has them). Single tags are counted exactly
by their discordant supports in the testable interval of ``D``; sets of
``k`` tags by ``min(C(F, k), sum_i C(t_i, k) / lo)`` over the discordant
units ``i`` (``F``: such tags with ``>= lo`` discordant units). Dropping the
condition ``n_T >= min_size`` from the count only adds sets, so the count
is an upper bound and the control conservative.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Optional

import numpy as np
from scipy.special import gammaln

from . import compile_status, family_kernel
from .aliases import MemberIndex, group_proxies
from .arrays import concatenated_ranges
from .candidates import Chunk
from .engine import (
    Engine,
    TooManyCandidates,
    packed_chunks,
    search_groups,
    select_engine,
)
from .error_control import harmonic, step_up_q_values, unadjusted
from .input_kernels import REST
from .layout import Outcomes
from .significance import (
    PROCEDURES,
    Significance,
    TestedFamily,
    accuracy_intervals,
    fisher_p_values,
    largest_level,
    log_limit,
)
from .types import DEFAULT_PARAMS, AliasOf, SearchParams
from .validation import validate_correct, validate_groups, validate_tag_names, validate_tags

__all__ = [
    "RegressionAlias",
    "RegressionMode",
    "RegressionOutcome",
    "find_regressions",
    "run_regression_search",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegressionMode:
    """A tag set on which the new model lost accuracy against the baseline,
    more than on its class.

    Attributes:
        group: the group (class), or ``None`` for a single unnamed group
        tags: the tag names, sorted
        tag_indices: their columns in the input, in the same order
        size: units of the group carrying every tag
        num_losses: of those, units only the baseline classifies right
        num_wins: units only the new model classifies right
        baseline_num_correct, num_correct: units each model classifies right
        baseline_accuracy, accuracy: the two models' accuracies on the set
        change: ``accuracy - baseline_accuracy``
        group_size: units of the group
        group_num_losses, group_num_wins: the group's losses and wins
        group_baseline_accuracy, group_accuracy: the two models'
            accuracies on the group
        group_change: ``group_accuracy - group_baseline_accuracy``
        drop: ``group_change - change`` (``>= min_drop``)
        gain: the least ``change(U) - change`` over nonempty proper subsets
            ``U``; ``None`` for a single tag
        p_value: ``P(X >= num_losses)``, ``X ~ Hypergeom(D_c, L_c, D_T)``
            over the discordant units (see the module)
        adjusted_p_value: ``p_value`` corrected for the tested family
            (``None`` with ``alpha=None``)
        accuracy_ci, baseline_accuracy_ci: 95% Clopper-Pearson intervals
        aliases: the reported modes of the same group that are proxies of
            this one (their losses outside its units are not significant at
            the run's cutoff), as :class:`RegressionAlias` records, strongest
            first; empty when none, and always with ``alpha=None`` (see
            :mod:`fiftyone_prime.core.aliases`)
    """

    group: Optional[Hashable]
    tags: tuple[str, ...]
    tag_indices: tuple[int, ...]
    size: int
    num_losses: int
    num_wins: int
    baseline_num_correct: int
    num_correct: int
    baseline_accuracy: float
    accuracy: float
    change: float
    group_size: int
    group_num_losses: int
    group_num_wins: int
    group_baseline_accuracy: float
    group_accuracy: float
    group_change: float
    drop: float
    gain: Optional[float]
    p_value: Optional[float] = None
    adjusted_p_value: Optional[float] = None
    accuracy_ci: Optional[tuple[float, float]] = None
    baseline_accuracy_ci: Optional[tuple[float, float]] = None
    aliases: tuple[RegressionAlias, ...] = ()

    @property
    def num_tags(self) -> int:
        """The number of tags in the set."""
        return len(self.tags)

    @property
    def num_discordant(self) -> int:
        """Units exactly one model classifies right."""
        return self.num_losses + self.num_wins

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict of this record."""
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["tag_indices"] = list(self.tag_indices)
        for key in ("accuracy_ci", "baseline_accuracy_ci"):
            d[key] = list(d[key]) if d[key] else None
        d["aliases"] = [a.to_dict() for a in self.aliases]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegressionMode:
        """Builds a record from :meth:`to_dict`'s output."""
        kwargs = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        kwargs["tags"] = tuple(kwargs["tags"])
        kwargs["tag_indices"] = tuple(int(i) for i in kwargs.get("tag_indices") or ())
        for key in ("accuracy_ci", "baseline_accuracy_ci"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(float(v) for v in kwargs[key])
        kwargs["aliases"] = tuple(RegressionAlias.from_dict(a) for a in kwargs.get("aliases") or ())
        return cls(**kwargs)


@dataclass(frozen=True)
class RegressionAlias(AliasOf, RegressionMode):
    """A reported regression mode shown as a proxy of a stronger one of its
    group: all the fields of :class:`RegressionMode` (its own statistics),
    plus its ``overlap`` with the stronger mode and its ``residual_p_value``
    (:class:`~fiftyone_prime.core.types.AliasOf`): the conditional test of
    its losses on its discordant units outside the stronger mode's.
    """


@dataclass(frozen=True)
class RegressionOutcome:
    """What a regression search found and how it was tested.

    Attributes:
        regressions: the significant regression modes (all of the
            definition's when ``alpha`` is ``None``), in the search's order
        significance: a :class:`~fiftyone_prime.core.significance.Significance`
        params: the :class:`SearchParams` used
    """

    regressions: list[RegressionMode]
    significance: Significance
    params: SearchParams


class RegressionInput:
    """Two models' outcomes on the units, laid out for the search.

    Rows are sorted by group (stably) by the engine's layout, with what is
    scored the change in accuracy
    (:meth:`~fiftyone_prime.core.layout.Outcomes.change`): per (group, tag)
    its support, losses (``entry_errors``) and wins.

    Args:
        matrix: the validated tag matrix
        baseline, new: per row, whether each model classifies it right
        groups: per row, its group label (or :class:`CodedGroups`), or ``None``
        engine (None): the engine whose layout to use (the compiled one's
            by default)

    Attributes:
        data: the :class:`GroupedInput` (``num_errors``, ``entry_errors``:
            losses; ``num_wins``, ``entry_wins``: wins)
        row_baseline, row_new: per sorted row, each model's correctness
        num_baseline_correct, num_new_correct: per group, each model's
            correct units
    """

    def __init__(self, matrix, baseline: np.ndarray, new: np.ndarray, groups, engine=None):
        engine = select_engine(DEFAULT_PARAMS) if engine is None else engine
        self.data = data = engine.layout(matrix, Outcomes.change(baseline, new), groups)
        if data.order is not None:
            baseline, new = baseline[data.order], new[data.order]
        self.row_baseline, self.row_new = baseline, new
        n_groups = len(data.sizes)
        codes = np.repeat(np.arange(n_groups), data.sizes)
        self.num_baseline_correct = np.bincount(codes[baseline], minlength=n_groups)
        self.num_new_correct = np.bincount(codes[new], minlength=n_groups)

    def rows_of(self, g: int, cols: Sequence[int]) -> np.ndarray:
        """Group ``g``'s rows (global, sorted) carrying every tag of ``cols``."""
        data = self.data
        lo, hi = int(data.bounds[g]), int(data.bounds[g + 1])
        if data.sparse:
            indptr = data.matrix.indptr
            start, stop = int(indptr[lo]), int(indptr[hi])
            hit = np.isin(data.matrix.indices[start:stop], np.asarray(cols))
            row_of = np.repeat(np.arange(hi - lo), np.diff(indptr[lo : hi + 1]))
            counts = np.bincount(row_of[hit], minlength=hi - lo)
            return lo + np.flatnonzero(counts == len(set(cols)))
        block = data.matrix[lo:hi][:, list(cols)]
        return lo + np.flatnonzero(np.asarray(block, dtype=bool).all(axis=1))


#: The most sets of two or more tags the exact family count enumerates in
#: one class; a class past it is counted by the bound instead.
FAMILY_BUDGET = 1 << 21

#: The level up to which the family is counted exactly when ``alpha`` is
#: ``None`` (no decision is made then; adjusted p-values above it use the bound).
REFERENCE_ALPHA = 0.05


def _bound_family(
    inp: RegressionInput, params: SearchParams, groups: Optional[np.ndarray] = None
) -> TestedFamily:
    """The family's upper bound (see the module), over ``groups`` (all by default)."""
    data = inp.data
    family = TestedFamily(1, params.max_tags)
    discordant = data.row_kind != REST
    per_row = data.frequent_per_row(params.min_size)[discordant]
    codes = np.repeat(np.arange(len(data.sizes)), data.sizes)[discordant]
    bounds = np.searchsorted(codes, np.arange(len(data.sizes) + 1))
    frequent = data.entry_size >= params.min_size
    if groups is not None:
        frequent &= np.isin(data.entry_group, groups)
    supports = (data.entry_errors + data.entry_wins)[frequent]
    support_bounds = np.searchsorted(data.entry_group[frequent], np.arange(len(data.sizes) + 1))
    family.add_groups(per_row, bounds, supports, support_bounds, data.num_errors)
    return family


def _log_psi(num_discordant: np.ndarray, num_losses: np.ndarray) -> np.ndarray:
    """Per group, ``log psi(D)`` for ``D = 0..D_c``, concatenated: the least
    attainable log p-value of a set with ``D`` discordant units."""
    lengths = num_discordant + 1
    d = concatenated_ranges(np.zeros(len(lengths), dtype=np.int64), lengths)
    d_c, l_c = np.repeat(num_discordant, lengths), np.repeat(num_losses, lengths)

    def log_comb(a, b):
        return gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0)

    return np.where(
        d <= l_c,
        log_comb(l_c, np.minimum(d, l_c)) - log_comb(d_c, d),
        log_comb(d, np.minimum(l_c, d)) - log_comb(d_c, l_c),
    )


class _FamilyPlan:
    """What the exact family count needs before the sets of 2+ tags are
    enumerated (see :class:`RegressionFamily`), and their counts as chunks
    of groups report them.

    Attributes:
        cap: the level up to which the count is exact
        bound: the upper-bound family over every class
        d_c, log_psi, starts: per group its discordant units, and ``log
            psi(D)`` for ``D = 0..D_c`` at ``log_psi[starts[g]:starts[g + 1]]``
        testable: where ``log_psi <= log cap``
        min_d: per group, the least testable ``D`` (``D_c + 1`` when none)
        eligible_group: groups with ``>= min_size`` units
        keep: the (group, tag) entries a tested set can be built from
        hist: per group and ``D``, the counted sets (single tags so far)
        over: per group, whether its enumeration passed the budget
    """

    def __init__(self, inp: RegressionInput, params: SearchParams, budget: int = FAMILY_BUDGET):
        data = inp.data
        self.params, self.budget = params, budget
        alpha = REFERENCE_ALPHA if params.alpha is None else float(params.alpha)
        self.bound = _bound_family(inp, params)
        n_groups = len(data.sizes)
        self.d_c = d_c = data.num_errors + data.num_wins
        self.log_psi = log_psi = _log_psi(d_c, data.num_errors)
        self.starts = starts = np.r_[0, np.cumsum(d_c + 1)]
        self.eligible_group = eligible_group = data.sizes >= params.min_size
        entry_d = data.entry_errors + data.entry_wins
        frequent = (data.entry_size >= params.min_size) & eligible_group[data.entry_group]
        # The single tags are part of the family, so their exact count is a
        # lower bound of m: a p-value with p * m(p) <= alpha is at most the
        # largest delta with delta * m_singles(delta) <= alpha. Only there
        # must m be exact.
        singles_psi = np.sort(log_psi[starts[data.entry_group[frequent]] + entry_d[frequent]])
        self.cap = min(
            alpha, largest_level(singles_psi, np.arange(1.0, len(singles_psi) + 1), alpha)
        )
        limit = float(log_limit(self.cap))
        self.testable = testable = log_psi <= limit
        first = np.full(n_groups, -1, dtype=np.int64)
        where = np.flatnonzero(testable)
        owner = np.searchsorted(starts, where, side="right") - 1
        first_idx = np.unique(owner, return_index=True)
        first[first_idx[0]] = where[first_idx[1]] - starts[first_idx[0]]
        self.min_d = np.where(first >= 0, first, d_c + 1)
        self.keep = keep = frequent & (entry_d >= self.min_d[data.entry_group])
        self.hist = np.zeros(int(starts[-1]), dtype=np.int64)
        np.add.at(self.hist, starts[data.entry_group[keep]] + entry_d[keep], 1)
        self.over = np.zeros(n_groups, dtype=bool)

    def count(self, bits: Chunk):
        """Counts the sets of 2+ of a chunk's packed columns; returns the
        kernel's ``(hist, starts, over)``."""
        return family_kernel.discordant_counts(
            bits,
            min_size=self.params.min_size,
            group_min_d=self.min_d[bits.chunk],
            max_tags=self.params.max_tags,
            budget=self.budget,
            hist_lengths=self.d_c[bits.chunk] + 1,
        )

    def add(self, chunk: np.ndarray, counted) -> None:
        """Adds a chunk's counts (from :meth:`count`)."""
        hist, starts, over = counted
        for i, g in enumerate(chunk.tolist()):
            self.hist[self.starts[g] : self.starts[g + 1]] += hist[starts[i] : starts[i + 1]]
        self.over[chunk[over]] = True


class RegressionFamily:
    """The family of tag sets a regression search tests, counted exactly
    where it matters.

    ``m(delta)``, the number of tested sets (``n_T >= min_size``, up to
    ``max_tags`` tags) whose least attainable p-value ``psi(D_T)`` is at most
    ``delta``, is counted **exactly** for ``delta <= cap`` (``alpha``): every
    set with ``psi <= cap`` has at least ``lo_c`` discordant units (the
    least ``D`` with ``psi(D) <= cap`` in its class), and both supports,
    ``n_T >= min_size`` and ``D_T >= lo_c``, are anti-monotone, so a
    depth-first enumeration pruned by them visits every such set
    (:func:`~fiftyone_prime.core.family_kernel.discordant_counts`). A class
    whose enumeration passes :data:`FAMILY_BUDGET` sets is counted by the
    upper bound instead (:class:`TestedFamily` over its discordant units), as
    is every class for ``delta > cap``. Tarone-Bonferroni decides a mode
    only where ``p * m(p) <= alpha``, i.e. ``p <= alpha``, where the count
    is exact (or an upper bound: conservative).

    Attributes:
        cap: the level up to which the count is exact
        bound: the upper-bound family over every class
        num_bounded: classes counted by the bound (past the budget)
        count_kind: ``"exact"``, ``"mixed"`` or ``"bound"``
    """

    def __init__(
        self,
        inp: RegressionInput,
        params: SearchParams,
        budget: int = FAMILY_BUDGET,
        plan: Optional[_FamilyPlan] = None,
    ):
        if plan is None:  # count the sets of 2+ tags here (the search counts them as it runs)
            plan = _FamilyPlan(inp, params, budget)
            if params.max_tags >= 2 and plan.keep.any():
                for chunk, counted in packed_chunks(inp.data, plan.keep, plan.count):
                    plan.add(chunk, counted)
        data = inp.data
        n_groups = len(data.sizes)
        self.cap, self.bound = plan.cap, plan.bound
        over, hist, d_c = plan.over, plan.hist, plan.d_c
        self.num_bounded = int(over.sum())
        self.partial = _bound_family(inp, params, np.flatnonzero(over)) if over.any() else None
        group_of = np.repeat(np.arange(n_groups), d_c + 1)
        counted = (hist > 0) & plan.testable & ~over[group_of]
        points, increments = plan.log_psi[counted], hist[counted].astype(float)
        order = np.argsort(points, kind="stable")
        points, totals = points[order], np.cumsum(increments[order])
        last = np.ones(len(points), dtype=bool)
        last[:-1] = points[1:] != points[:-1]
        self._points, self._totals = points[last], totals[last]
        exact_groups = int((plan.eligible_group & ~over & (d_c > 0)).sum())
        self.count_kind = (
            "exact" if not self.num_bounded else ("bound" if not exact_groups else "mixed")
        )

    def _exact(self, deltas: np.ndarray) -> np.ndarray:
        limits = log_limit(deltas)
        at = np.searchsorted(self._points, limits, side="right") - 1
        out = np.where(at >= 0, self._totals[np.maximum(at, 0)] if len(self._totals) else 0.0, 0.0)
        if self.partial is not None:
            out = out + self.partial.count(deltas)
        return out

    def count(self, deltas) -> np.ndarray:
        """``m(delta)``: exact for ``delta <= cap`` (bounded in classes past
        the budget), the upper bound above it."""
        deltas = np.atleast_1d(np.asarray(deltas, dtype=float))
        full = self.bound.count(deltas)
        return np.where(deltas <= self.cap, np.minimum(self._exact(deltas), full), full)

    @property
    def size(self) -> float:
        """A bound of the whole family: every set with ``>= min_size`` units."""
        return self.bound.size

    def adjust(self, p_values: np.ndarray) -> np.ndarray:
        """Tarone-Bonferroni adjusted p-values, ``min(1, p * m(p))``."""
        p = np.asarray(p_values, dtype=float)
        if p.size == 0:
            return p.copy()
        unique, inverse = np.unique(p, return_inverse=True)
        m = np.maximum(self.count(unique), 1.0)
        return np.minimum(1.0, unique * m)[inverse]

    def corrected_level(self, alpha: float) -> float:
        """The largest ``delta <= alpha`` with ``delta * m(delta) <= alpha``."""
        points = [self._points]
        if self.partial is not None:
            points.append(self.partial._step_function()[0])
        points = np.unique(np.concatenate(points))
        points = points[points <= math.log(min(alpha, self.cap))]
        if len(points) == 0:
            return float(alpha)
        starts = np.exp(points)
        return min(largest_level(points, self.count(starts), alpha), self.cap)


def _family(inp: RegressionInput, params: SearchParams) -> RegressionFamily:
    """The tested family of a regression search."""
    return RegressionFamily(inp, params)


def _records(
    inp: RegressionInput, found: dict[int, list], names: list[str]
) -> tuple[list[RegressionMode], np.ndarray]:
    """The modes (:meth:`~fiftyone_prime.core.engine.Modes.by_group`) as
    records in the contract's order (groups sorted; by drop, descending,
    then number of tags, then names), and per record its group's index.
    Both models' correct counts are left for :func:`_complete` (the p-value
    needs only the losses and wins)."""
    data = inp.data
    records: list[RegressionMode] = []
    group_of: list[int] = []
    for g in sorted(found):
        n_g = int(data.sizes[g])
        gb, gn = int(inp.num_baseline_correct[g]), int(inp.num_new_correct[g])
        g_change = (gn - gb) / n_g
        modes = []
        for cols, size, losses, wins, gain in found[g]:
            m_change = (wins - losses) / size
            pairs = sorted((names[c], int(c)) for c in cols)
            modes.append(
                RegressionMode(
                    group=data.labels[g],
                    tags=tuple(p[0] for p in pairs),
                    tag_indices=tuple(p[1] for p in pairs),
                    size=size,
                    num_losses=losses,
                    num_wins=wins,
                    # counted by _complete, for the modes reported only
                    baseline_num_correct=0,
                    num_correct=0,
                    baseline_accuracy=math.nan,
                    accuracy=math.nan,
                    change=m_change,
                    group_size=n_g,
                    group_num_losses=int(data.num_errors[g]),
                    group_num_wins=int(data.num_wins[g]),
                    group_baseline_accuracy=gb / n_g,
                    group_accuracy=gn / n_g,
                    group_change=g_change,
                    drop=g_change - m_change,
                    gain=gain,
                )
            )
        modes.sort(key=lambda r: (-r.drop, len(r.tags), r.tags))
        records.extend(modes)
        group_of.extend([g] * len(modes))
    return records, np.asarray(group_of, dtype=np.int64)


def regression_p_values(modes: Sequence[RegressionMode]) -> np.ndarray:
    """The exact conditional p-values of regression modes (see the module):
    ``P(X >= L_T)`` with ``X ~ Hypergeom(D_c, L_c, D_T)``; 1 for a set
    without discordant units."""
    if not modes:
        return np.zeros(0)
    d_t = np.array([m.num_losses + m.num_wins for m in modes])
    l_t = np.array([m.num_losses for m in modes])
    d_c = np.array([m.group_num_losses + m.group_num_wins for m in modes])
    l_c = np.array([m.group_num_losses for m in modes])
    return fisher_p_values(d_t, l_t, d_c, l_c)


def error_control_of(params: SearchParams, error_control: Optional[str] = None) -> str:
    """The error control a regression search applies: ``error_control`` when
    given, else ``params.error_control`` (:class:`SearchParams`' default,
    ``"fdr"``)."""
    how = error_control or params.error_control
    if how not in PROCEDURES:
        raise ValueError(f"`error_control` must be one of {sorted(PROCEDURES)}; got {how!r}")
    return how


def least_p_values(modes: Sequence[RegressionMode]) -> np.ndarray:
    """``psi(D_T)``: each mode's least attainable p-value given its class's
    discordant units, ``P(X = min(D_T, L_c))``."""
    d_t = np.array([m.num_discordant for m in modes], dtype=float)
    d_c = np.array([m.group_num_losses + m.group_num_wins for m in modes], dtype=float)
    l_c = np.array([m.group_num_losses for m in modes], dtype=float)

    def log_comb(a, b):
        return gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0)

    return np.exp(
        np.where(
            d_t <= l_c,
            log_comb(l_c, np.minimum(d_t, l_c)) - log_comb(d_c, d_t),
            log_comb(d_t, np.minimum(l_c, d_t)) - log_comb(d_c, l_c),
        )
    )


def adjust(
    p_values: np.ndarray,
    least: np.ndarray,
    family: RegressionFamily,
    params: SearchParams,
    how: str = "fwer",
) -> tuple[np.ndarray, Optional[float]]:
    """The adjusted p-values of a regression search's modes: the one place
    its error control is applied, by the procedures the failure-mode search
    uses, over the family of :class:`RegressionFamily`.

    -   ``"fwer"``: Tarone-Bonferroni, ``min(1, p * m(p))``;
    -   ``"fdr"`` / ``"fdr_by"``: Benjamini-Hochberg (or -Yekutieli) over
        Tarone's testable sets (Gilbert 2005): ``delta*``, the largest level
        with ``delta * m(delta) <= alpha``, fixes the tested family
        ``{T: psi_T <= delta*}`` of ``m(delta*)`` sets; a mode outside it gets
        1, the others step-up q-values ``min(1, min_{r >= rank} p_(r) m c / r)``
        (``c = 1``, or ``sum_{j <= m} 1/j`` for BY).

    Args:
        p_values: the modes' p-values
        least: the modes' least attainable p-values ``psi(D_T)``
        family: the tested family
        params: the search parameters (``alpha``; 0.05 fixes ``delta*``
            when it is ``None``)
        how ("fwer"): ``"fwer"``, ``"fdr"`` or ``"fdr_by"``

    Returns:
        ``(adjusted p-values, corrected level)``: the per-set level a
        p-value had to reach (``None`` without ``alpha``)
    """
    alpha = params.alpha
    if how == "fwer":
        level = None if alpha is None else family.corrected_level(alpha)
        return family.adjust(p_values), level
    reference = REFERENCE_ALPHA if alpha is None else alpha
    delta = family.corrected_level(reference)
    m = max(float(family.count(np.array([delta]))[0]), 1.0)
    p = np.asarray(p_values, dtype=float)
    testable = np.asarray(least) <= delta * (1 + 1e-9)
    out = np.ones(len(p))
    dependence = "any" if how == "fdr_by" else "prds"
    if testable.any():
        out[testable] = step_up_q_values(p[testable], m, dependence)
    level = None
    if alpha is not None:
        c = harmonic(m) if how == "fdr_by" else 1.0
        level = alpha * max(int((out <= alpha).sum()), 1) / (m * c)
    return out, level


def _tested(
    candidates: list[RegressionMode],
    family: RegressionFamily,
    params: SearchParams,
    how: str = "fwer",
) -> RegressionOutcome:
    level = None
    if candidates:
        p = regression_p_values(candidates)
        adjusted, level = adjust(p, least_p_values(candidates), family, params, how)
        candidates = [
            dataclasses.replace(m, p_value=float(p[i]), adjusted_p_value=float(adjusted[i]))
            for i, m in enumerate(candidates)
        ]
    alpha = params.alpha
    kept = candidates if alpha is None else [m for m in candidates if m.adjusted_p_value <= alpha]
    reference = REFERENCE_ALPHA if alpha is None else alpha
    testable_level = family.corrected_level(reference)
    tested = float(family.count(np.array([testable_level]))[0])
    if alpha is None:
        level = None
    elif how == "fwer":
        level = family.corrected_level(alpha)
    elif level is None:  # no candidates
        c = harmonic(max(tested, 1.0)) if how == "fdr_by" else 1.0
        level = alpha / (max(tested, 1.0) * c)
    significance = Significance.of_family(
        how,
        alpha,
        family,
        level,
        len(candidates),
        len(kept),
        reference_alpha=reference,
        testable_level=testable_level,
        tested_family=tested,
    )
    return RegressionOutcome(kept, significance, params)


def _untested(
    candidates: list[RegressionMode], params: SearchParams, how: str
) -> RegressionOutcome:
    """:func:`_tested` without ``alpha``: p-values, no adjusted p-values
    (``None``) and no family counted."""
    p = regression_p_values(candidates)
    candidates = [dataclasses.replace(m, p_value=float(p[i])) for i, m in enumerate(candidates)]
    return RegressionOutcome(candidates, unadjusted(PROCEDURES[how], how, len(candidates)), params)


def _complete(inp: RegressionInput, modes: list[RegressionMode]) -> list[RegressionMode]:
    """Both models' correct counts, accuracies and intervals of the modes."""

    if not modes:
        return modes
    index = {label: g for g, label in enumerate(inp.data.labels)}
    base_ok, new_ok = [], []
    for m in modes:
        rows = inp.rows_of(index[m.group], m.tag_indices)
        if len(rows) != m.size:  # the kernel and numpy must agree
            raise AssertionError(f"{m.group!r} {m.tags}: {len(rows)} != {m.size} units")
        base_ok.append(int(inp.row_baseline[rows].sum()))
        new_ok.append(int(inp.row_new[rows].sum()))
    sizes = np.array([m.size for m in modes])
    low, high = accuracy_intervals(np.array(new_ok), sizes)
    b_low, b_high = accuracy_intervals(np.array(base_ok), sizes)
    return [
        dataclasses.replace(
            m,
            baseline_num_correct=base_ok[i],
            num_correct=new_ok[i],
            baseline_accuracy=base_ok[i] / m.size,
            accuracy=new_ok[i] / m.size,
            accuracy_ci=(float(low[i]), float(high[i])),
            baseline_accuracy_ci=(float(b_low[i]), float(b_high[i])),
        )
        for i, m in enumerate(modes)
    ]


def _grouped(
    inp: RegressionInput, modes: list[RegressionMode], outcome: RegressionOutcome
) -> RegressionOutcome:
    """The outcome with ``modes`` (completed) and, with ``alpha`` set, the
    proxies folded into the mode that explains them (see
    :mod:`fiftyone_prime.core.aliases`): a residual counts the discordant
    units, and the losses among them."""
    significance = outcome.significance
    if significance.alpha is not None and len(modes) > 1:
        data = inp.data
        members = MemberIndex(
            data.matrix,
            data.bounds,
            data.row_errors,
            data.labels,
            counted=data.row_kind != REST,
            alias_class=RegressionAlias,
        )
        reported = len(modes)
        modes = group_proxies(modes, members, significance.corrected_level)
        significance = dataclasses.replace(significance, num_aliases=reported - len(modes))
    return dataclasses.replace(outcome, regressions=modes, significance=significance)


def validate_pair(baseline_correct: Any, correct: Any, n_samples: int):
    """Checks the two models' correctness vectors (same shape, booleans)."""
    try:
        baseline = validate_correct(baseline_correct, n_samples)
    except (TypeError, ValueError) as e:
        raise type(e)(str(e).replace("`correct`", "`baseline_correct`")) from None
    return baseline, validate_correct(correct, n_samples)


def run_regression_search(
    tags: Any,
    baseline_correct: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    params: SearchParams = DEFAULT_PARAMS,
    error_control: Optional[str] = None,
    engine: Optional[Engine] = None,
) -> RegressionOutcome:
    """:func:`find_regressions` with its parameters as one object; also
    returns how the modes were tested.

    Args:
        tags, baseline_correct, correct, groups, tag_names: as in
            :func:`find_regressions`
        params (the defaults): a :class:`SearchParams`
        error_control (None): ``"fwer"``, ``"fdr"`` or ``"fdr_by"`` (see
            :func:`adjust`); by default ``params.error_control``
            (``"fdr"``)
        engine (None): the :class:`~fiftyone_prime.core.engine.Engine`;
            ``None`` lets :func:`~fiftyone_prime.core.engine.select_engine`
            choose (tests pass their oracle engines here)
    """
    from .search import _too_large

    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    how = error_control_of(params, error_control)
    matrix = validate_tags(tags)
    n_samples, n_tags = matrix.shape
    baseline, new = validate_pair(baseline_correct, correct, n_samples)
    group_arr = validate_groups(groups, n_samples)
    names = validate_tag_names(tag_names, n_tags)
    engine = select_engine(params) if engine is None else engine
    compile_status.announce()
    inp = RegressionInput(matrix, baseline, new, group_arr, engine)
    # The family's sets of 2+ tags are counted as the search packs each
    # chunk; with alpha=None nothing is adjusted, so no family is counted.
    plan = None if params.alpha is None else _FamilyPlan(inp, params)
    try:
        found = search_groups(engine, inp.data, params, plan).by_group()
    except TooManyCandidates as e:
        raise _too_large(e, inp.data.labels[e.group], params) from None
    candidates, _ = _records(inp, found, names)
    if plan is None:
        outcome = _untested(candidates, params, how)
    else:
        outcome = _tested(candidates, RegressionFamily(inp, params, plan=plan), params, how)
    outcome = _grouped(inp, _complete(inp, outcome.regressions), outcome)
    logger.debug(
        "Found %d regression modes (%d not significant)",
        len(outcome.regressions),
        outcome.significance.num_not_significant,
    )
    return outcome


def find_regressions(
    tags: Any,
    baseline_correct: Any,
    correct: Any,
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
) -> list[RegressionMode]:
    """Finds the tag sets where a new model regressed against a baseline,
    exactly, with the false-discovery rate controlled by default.

    With ``change(S) = acc_new(S) - acc_baseline(S)``, a tag set ``T`` of a
    class ``c`` is a regression mode when ``n_T >= min_size``,
    ``change(T) <= change(c) - min_drop``, every nonempty proper subset
    ``T'`` has ``change(T') >= change(T) + min_gain`` and (``minimal``) no
    smaller regression mode is inside it: PRIME's definition with accuracy
    replaced by change. The search returns precisely those sets.

    Each mode carries both models' accuracies on the set and on its class,
    its size, and an exact one-sided p-value conditional on the class's
    discordant units (units exactly one model gets right). The null
    hypothesis: among the class's ``D_c`` discordant units, ``L_c`` of them
    losses (only the baseline right), the set's ``D_T`` discordant units are
    a random draw; ``p = P(X >= L_T)``, ``X ~ Hypergeom(D_c, L_c, D_T)``.
    ``adjusted_p_value`` is a false-discovery q-value (Benjamini-Hochberg
    over Tarone's testable sets; with ``error_control="fwer"``, a
    family-wise Tarone-Bonferroni value) over every tag set the definition
    tests (see :mod:`fiftyone_prime.core.regression`), and the modes above
    ``alpha`` are left out after the exact search. With ``alpha=None`` every
    mode of the definition is returned with its p-value and no adjusted
    p-value (``None``).

    Args:
        tags: a ``(n_samples, n_tags)`` boolean array or scipy sparse matrix
        baseline_correct: ``(n_samples,)`` booleans, whether the baseline
            model classifies each sample right
        correct: ``(n_samples,)`` booleans, the same for the new model
        groups (None): ``(n_samples,)`` group labels; ``None``: one group
        tag_names (None): a name per tag column
        min_size (30): the least number of samples in a mode
        min_drop (0.2): the least drop of the change below the class's
        min_gain (0.1): the least rise of the change from removing tags
        max_tags (3): the largest number of tags in a mode (at most 8)
        minimal (True): whether to leave out sets holding a smaller mode
        alpha (0.05): the significance level; ``None`` returns every mode
            of the definition with its p-value and no adjusted p-value (no
            family is counted then)
        error_control ("fdr"): what ``alpha`` bounds: the false-discovery
            rate (``"fdr"``, Benjamini-Hochberg over Tarone's testable sets;
            ``"fdr_by"``, Benjamini-Yekutieli), or the family-wise error rate
            (``"fwer"``, Tarone-Bonferroni); see :func:`adjust`

    Returns:
        a list of :class:`RegressionMode`, groups sorted, within a group by
        drop (descending), then number of tags, then tag names

    Raises:
        TypeError: if an argument has the wrong type
        ValueError: if shapes, values or thresholds are invalid
    """
    # The keywords in SearchParams' field order (SearchParams.names()).
    params = SearchParams(min_size, min_drop, min_gain, max_tags, minimal, alpha, error_control)
    return run_regression_search(
        tags, baseline_correct, correct, groups, tag_names=tag_names, params=params
    ).regressions
