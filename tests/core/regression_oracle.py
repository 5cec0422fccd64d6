"""A brute-force reading of the regression-mode definition, for checking the search.

Every tag combination up to ``max_tags`` in every group, a mask each, and
the four conditions of ``shared/docs/design.md`` ("Comparing two models")
applied literally with ``change = acc_new - acc_baseline``.
"""

from itertools import combinations

import numpy as np

TOL = 1e-9


def brute_force_regressions(
    tags,
    baseline_correct,
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
    """Returns ``(group, tags, size, num_losses, num_wins)`` tuples in the
    contract's order."""
    tags = np.asarray(tags.toarray() if hasattr(tags, "toarray") else tags, dtype=bool)
    base = np.asarray(baseline_correct, dtype=bool)
    new = np.asarray(correct, dtype=bool)
    d = new.astype(int) - base.astype(int)
    n, m = tags.shape
    names = [str(i) for i in range(m)] if tag_names is None else list(tag_names)
    single_group = groups is None
    groups = np.zeros(n, dtype=int) if single_group else np.asarray(groups)
    out = []
    for g in sorted(set(groups.tolist())):
        rows = groups == g
        gt, gd = tags[rows], d[rows]
        if len(gd) == 0:
            continue
        change_g = gd.mean()
        stats = {}
        for k in range(1, max_tags + 1):
            for combo in combinations(range(m), k):
                mask = gt[:, list(combo)].all(axis=1)
                stats[combo] = (
                    int(mask.sum()),
                    int((gd[mask] == -1).sum()),
                    int((gd[mask] == 1).sum()),
                )

        def score(combo, stats=stats):
            size, losses, wins = stats[combo]
            return (wins - losses) / size

        def meets(combo, stats=stats, change_g=change_g):
            size = stats[combo][0]
            if size < min_size:
                return False
            c = score(combo)
            if change_g - c < min_drop - TOL:
                return False
            for r in range(1, len(combo)):
                for sub in combinations(combo, r):
                    if score(sub) - c < min_gain - TOL:
                        return False
            return True

        modes = {c for c in stats if meets(c)}
        if minimal:
            modes = {
                c
                for c in modes
                if not any(sub in modes for r in range(1, len(c)) for sub in combinations(c, r))
            }
        rows_out = []
        for combo in modes:
            size, losses, wins = stats[combo]
            rows_out.append(
                (
                    change_g - score(combo),
                    len(combo),
                    tuple(sorted(names[i] for i in combo)),
                    size,
                    losses,
                    wins,
                )
            )
        rows_out.sort(key=lambda r: (-r[0], r[1], r[2]))
        label = None if single_group else g
        out.extend((label, r[2], r[3], r[4], r[5]) for r in rows_out)
    return out
