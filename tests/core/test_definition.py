"""The definition's scalar functions: the same values from Python, numpy and numba."""

import numba
import numpy as np
import pytest

from fiftyone_prime.core import definition
from fiftyone_prime.core.definition import (
    PRUNE_SLACK,
    TOLERANCE,
    accuracy,
    lowest_reachable,
    may_extend,
    meets_conditions,
    superset_ceiling,
)


@numba.njit
def _compiled(size, errors, group_acc, floor, min_size, min_drop, min_gain):
    acc = accuracy(size, errors)
    return (
        acc,
        meets_conditions(size, acc, group_acc, floor, min_size, min_drop, min_gain, TOLERANCE),
        lowest_reachable(errors, min_size),
        may_extend(
            lowest_reachable(errors, min_size),
            group_acc,
            min(acc, floor),
            min_drop,
            min_gain,
            TOLERANCE,
            PRUNE_SLACK,
        ),
        superset_ceiling(group_acc, floor, min_drop, min_gain, TOLERANCE, PRUNE_SLACK),
    )


def _cases(seed, n=3000):
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 60, n)
    errors = rng.integers(0, size + 1)
    min_size = rng.integers(1, 40, n)
    # Thresholds and scores on a coarse grid, so many comparisons sit exactly
    # at a threshold.
    min_drop = rng.choice([0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5], n)
    min_gain = rng.choice([0.0, 0.05, 0.1, 0.2, 0.25], n)
    group_acc = rng.choice([0.5, 0.6, 0.75, 0.8, 1.0], n)
    floor = np.where(rng.random(n) < 0.2, np.inf, rng.choice([0.5, 0.6, 0.75, 0.8, 1.0], n))
    return size, errors, group_acc, floor, min_size, min_drop, min_gain


@pytest.mark.parametrize("seed", range(3))
def test_compiled_python_and_numpy_agree(seed):
    size, errors, group_acc, floor, min_size, min_drop, min_gain = _cases(seed)
    acc = accuracy(size, errors)
    arrays = (
        acc,
        meets_conditions(size, acc, group_acc, floor, min_size, min_drop, min_gain, TOLERANCE),
        lowest_reachable(errors, min_size),
        may_extend(
            lowest_reachable(errors, min_size),
            group_acc,
            np.minimum(acc, floor),
            min_drop,
            min_gain,
            TOLERANCE,
            PRUNE_SLACK,
        ),
        superset_ceiling(group_acc, floor, min_drop, min_gain, TOLERANCE, PRUNE_SLACK),
    )
    for i in range(len(size)):
        args = (
            int(size[i]),
            int(errors[i]),
            float(group_acc[i]),
            float(floor[i]),
            int(min_size[i]),
            float(min_drop[i]),
            float(min_gain[i]),
        )
        compiled = _compiled(*args)
        a = accuracy(args[0], args[1])
        python = (
            a,
            meets_conditions(args[0], a, args[2], args[3], *args[4:], TOLERANCE),
            lowest_reachable(args[1], args[4]),
            may_extend(
                lowest_reachable(args[1], args[4]),
                args[2],
                min(a, args[3]),
                args[5],
                args[6],
                TOLERANCE,
                PRUNE_SLACK,
            ),
            superset_ceiling(args[2], args[3], args[5], args[6], TOLERANCE, PRUNE_SLACK),
        )
        expected = tuple(x[i] for x in arrays)
        assert compiled == python == expected, (args, compiled, python, expected)


def test_a_value_exactly_at_a_threshold_counts():
    # acc_g 0.8, the set 18/30 = 0.6: the drop is exactly 0.2.
    acc = accuracy(30, 12)
    assert meets_conditions(30, acc, 0.8, np.inf, 30, 0.2, 0.1, TOLERANCE)
    assert not meets_conditions(29, acc, 0.8, np.inf, 30, 0.2, 0.1, TOLERANCE)
    assert not meets_conditions(30, acc, 0.8, np.inf, 30, 0.2 + 1e-6, 0.1, TOLERANCE)
    # The gain exactly at min_gain.
    assert meets_conditions(30, acc, 0.8, 0.7, 30, 0.2, 0.1, TOLERANCE)
    assert not meets_conditions(30, acc, 0.8, 0.7, 30, 0.2, 0.1 + 1e-6, TOLERANCE)


def test_the_bound_never_prunes_a_superset_that_is_a_failure_mode():
    """For every set with e errors and every superset of it that meets
    conditions 1-3 (n' >= min_size samples, e' <= e errors, its accuracy
    within the thresholds of the set's floor), may_extend is true."""
    for min_size in (1, 3, 10):
        for e in range(0, 15):
            lowest = lowest_reachable(e, min_size)
            for n2 in range(min_size, 40):
                for e2 in range(0, min(e, n2) + 1):
                    acc2 = accuracy(n2, e2)
                    for group_acc, floor in ((0.9, 1.0), (0.7, 0.8), (1.0, 0.5)):
                        for min_drop, min_gain in ((0.0, 0.0), (0.2, 0.1), (0.25, 0.05)):
                            if meets_conditions(
                                n2, acc2, group_acc, floor, min_size, min_drop, min_gain, TOLERANCE
                            ):
                                assert may_extend(
                                    lowest,
                                    group_acc,
                                    floor,
                                    min_drop,
                                    min_gain,
                                    TOLERANCE,
                                    PRUNE_SLACK,
                                )


def test_the_module_imports_nothing_of_the_search():
    # The definition stands alone: the kernels, the measurement and the
    # oracles import it, not the other way round.
    names = set(vars(definition))
    assert not names & {"kernels", "search", "engine", "measure"}
