"""A brute-force reading of the failure-mode definition, for checking the engine.

It enumerates every tag combination up to ``max_tags`` in every group, with a
mask per combination, and applies the four conditions of
``shared/docs/design.md`` literally. Slow, obvious, and independent of the
engine's pruning.
"""

from itertools import combinations

import numpy as np

TOL = 1e-9


def brute_force(
    tags,
    correct,
    groups=None,
    *,
    tag_names=None,
    min_size=30,
    min_drop=0.2,
    min_gain=0.1,
    max_tags=3,
    minimal=True,
):
    """Returns ``(group, tags, size, num_correct)`` tuples in the contract's order."""
    tags = np.asarray(tags.toarray() if hasattr(tags, "toarray") else tags, dtype=bool)
    correct = np.asarray(correct, dtype=bool)
    n, m = tags.shape
    names = [str(i) for i in range(m)] if tag_names is None else list(tag_names)
    single_group = groups is None
    groups = np.zeros(n, dtype=int) if single_group else np.asarray(groups)
    out = []
    for g in sorted(set(groups.tolist())):
        rows = groups == g
        gt, gc = tags[rows], correct[rows]
        n_g = len(gc)
        if n_g == 0:
            continue
        acc_g = gc.sum() / n_g
        stats = {}
        for k in range(1, max_tags + 1):
            for combo in combinations(range(m), k):
                mask = gt[:, list(combo)].all(axis=1)
                size = int(mask.sum())
                stats[combo] = (size, int(gc[mask].sum()))

        def accuracy(combo):
            size, num_correct = stats[combo]
            return num_correct / size

        def meets_conditions(combo):
            size, _ = stats[combo]
            if size < min_size:
                return False
            acc = accuracy(combo)
            if acc_g - acc < min_drop - TOL:
                return False
            for r in range(1, len(combo)):
                for sub in combinations(combo, r):
                    if accuracy(sub) - acc < min_gain - TOL:
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
            size, num_correct = stats[combo]
            drop = acc_g - num_correct / size
            tag_tuple = tuple(sorted(names[i] for i in combo))
            rows_out.append((drop, len(combo), tag_tuple, size, num_correct))
        rows_out.sort(key=lambda r: (-r[0], r[1], r[2]))
        label = None if single_group else g
        out.extend((label, r[2], r[3], r[4]) for r in rows_out)
    return out
