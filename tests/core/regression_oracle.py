"""A brute-force reading of the regression-mode definition, for checking the search:
the oracle of :mod:`tests.core.oracle` with the change in accuracy as the
score (``shared/docs/design.md``, "Comparing two models"): a unit scores
``new_correct - baseline_correct``.
"""

import numpy as np

from tests.core.oracle import brute_force_scored


def brute_force_regressions(tags, baseline_correct, correct, groups=None, **kwargs):
    """Returns ``(group, tags, size, num_losses, num_wins)`` tuples in the
    contract's order (see :func:`tests.core.oracle.brute_force_scored` for
    the arguments)."""
    base = np.asarray(baseline_correct, dtype=bool)
    new = np.asarray(correct, dtype=bool)
    d = new.astype(np.int64) - base.astype(np.int64)
    found = brute_force_scored(tags, d, groups, **kwargs)
    return [
        (g, t, size, int((d[rows] == -1).sum()), int((d[rows] == 1).sum()))
        for g, t, size, rows in found
    ]
