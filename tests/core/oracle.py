"""A brute-force reading of the definition, for checking the engines.

It enumerates every tag combination up to ``max_tags`` in every group, with a
mask per combination, and applies the four conditions of
``shared/docs/design.md`` literally to a score: the mean of a per-unit score.
A failure-mode search scores accuracy (:func:`brute_force`: 1 for a correct
unit, 0 for an error); a regression search the change in accuracy
(:func:`tests.core.regression_oracle.brute_force_regressions`: new minus
baseline correctness, -1, 0 or +1); a score search the mean of a continuous
score (:func:`brute_force_score_modes`). Slow, obvious, and independent of the
engine's pruning.
"""

from itertools import combinations

import numpy as np

TOL = 1e-9


def brute_force_scored(
    tags,
    unit_score,
    groups=None,
    *,
    tag_names=None,
    min_size=30,
    min_drop=0.2,
    min_gain=0.1,
    max_tags=3,
    minimal=True,
):
    """Every mode of the definition with ``score(S) = mean(unit_score[S])``
    (integer unit scores, or floats: a set's sum is then taken one addition
    at a time over its units sorted by score, as the search sums).

    Returns:
        ``(group, tags, size, rows)`` tuples in the contract's order: by
        group, then drop (descending), number of tags and tag names;
        ``rows`` is the mode's mask over the group's units, and ``group``
        its label (``None`` without groups)
    """
    tags = np.asarray(tags.toarray() if hasattr(tags, "toarray") else tags, dtype=bool)
    unit_score = np.asarray(unit_score)
    continuous = unit_score.dtype.kind == "f"
    if not continuous:
        unit_score = unit_score.astype(np.int64)
    n, m = tags.shape
    names = [str(i) for i in range(m)] if tag_names is None else list(tag_names)
    single_group = groups is None
    groups = np.zeros(n, dtype=int) if single_group else np.asarray(groups)
    out = []
    for g in sorted(set(groups.tolist())):
        rows = groups == g
        gt, gu = tags[rows], unit_score[rows]
        n_g = len(gu)
        if n_g == 0:
            continue
        score_g = gu.sum() / n_g
        stats = {}
        for k in range(1, max_tags + 1):
            for combo in combinations(range(m), k):
                mask = gt[:, list(combo)].all(axis=1)
                if continuous:
                    total = float(np.cumsum(np.sort(gu[mask]))[-1]) if mask.any() else 0.0
                else:
                    total = int(gu[mask].sum())
                stats[combo] = (int(mask.sum()), total, mask)

        def score(combo, stats=stats):
            size, total, _ = stats[combo]
            return total / size

        def meets_conditions(combo, stats=stats, score_g=score_g):
            if stats[combo][0] < min_size:
                return False
            s = score(combo)
            if score_g - s < min_drop - TOL:
                return False
            for r in range(1, len(combo)):
                for sub in combinations(combo, r):
                    if score(sub) - s < min_gain - TOL:
                        return False
            return True

        modes = {c for c in stats if meets_conditions(c)}
        if minimal:
            modes = {
                c
                for c in modes
                if not any(sub in modes for r in range(1, len(c)) for sub in combinations(c, r))
            }
        rows_out = []
        for combo in modes:
            size, _, mask = stats[combo]
            tag_tuple = tuple(sorted(names[i] for i in combo))
            rows_out.append((score_g - score(combo), len(combo), tag_tuple, size, mask))
        rows_out.sort(key=lambda r: (-r[0], r[1], r[2]))
        label = None if single_group else g
        out.extend((label, r[2], r[3], np.flatnonzero(rows)[r[4]]) for r in rows_out)
    return out


def brute_force(tags, correct, groups=None, **kwargs):
    """The failure modes: ``(group, tags, size, num_correct)`` tuples in the
    contract's order (see :func:`brute_force_scored` for the arguments)."""
    correct = np.asarray(correct, dtype=bool)
    found = brute_force_scored(tags, correct, groups, **kwargs)
    return [(g, t, size, int(correct[rows].sum())) for g, t, size, rows in found]


def brute_force_score_modes(tags, scores, groups=None, *, higher_is_worse=True, **kwargs):
    """The score modes: ``(group, tags, size, rows)`` tuples in the contract's
    order, with the score oriented so that higher is better (see
    :func:`brute_force_scored` for the arguments)."""
    scores = np.asarray(scores, dtype=np.float64)
    return brute_force_scored(tags, -scores if higher_is_worse else scores, groups, **kwargs)
