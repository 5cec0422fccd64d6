"""Counting the tested family exactly where that is cheap.

:class:`~fiftyone_prime.core.significance.TestedFamily` counts the sets of
two or more tags with an upper bound, ``min(C(F, k), sum_i C(t_i, k) / lo)``,
without enumerating them. The bound is loose where a class has a few
frequent tags that rarely co-occur (small classes; ``C(F, k)`` counts every
pair of frequent tags, most of which have fewer than ``min_size`` samples)
and where tags co-occur in bundles (the incidences are concentrated).

For ``max_tags <= 3``, :func:`refine` counts a class's sets exactly when its
work fits a budget: one pass over its samples counts every pair of its
frequent tags (``F`` of them) that the samples hold, a second pass every
triple that extends a frequent pair (a triple with ``min_size`` samples has
only frequent pairs); the work is the (sample, pair) and (sample, triple)
incidences the bound already computes, plus the count tables (compiled; a
numpy version lives in ``tests/core`` as its oracle). The exact supports of the sets with at least
``min_size`` samples then join the single tags' supports, and the bound's
terms are set to zero, so the family counts them as it counts single tags:
a set of ``n`` samples counts at level ``delta`` iff ``psi(n) <= delta``,
exactly. Classes are taken cheapest first until the budget is spent; the
others keep the bound. An exact count is never larger than the bound, so
every procedure stays valid and gains power.

``Significance.family_count`` says which count was used: ``"exact"`` (every
class), ``"bound"`` (none) or ``"mixed"``.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from .jit import jit
from .significance import TestedFamily

#: Work one search may spend counting families exactly: per class, the
#: (sample, pair) and (sample, triple) incidences it visits plus the cells of
#: its count tables (``F^2``, and ``F`` per frequent pair). Tens of
#: milliseconds compiled.
WORK_BUDGET = 3e7


def refine(
    family: TestedFamily,
    matrix,
    bounds: np.ndarray,
    entry_bounds: np.ndarray,
    entry_tag: np.ndarray,
    entry_size: np.ndarray,
    budget: Optional[float] = None,
) -> str:
    """Counts the family's sets exactly in the classes the budget allows.

    Args:
        family: the family, with every group recorded (``add_groups``)
        matrix: the tag matrix, rows sorted by group (array or CSR with
            sorted indices)
        bounds: group ``g``'s rows are ``bounds[g]:bounds[g + 1]``
        entry_bounds, entry_tag, entry_size: each group's tags present in it
            (sorted) and their supports (group ``g``'s are
            ``entry_bounds[g]:entry_bounds[g + 1]``)
        budget (None): the work to spend; ``None`` reads :data:`WORK_BUDGET`

    Returns:
        ``"exact"``, ``"bound"`` or ``"mixed"``, also stored as
        ``family.count_kind``
    """
    budget = WORK_BUDGET if budget is None else float(budget)
    groups = family._groups
    if family.max_tags == 1 or not groups:
        family.count_kind = "exact"
        return family.count_kind
    if family.max_tags > 3:
        family.count_kind = "bound"
        return family.count_kind
    min_size, max_tags = family.min_size, family.max_tags
    bounds = np.asarray(bounds, dtype=np.int64)
    entry_bounds = np.asarray(entry_bounds, dtype=np.int64)
    entry_size = np.asarray(entry_size, dtype=np.int64)
    n_groups = len(bounds) - 1
    entry_group = np.repeat(np.arange(n_groups), np.diff(entry_bounds))
    frequent = entry_size >= min_size
    n_frequent = np.bincount(entry_group[frequent], minlength=n_groups)
    # The groups the family recorded, in its order (add_groups keeps those
    # with min_size samples and a tag with min_size samples).
    recorded = np.flatnonzero((np.diff(bounds) >= min_size) & (n_frequent > 0))
    if len(recorded) != len(groups):
        raise ValueError("the family was not recorded from this data")
    f = n_frequent[recorded].astype(float)
    incidences = np.array([g.incidences for g in groups]).reshape(len(groups), -1)
    # Two passes over the (sample, pair) incidences, one over the triples,
    # the pair table and, at most, a triple table per frequent pair.
    pairs_at_most = np.minimum(_choose(f, 2), np.floor(incidences[:, 0] / min_size))
    cost = 2 * incidences[:, 0] + f**2
    if max_tags == 3:
        cost += incidences[:, 1] + pairs_at_most * f
    order = np.argsort(cost, kind="stable")
    n_take = int(np.searchsorted(np.cumsum(cost[order]), budget, side="right"))
    chosen = np.sort(order[:n_take])
    if len(chosen):
        # Each chosen group's sets with >= min_size samples, at most the bound.
        most = np.zeros(len(chosen))
        for k in range(2, max_tags + 1):
            most += np.minimum(
                _choose(f[chosen], k), np.floor(incidences[chosen, k - 2] / min_size)
            )
        supports, starts = _exact_supports(
            matrix,
            bounds,
            entry_bounds,
            np.asarray(entry_tag, dtype=np.int64),
            entry_size,
            recorded[chosen],
            min_size,
            max_tags,
            int(most.sum()),
        )
        for j, i in enumerate(chosen.tolist()):
            group = groups[i]
            found = supports[starts[j] : starts[j + 1]]
            group.supports = np.sort(np.concatenate([group.supports, found]))
            group.incidences = np.zeros_like(group.incidences)
    family._size = family._steps = None
    exact = len(chosen)
    family.count_kind = "exact" if exact == len(groups) else "bound" if exact == 0 else "mixed"
    return family.count_kind


def _choose(n: np.ndarray, k: int) -> np.ndarray:
    out = np.ones_like(n, dtype=float)
    for i in range(k):
        out *= np.maximum(n - i, 0.0) / (i + 1)
    return np.round(out)


def _exact_supports(
    matrix, bounds, entry_bounds, entry_tag, entry_size, chosen, min_size, max_tags, capacity
):
    """The supports (``>= min_size``) of every set of 2..max_tags frequent
    tags in each chosen group, concatenated, and each group's start."""
    csr = matrix if sp.issparse(matrix) else sp.csr_matrix(matrix)
    out = np.empty(max(capacity, 1), dtype=np.int64)
    counts = np.zeros(len(chosen), dtype=np.int64)
    _count_sets(
        csr.indptr,
        csr.indices,
        bounds,
        entry_bounds,
        entry_tag,
        entry_size,
        chosen.astype(np.int64),
        int(min_size),
        int(max_tags),
        int(matrix.shape[1]),
        out,
        counts,
    )
    return out, np.r_[0, np.cumsum(counts)]


@jit
def _count_sets(
    indptr,
    indices,
    bounds,
    entry_bounds,
    entry_tag,
    entry_size,
    chosen,
    min_size,
    max_tags,
    n_tags,
    out,
    counts,
):  # pragma: no cover - compiled
    local = np.full(n_tags, -1, dtype=np.int64)
    written = 0
    for j in range(len(chosen)):
        g = chosen[j]
        f = 0
        for e in range(entry_bounds[g], entry_bounds[g + 1]):
            if entry_size[e] >= min_size:
                local[entry_tag[e]] = f
                f += 1
        pairs = np.zeros(f * f, dtype=np.int64)
        have = np.empty(f, dtype=np.int64)
        for row in range(bounds[g], bounds[g + 1]):
            t = 0
            for z in range(indptr[row], indptr[row + 1]):
                at = local[indices[z]]
                if at >= 0:
                    have[t] = at
                    t += 1
            for a in range(t):
                for b in range(a + 1, t):
                    pairs[have[a] * f + have[b]] += 1
        start = written
        # The frequent pairs, numbered; a triple is counted only as an
        # extension of its first two tags' pair, if that is frequent.
        number = np.full(f * f, -1, dtype=np.int64)
        n_pairs = 0
        for ab in range(f * f):
            if ab // f < ab % f and pairs[ab] >= min_size:
                out[written] = pairs[ab]
                written += 1
                number[ab] = n_pairs
                n_pairs += 1
        if max_tags >= 3 and n_pairs:
            triples = np.zeros(n_pairs * f, dtype=np.int64)
            for row in range(bounds[g], bounds[g + 1]):
                t = 0
                for z in range(indptr[row], indptr[row + 1]):
                    at = local[indices[z]]
                    if at >= 0:
                        have[t] = at
                        t += 1
                for a in range(t):
                    for b in range(a + 1, t):
                        pair = number[have[a] * f + have[b]]
                        if pair >= 0:
                            for c in range(b + 1, t):
                                triples[pair * f + have[c]] += 1
            for x in range(n_pairs * f):
                if triples[x] >= min_size:
                    out[written] = triples[x]
                    written += 1
        counts[j] = written - start
        for e in range(entry_bounds[g], entry_bounds[g + 1]):
            local[entry_tag[e]] = -1
