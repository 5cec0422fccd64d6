"""Re-measuring tag sets on data: the definition check agrees with the oracle."""

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import hypergeom

from fiftyone_prime.core import SearchParams
from fiftyone_prime.core.measure import ABSENT, TagSetQuery, measure_tag_sets
from tests.core.oracle import brute_force


def random_problem(seed):
    rng = np.random.default_rng(seed)
    n, n_tags = 500, 6
    tags = rng.random((n, n_tags)) < rng.uniform(0.2, 0.7, n_tags)
    groups = rng.integers(0, 2, n)
    correct = rng.random(n) < 0.8
    bad = tags[:, 0] & tags[:, 1]
    correct[bad] = rng.random(bad.sum()) < 0.3
    return tags, correct, groups


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("minimal", [True, False])
def test_holds_is_exactly_the_oracles_definition(seed, minimal):
    tags, correct, groups = random_problem(seed)
    params = SearchParams(min_size=10, min_drop=0.15, min_gain=0.05, minimal=minimal)
    expected = {
        (g, tuple(int(t) for t in names))
        for g, names, _, _ in brute_force(
            tags, correct, groups, min_size=10, min_drop=0.15, min_gain=0.05, minimal=minimal
        )
    }
    queries = [
        TagSetQuery(g, combo)
        for g in (0, 1)
        for k in (1, 2, 3)
        for combo in combinations(range(6), k)
    ]
    for fmt in (np.asarray, sp.csr_matrix):
        got = measure_tag_sets(fmt(tags), correct, groups, queries, params)
        holding = {(q.group, q.columns) for q, m in zip(queries, got) if m.holds}
        assert holding == expected


def test_counts_p_values_and_absent_tags():
    tags, correct, groups = random_problem(0)
    params = SearchParams(min_size=10)
    pair, absent = measure_tag_sets(
        tags, correct, groups, [TagSetQuery(1, (0, 1)), TagSetQuery(1, (0, ABSENT))], params
    )
    mask = (groups == 1) & tags[:, 0] & tags[:, 1]
    assert (pair.size, pair.num_correct) == (mask.sum(), correct[mask].sum())
    n_g = (groups == 1).sum()
    e_g = (~correct[groups == 1]).sum()
    assert pair.p_value == pytest.approx(
        hypergeom.sf(pair.size - pair.num_correct - 1, n_g, e_g, pair.size)
    )
    assert pair.accuracy_ci[0] < pair.accuracy < pair.accuracy_ci[1]
    assert absent.size == 0 and not absent.holds and absent.p_value is None
    assert np.isnan(absent.accuracy) and absent.group_size == n_g
