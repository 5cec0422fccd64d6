"""The tested family counted exactly where cheap (core/exact_family.py)."""

from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp

from fiftyone_prime.core import SearchParams, exact_family, run_search
from fiftyone_prime.core.layout import GroupedInput
from fiftyone_prime.core.search import tested_family as record_family
from fiftyone_prime.core.validation import validate_tags
from tests.core.test_significance import _exact_family_count


def _family(tags, correct, groups, params, budget=None):
    data = GroupedInput(validate_tags(tags), correct, groups)
    family = record_family(data, params)
    kind = exact_family.refine(
        family,
        data.matrix,
        data.bounds,
        data.entry_bounds,
        data.entry_tag,
        data.entry_size,
        budget=budget,
    )
    return family, kind


def _data(seed, n=600, n_tags=8, n_groups=3):
    rng = np.random.default_rng(seed)
    tags = rng.random((n, n_tags)) < rng.uniform(0.05, 0.6, n_tags)
    tags[:, 1] |= tags[:, 0] & (rng.random(n) < 0.7)  # a bundle
    groups = rng.integers(0, n_groups, n)
    correct = rng.random(n) < rng.uniform(0.6, 0.95, n_groups)[groups]
    return tags, correct, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_tags", [2, 3])
@pytest.mark.parametrize("sparse", [True, False])
def test_exact_count_is_the_brute_force_count(seed, max_tags, sparse):
    tags, correct, groups = _data(seed)
    params = SearchParams(min_size=8, max_tags=max_tags)
    given = sp.csr_matrix(tags) if sparse else tags
    exact, kind = _family(given, correct, groups, params)
    bound, bound_kind = _family(given, correct, groups, params, budget=0)
    assert kind == "exact" and bound_kind == "bound"
    for delta in (1.0, 1e-2, 1e-3, 1e-6, 1e-12):
        brute = _exact_family_count(tags, correct, groups, 8, max_tags, delta)
        assert exact.count(np.array([delta]))[0] == brute
        assert bound.count(np.array([delta]))[0] >= brute


def test_a_small_budget_counts_the_cheapest_groups_exactly():
    tags, correct, groups = _data(4, n=3000, n_groups=6)
    groups[:2000] = 0  # one large group
    params = SearchParams(min_size=8)
    full, _ = _family(tags, correct, groups, params)
    costs = [g.incidences.sum() for g in full._groups]
    mixed, kind = _family(tags, correct, groups, params, budget=sum(sorted(costs)[:2]) + 1e4)
    assert kind == "mixed"
    bound, _ = _family(tags, correct, groups, params, budget=0)
    levels = np.array([1.0, 1e-3, 1e-9])
    assert np.all(full.count(levels) <= mixed.count(levels))
    assert np.all(mixed.count(levels) <= bound.count(levels))


def test_runs_say_which_count_was_used():
    tags, correct, groups = _data(5)
    sig = run_search(tags, correct, groups, params=SearchParams(min_size=8)).significance
    assert sig.family_count == "exact"
    sig = run_search(
        tags, correct, groups, params=SearchParams(min_size=8, max_tags=4)
    ).significance
    assert sig.family_count == "bound"
    with mock.patch.object(exact_family, "WORK_BUDGET", 0.0):
        sig = run_search(tags, correct, groups, params=SearchParams(min_size=8)).significance
    assert sig.family_count == "bound"
