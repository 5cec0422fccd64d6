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
over the change, with the ``1e-9`` tolerance. The search is exact, the same
depth-first search as the failure-mode search
(:mod:`~fiftyone_prime.core.regression_kernels`), pruned by the bound
:func:`~fiftyone_prime.core.definition.lowest_change`: a superset with
``>= min_size`` units has at most the set's losses ``L``, so its change is
at least ``-L / min_size``.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln

from . import input_kernels, regression_kernels
from .arrays import concatenated_ranges
from .candidates import Singles, chunks
from .definition import (
    PRUNE_SLACK,
    TOLERANCE,
    change,
    lowest_change,
    may_extend,
    meets_conditions,
)
from .engine import MAX_CANDIDATE_BYTES, TooManyCandidates, candidate_bytes, num_threads
from .error_control import harmonic, step_up_q_values
from .groups import CodedGroups
from .layout import GroupedInput
from .significance import (
    PROCEDURES,
    Significance,
    TestedFamily,
    accuracy_intervals,
    fisher_p_values,
    log_limit,
)
from .types import DEFAULT_PARAMS, SearchParams
from .validation import validate_correct, validate_groups, validate_tag_names, validate_tags

__all__ = ["RegressionMode", "RegressionOutcome", "find_regressions", "run_regression_search"]

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
        accuracy_ci, baseline_accuracy_ci: 95% Clopper-Pearson intervals
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
        return cls(**kwargs)


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


#: Up to this many (group, tag) pairs, wins are counted with one bincount.
_DENSE_KEYS = 1 << 23


class RegressionInput:
    """Two models' outcomes on the units, laid out for the search.

    Rows are sorted by group (stably); a :class:`GroupedInput` over them
    with "errors" = losses gives each (group, tag) its support and losses.

    Attributes:
        data: the :class:`GroupedInput` (``num_errors``, ``entry_errors``:
            losses)
        row_kind: per sorted row, 0 (loss), 1 (win) or 2 (other), int8
        row_baseline, row_new: per sorted row, each model's correctness
        num_wins: wins per group
        entry_wins: wins per (group, tag) entry of ``data``
    """

    def __init__(self, matrix, baseline: np.ndarray, new: np.ndarray, groups):
        labels = None
        codes = None
        if isinstance(groups, CodedGroups):  # already factorized
            labels, codes = list(groups.labels), groups.codes.astype(np.int64)
        elif groups is not None:
            try:
                unique, codes = np.unique(groups, return_inverse=True)
            except TypeError as e:
                raise TypeError(f"`groups` labels cannot be sorted: {e}") from e
            labels = [u.item() if isinstance(u, np.generic) else u for u in unique]
            codes = codes.ravel().astype(np.int64)
        if codes is not None:
            if len(codes) > 1 and not bool(np.all(codes[1:] >= codes[:-1])):
                order = np.argsort(codes, kind="stable")
                matrix = matrix[order]
                if sp.issparse(matrix):
                    matrix.sort_indices()
                baseline, new, codes = baseline[order], new[order], codes[order]
        loss = baseline & ~new
        win = new & ~baseline
        # Integer codes, already sorted: the layout neither sorts nor copies.
        self.data = GroupedInput(matrix, ~loss, codes)
        if labels is not None:
            self.data.labels = labels
        self.row_baseline, self.row_new = baseline, new
        self.row_kind = np.where(loss, 0, np.where(win, 1, 2)).astype(np.int8)
        data = self.data
        n_groups = len(data.sizes)
        codes = np.repeat(np.arange(n_groups), data.sizes)
        self.num_wins = np.bincount(codes[win], minlength=n_groups).astype(np.int64)
        self.num_baseline_correct = np.bincount(codes[baseline], minlength=n_groups)
        self.num_new_correct = np.bincount(codes[new], minlength=n_groups)
        if data.sparse:
            # the wins of each (group, tag) entry, from the win rows' entries only
            indptr = data.matrix.indptr
            rows = np.flatnonzero(win)
            lengths = indptr[rows + 1] - indptr[rows]
            tags = data.matrix.indices[concatenated_ranges(indptr[rows], indptr[rows + 1])]
            keys = np.repeat(codes[rows], lengths) * data.n_tags + tags
            entry_keys = data.entry_group * data.n_tags + data.entry_tag  # sorted
            if n_groups * data.n_tags <= _DENSE_KEYS:
                self.entry_wins = np.bincount(keys, minlength=n_groups * data.n_tags)[entry_keys]
            else:
                found, counts = np.unique(keys, return_counts=True)
                self.entry_wins = np.zeros(len(entry_keys), dtype=np.int64)
                self.entry_wins[np.searchsorted(entry_keys, found)] = counts
        else:
            _, wins = input_kernels.dense_counts(data.matrix, data.bounds, win)
            self.entry_wins = wins[data.entry_group, data.entry_tag]

    def group_change(self) -> np.ndarray:
        """Each group's change (NaN for an empty group)."""
        data = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            return change(data.sizes, data.num_errors, self.num_wins)

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


@dataclass
class _Found:
    group: np.ndarray
    tags: np.ndarray  # (n, max_tags), padded with -1
    size: np.ndarray
    losses: np.ndarray
    wins: np.ndarray
    gain: np.ndarray  # NaN for single tags


class _Packed:
    """Some groups' columns (entries of ``singles``) as bitsets in the three
    regions of :mod:`~fiftyone_prime.core.regression_kernels`.

    Attributes:
        index: the entries of ``singles`` packed, group by group
        col_tag, col_bounds: each column's tag; group ``i`` of the chunk owns
            columns ``col_bounds[i]:col_bounds[i + 1]``
        bits: ``(n_cols, width)`` uint64
        lw, ww: the widths of the loss and win regions
        gl, gw, gr: per group, the words it fills in each region
    """

    def __init__(self, inp: RegressionInput, singles: Singles, chunk: np.ndarray):
        data = inp.data
        parts = [singles.rows_of(int(g)) for g in chunk]
        self.index = np.concatenate([np.arange(p.start, p.stop) for p in parts])
        lengths = [p.stop - p.start for p in parts]
        self.local_group = local_group = np.repeat(np.arange(len(chunk)), lengths)
        self.col_bounds = np.searchsorted(local_group, np.arange(len(chunk) + 1))
        self.col_tag = singles.tag[self.index]
        n_loss = data.num_errors[chunk]
        n_win = inp.num_wins[chunk]
        n_rest = data.sizes[chunk] - n_loss - n_win
        self.gl, self.gw, self.gr = -(-n_loss // 64), -(-n_win // 64), -(-n_rest // 64)
        self.lw, self.ww = int(self.gl.max()), int(self.gw.max())
        width = self.lw + self.ww + int(self.gr.max())
        self.bits = np.zeros((len(self.index), width), dtype=np.uint64)
        starts, counts = data.bounds[chunk], data.sizes[chunk]
        if data.sparse:
            column_of = np.full(len(chunk) * data.n_tags, -1, dtype=np.int64)
            column_of[local_group * data.n_tags + self.col_tag] = np.arange(len(self.index))
            regression_kernels.pack_sparse(
                data.matrix.indptr,
                data.matrix.indices,
                starts,
                counts,
                inp.row_kind,
                column_of,
                data.n_tags,
                self.lw,
                self.ww,
                self.bits,
            )
        else:
            regression_kernels.pack_dense(
                data.matrix,
                starts,
                counts,
                inp.row_kind,
                self.col_bounds,
                self.col_tag,
                self.lw,
                self.ww,
                self.bits,
            )

    @property
    def n_cols(self) -> int:
        """The number of packed columns."""
        return len(self.index)

    def subset(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bitsets of the masked ``columns``, and their groups' column bounds."""
        if columns.all():
            return self.bits, self.col_bounds
        counts = np.bincount(self.local_group[columns], minlength=len(self.col_bounds) - 1)
        return self.bits[columns], np.r_[0, np.cumsum(counts)]


def _search(
    inp: RegressionInput, params: SearchParams, plan: Optional[_FamilyPlan] = None
) -> list[_Found]:
    """Every regression mode of the definition, as batches of arrays; with
    ``plan``, the sets of 2+ tags of the tested family are counted on the
    same packed bitsets, chunk by chunk (:meth:`_FamilyPlan.add`)."""
    data = inp.data
    gscore = inp.group_change()
    n_g = data.sizes
    eligible = (n_g > 0) & (n_g >= params.min_size) & (gscore - params.min_drop >= -1 - TOLERANCE)
    sel = np.flatnonzero(eligible[data.entry_group] & (data.entry_size >= params.min_size))
    groups, tags = data.entry_group[sel], data.entry_tag[sel]
    sizes, losses, wins = data.entry_size[sel], data.entry_errors[sel], inp.entry_wins[sel]
    score, g_of = change(sizes, losses, wins), gscore[groups]
    is_mode = meets_conditions(
        sizes, score, g_of, np.inf, params.min_size, params.min_drop, params.min_gain, TOLERANCE
    )
    found = [
        _Found(
            groups[is_mode],
            tags[is_mode][:, None],
            sizes[is_mode],
            losses[is_mode],
            wins[is_mode],
            np.full(int(is_mode.sum()), np.nan),
        )
    ]
    if params.max_tags < 2:
        return found
    alive = may_extend(
        lowest_change(losses, params.min_size),
        g_of,
        score,
        params.min_drop,
        params.min_gain,
        TOLERANCE,
        PRUNE_SLACK,
    )
    if params.minimal:
        alive &= ~is_mode
    # The columns packed: the search's extendable tags and the family's.
    in_search = np.zeros(len(data.entry_group), dtype=bool)
    in_search[sel[alive]] = True
    in_family = plan.keep if plan is not None else np.zeros_like(in_search)
    union = np.flatnonzero(in_search | in_family)
    if not len(union):
        return found
    with np.errstate(divide="ignore", invalid="ignore"):
        union_score = change(
            data.entry_size[union], data.entry_errors[union], inp.entry_wins[union]
        )
    # Singles' `errors` are losses: chunks() sizes groups by their words.
    singles = Singles(
        data.entry_group[union],
        data.entry_tag[union],
        data.entry_size[union],
        data.entry_errors[union],
        union_score,
    )
    limits = np.array(
        [MAX_CANDIDATE_BYTES // candidate_bytes(1, k) for k in range(params.max_tags + 1)]
    )

    def search(chunk: np.ndarray):
        packed = _Packed(inp, singles, chunk)
        entries = union[packed.index]
        columns = in_search[entries]
        batch = None
        if columns.any():
            bits, col_bounds = packed.subset(columns)
            index, col_tag = packed.index[columns], packed.col_tag[columns]
            g_idx, cols, size, loss, win, gain, status, where = regression_kernels.search_chunk(
                bits,
                packed.lw,
                packed.ww,
                packed.gl,
                packed.gw,
                packed.gr,
                col_bounds,
                singles.errors[index],
                singles.acc[index],
                gscore[chunk],
                min_size=params.min_size,
                min_drop=params.min_drop,
                min_gain=params.min_gain,
                max_tags=params.max_tags,
                minimal=params.minimal,
                tolerance=TOLERANCE,
                slack=PRUNE_SLACK,
                limits=limits,
            )
            if status[0] == regression_kernels.TOO_MANY:
                raise TooManyCandidates(
                    int(limits[status[2]]), int(status[2]), int(chunk[where]), True
                )
            tag_of = np.where(cols >= 0, col_tag[np.maximum(cols, 0)], -1)
            batch = _Found(chunk[g_idx], tag_of, size, loss, win, gain)
        counted = None
        if plan is not None and in_family[entries].any():
            counted = plan.count(packed, in_family[entries], chunk)
        return chunk, batch, counted

    for chunk, batch, counted in _run_chunks(search, list(chunks(singles, data))):
        if batch is not None:
            found.append(batch)
        if counted is not None:
            plan.add(chunk, *counted)
    return found


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
    discordant = inp.row_kind < 2
    per_row = data.frequent_per_row(params.min_size)[discordant]
    codes = np.repeat(np.arange(len(data.sizes)), data.sizes)[discordant]
    bounds = np.searchsorted(codes, np.arange(len(data.sizes) + 1))
    frequent = data.entry_size >= params.min_size
    if groups is not None:
        frequent &= np.isin(data.entry_group, groups)
    supports = (data.entry_errors + inp.entry_wins)[frequent]
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
        self.d_c = d_c = data.num_errors + inp.num_wins
        self.log_psi = log_psi = _log_psi(d_c, data.num_errors)
        self.starts = starts = np.r_[0, np.cumsum(d_c + 1)]
        self.eligible_group = eligible_group = data.sizes >= params.min_size
        entry_d = data.entry_errors + inp.entry_wins
        frequent = (data.entry_size >= params.min_size) & eligible_group[data.entry_group]
        # The single tags are part of the family, so their exact count is a
        # lower bound of m: a p-value with p * m(p) <= alpha is at most the
        # largest delta with delta * m_singles(delta) <= alpha. Only there
        # must m be exact.
        singles_psi = np.sort(log_psi[starts[data.entry_group[frequent]] + entry_d[frequent]])
        self.cap = min(
            alpha, _largest_level(singles_psi, np.arange(1.0, len(singles_psi) + 1), alpha)
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

    def singles(self, inp: RegressionInput) -> Singles:
        """The entries of :attr:`keep` as :class:`Singles`."""
        data = inp.data
        sel = np.flatnonzero(self.keep)
        return Singles(
            data.entry_group[sel],
            data.entry_tag[sel],
            data.entry_size[sel],
            data.entry_errors[sel],
            np.zeros(len(sel)),
        )

    def count(self, packed: _Packed, columns: np.ndarray, chunk: np.ndarray):
        """Counts the sets of 2+ of the packed ``columns`` (a mask) of a chunk
        of groups; returns the kernel's ``(hist, starts, over)``."""
        bits, col_bounds = packed.subset(columns)
        return regression_kernels.family_counts(
            bits,
            packed.lw,
            packed.ww,
            packed.gl,
            packed.gw,
            packed.gr,
            col_bounds,
            min_size=self.params.min_size,
            group_min_d=self.min_d[chunk],
            max_tags=self.params.max_tags,
            budget=self.budget,
            hist_lengths=self.d_c[chunk] + 1,
        )

    def add(self, chunk: np.ndarray, hist: np.ndarray, starts: np.ndarray, over: np.ndarray):
        """Adds a chunk's counts (from :meth:`count`)."""
        for i, g in enumerate(chunk.tolist()):
            self.hist[self.starts[g] : self.starts[g + 1]] += hist[starts[i] : starts[i + 1]]
        self.over[chunk[over]] = True


def _run_chunks(work, todo):
    """``work`` on every chunk, on a thread pool of the CPUs (results in order)."""
    threads = min(len(todo), num_threads())
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(work, todo))
    return [work(chunk) for chunk in todo]


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
    (:func:`~fiftyone_prime.core.regression_kernels.family_counts`). A class
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
                singles = plan.singles(inp)

                def count(chunk):
                    packed = _Packed(inp, singles, chunk)
                    return chunk, plan.count(packed, np.ones(packed.n_cols, dtype=bool), chunk)

                for chunk, counted in _run_chunks(count, list(chunks(singles, inp.data))):
                    plan.add(chunk, *counted)
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
        return min(_largest_level(points, self.count(starts), alpha), self.cap)


def _largest_level(log_points: np.ndarray, totals: np.ndarray, alpha: float) -> float:
    """The largest ``delta <= alpha`` with ``delta * m(delta) <= alpha``, for
    the step function ``m`` that is ``totals[j]`` from ``exp(log_points[j])``
    on (sorted) and 0 before (Tarone's corrected level)."""
    if len(log_points) == 0:
        return float(alpha)
    starts = np.exp(log_points)
    ends = np.append(starts[1:], np.inf)
    reach = alpha / np.maximum(totals, 1.0)
    inside = np.where(reach < ends, reach, np.nextafter(ends, 0.0))
    fits = starts * totals <= alpha
    level = max(
        float(inside[fits].max()) if fits.any() else 0.0,
        float(np.nextafter(starts[0], 0.0)),
    )
    return min(level, float(alpha))


def _family(inp: RegressionInput, params: SearchParams) -> RegressionFamily:
    """The tested family of a regression search."""
    return RegressionFamily(inp, params)


def _records(
    inp: RegressionInput, found: list[_Found], names: list[str]
) -> tuple[list[RegressionMode], np.ndarray]:
    """The modes as records in the contract's order (groups sorted; by drop,
    descending, then number of tags, then names), and per record its
    group's index. Both models' correct counts are left for
    :func:`_complete` (the p-value needs only the losses and wins)."""
    data = inp.data
    by_group: dict[int, list[RegressionMode]] = {}
    for batch in found:
        for i in range(len(batch.group)):
            g = int(batch.group[i])
            cols = [int(c) for c in batch.tags[i] if c >= 0]
            size, losses, wins = int(batch.size[i]), int(batch.losses[i]), int(batch.wins[i])
            n_g = int(data.sizes[g])
            gb, gn = int(inp.num_baseline_correct[g]), int(inp.num_new_correct[g])
            g_change = (gn - gb) / n_g
            m_change = (wins - losses) / size
            pairs = sorted((names[c], c) for c in cols)
            gain = None if math.isnan(batch.gain[i]) else float(batch.gain[i])
            by_group.setdefault(g, []).append(
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
                    group_num_wins=int(inp.num_wins[g]),
                    group_baseline_accuracy=gb / n_g,
                    group_accuracy=gn / n_g,
                    group_change=g_change,
                    drop=g_change - m_change,
                    gain=gain,
                )
            )
    records: list[RegressionMode] = []
    group_of: list[int] = []
    for g in sorted(by_group):
        modes = sorted(by_group[g], key=lambda r: (-r.drop, len(r.tags), r.tags))
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
    significance = Significance(
        procedure=PROCEDURES[how],
        alpha=alpha,
        family_size=family.size,
        corrected_level=level,
        num_candidates=len(candidates),
        num_not_significant=len(candidates) - len(kept),
        error_control=how,
        reference_alpha=reference,
        testable_level=testable_level,
        tested_family=tested,
        family_count=family.count_kind,
    )
    return RegressionOutcome(kept, significance, params)


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
) -> RegressionOutcome:
    """:func:`find_regressions` with its parameters as one object; also
    returns how the modes were tested.

    Args:
        error_control (None): ``"fwer"``, ``"fdr"`` or ``"fdr_by"`` (see
            :func:`adjust`); by default ``params.error_control`` where
            :class:`SearchParams` has it, else ``"fwer"``
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
    inp = RegressionInput(matrix, baseline, new, group_arr)
    # The family's sets of 2+ tags are counted as the search packs each chunk.
    plan = _FamilyPlan(inp, params)
    try:
        found = _search(inp, params, plan)
    except TooManyCandidates as e:
        raise _too_large(e, inp.data.labels[e.group], params) from None
    family = RegressionFamily(inp, params, plan=plan)
    candidates, _ = _records(inp, found, names)
    outcome = _tested(candidates, family, params, how)
    outcome = dataclasses.replace(outcome, regressions=_complete(inp, outcome.regressions))
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
    exactly and with family-wise error control.

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
    ``adjusted_p_value`` controls the false-discovery rate (or, with
    ``error_control="fwer"``, the family-wise error) over every tag set the
    definition tests (see :mod:`fiftyone_prime.core.regression`), and with
    ``alpha`` set the modes above it are left out after the exact search.

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
            of the definition, still with its p-values
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
    params = SearchParams(
        min_size=min_size,
        min_drop=min_drop,
        min_gain=min_gain,
        max_tags=max_tags,
        minimal=minimal,
        alpha=alpha,
        error_control=error_control,
    )
    return run_regression_search(
        tags, baseline_correct, correct, groups, tag_names=tag_names, params=params
    ).regressions
