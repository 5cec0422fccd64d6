"""Significance of failure modes: exact p-values, the tested family, intervals."""

from itertools import combinations
from unittest import mock

import numpy as np
import pytest
from scipy.stats import binomtest, hypergeom

from fiftyone_prime.core import SearchParams, find_failure_modes
from fiftyone_prime.core.error_control import flatten
from fiftyone_prime.core.search import run_search
from fiftyone_prime.core.significance import (
    FDR_PROCEDURE,
    FWER_PROCEDURE,
    PROCEDURE,
    TestedFamily,
    accuracy_intervals,
    benjamini_hochberg,
    log_limit,
)
from tests.core.family_oracle import add_group, count_group, rises


def planted(seed=0, n=600, n_tags=6, base_accuracy=0.85, planted_accuracy=0.2):
    """Random tags; samples carrying tags 0 and 1 are mostly misclassified."""
    rng = np.random.default_rng(seed)
    tags = rng.random((n, n_tags)) < 0.35
    correct = rng.random(n) < base_accuracy
    pair = tags[:, 0] & tags[:, 1]
    correct[pair] = rng.random(pair.sum()) < planted_accuracy
    return tags, correct


def test_p_values_are_the_one_sided_fisher_exact_test():
    tags, correct = planted()
    groups = np.repeat([0, 1], 300)
    modes = find_failure_modes(tags, correct, groups, alpha=None, min_size=20)
    assert modes
    for m in modes:
        in_group = groups == m.group
        n_g, e_g = int(in_group.sum()), int((~correct[in_group]).sum())
        expected = hypergeom.sf(m.num_errors - 1, n_g, e_g, m.size)
        assert m.p_value == pytest.approx(expected, rel=1e-12, abs=1e-300)
        assert m.adjusted_p_value is None  # alpha=None: no error control asked for


def test_the_planted_pair_is_significant_and_its_interval_is_exact():
    tags, correct = planted(n=1000)
    mode = find_failure_modes(tags, correct, tag_names=list("abcdef"))[0]  # largest drop
    assert mode.tags == ("a", "b")
    assert mode.adjusted_p_value < 1e-6
    expected = binomtest(mode.num_correct, mode.size).proportion_ci(0.95, method="exact")
    assert mode.accuracy_ci == pytest.approx((expected.low, expected.high), rel=1e-9)
    assert mode.accuracy_ci[0] < mode.accuracy < mode.accuracy_ci[1]


def test_alpha_none_returns_every_mode_of_the_definition_with_p_values():
    """alpha=None asks for no error control: every mode of the definition,
    each with its p-value and interval and no adjusted p-value, and no
    family counted beyond its bound's size."""
    rng = np.random.default_rng(3)
    tags = rng.random((400, 10)) < 0.4
    correct = rng.random(400) < 0.7  # no planted effect: every mode is chance
    outcome = run_search(tags, correct, params=SearchParams(alpha=None, min_size=10))
    everything = outcome.failure_modes
    assert everything, "the null data should meet the definition by chance"
    assert all(m.p_value is not None and m.accuracy_ci is not None for m in everything)
    assert all(m.adjusted_p_value is None for m in everything)
    sig = outcome.significance
    assert sig.tested_family is None and sig.testable_level is None and sig.family_size is None
    assert sig.family_count == "none"
    assert sig.num_candidates == len(everything) and sig.num_not_significant == 0
    kept = find_failure_modes(tags, correct, min_size=10)
    key = lambda m: (m.group, m.tags, m.p_value)  # noqa: E731
    assert {key(m) for m in flatten(kept)} < {key(m) for m in everything}


def test_filtering_happens_after_the_exact_search_so_minimality_is_unchanged():
    """Family-wise adjusted p-values do not depend on alpha, so one run with
    alpha=None gives every level's output; the false-discovery family does
    (it is Tarone's at alpha), so there every level's modes are the
    definition's modes (aliases included)."""
    tags, correct = planted(seed=5, n=1500)
    for how in ("fwer", "fdr"):
        # alpha=1 leaves nothing out and adjusts (alpha=None adjusts nothing)
        everything = flatten(
            find_failure_modes(tags, correct, alpha=1.0, min_size=15, error_control=how)
        )
        for alpha in (0.5, 0.05, 1e-6):
            kept = find_failure_modes(tags, correct, alpha=alpha, min_size=15, error_control=how)
            key = lambda m: (m.group, m.tags, m.size, m.num_correct)  # noqa: E731
            if how == "fwer":
                expected = [m for m in everything if m.adjusted_p_value <= alpha]
                assert sorted(flatten(kept), key=key) == sorted(expected, key=key)
            assert {key(m) for m in flatten(kept)} <= {key(m) for m in everything}


def test_null_runs_report_a_mode_at_most_about_alpha_of_the_time():
    """A seeded simulation: correctness independent of the tags, 60 runs of
    8 classes x 150 samples x 12 tags. Without alpha nearly every run reports
    chance modes; with alpha=0.05 the share of runs reporting any is small."""
    rng = np.random.default_rng(2024)
    runs, with_any_raw, with_any = 60, 0, 0
    for _ in range(runs):
        tags = rng.random((1200, 12)) < rng.uniform(0.1, 0.5, 12)
        groups = np.repeat(np.arange(8), 150)
        correct = rng.random(1200) < 0.75
        outcome = run_search(tags, correct, groups, params=SearchParams(min_size=10, alpha=None))
        with_any_raw += bool(outcome.failure_modes)
        outcome = run_search(tags, correct, groups, params=SearchParams(min_size=10))
        with_any += bool(outcome.failure_modes)
    assert with_any_raw >= 0.8 * runs
    assert with_any / runs <= 0.05 + 0.05  # alpha plus a margin for 60 runs


def _exact_family_count(tags, correct, groups, min_size, max_tags, delta):
    """Brute force: sets with >= min_size samples whose least p-value is <= delta."""
    count = 0
    for g in np.unique(groups):
        gt, gc = tags[groups == g], correct[groups == g]
        n_g, e_g = len(gc), int((~gc).sum())
        for k in range(1, max_tags + 1):
            for combo in combinations(range(tags.shape[1]), k):
                n = int(gt[:, combo].all(axis=1).sum())
                if n < min_size:
                    continue
                least = hypergeom.pmf(min(n, e_g), n_g, e_g, n) if e_g else 1.0
                count += least <= delta * (1 + 1e-9)
    return count


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_family_count_bounds_the_exact_count_and_is_exact_for_single_tags(seed):
    rng = np.random.default_rng(seed)
    n, n_tags = 600, 7
    tags = rng.random((n, n_tags)) < rng.uniform(0.05, 0.6, n_tags)
    groups = rng.integers(0, 3, n)
    correct = rng.random(n) < rng.uniform(0.6, 0.99, 3)[groups]
    for max_tags in (1, 3):
        family = TestedFamily(min_size=8, max_tags=max_tags)
        for g in range(3):
            gt = tags[groups == g]
            add_group(family, gt, gt.sum(axis=0), int((~correct[groups == g]).sum()))
        for delta in (1.0, 1e-3, 1e-6, 1e-12):
            exact = _exact_family_count(tags, correct, groups, 8, max_tags, delta)
            bound = family.count(np.array([delta]))[0]
            if max_tags == 1:
                assert bound == exact
            else:
                assert bound >= exact


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_step_function_equals_the_count_at_every_attainable_level(seed):
    """The merged step function is evaluated only where a group's count can
    change; it must equal the count evaluated at every size's least
    attainable p-value, and be constant between its breakpoints."""
    rng = np.random.default_rng(seed)
    family = TestedFamily(min_size=int(rng.integers(5, 40)), max_tags=int(rng.integers(1, 5)))
    for _ in range(4):
        n = int(rng.integers(50, 400))
        tags = rng.random((n, 15)) < rng.uniform(0.02, 0.7, 15)
        add_group(family, tags, tags.sum(axis=0), int(rng.integers(0, n)))
    points, totals = family._step_function()
    every = np.unique(np.concatenate([g.log_psi for g in family._groups]))
    expected = sum(count_group(family, g, every) for g in family._groups)
    at = np.searchsorted(points, every, side="right") - 1
    assert np.array_equal(np.where(at >= 0, totals[np.maximum(at, 0)], 0.0), expected)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_compiled_family_equals_the_numpy_reading_exactly(seed):
    rng = np.random.default_rng(seed)
    family = TestedFamily(min_size=int(rng.integers(1, 40)), max_tags=int(rng.integers(1, 9)))
    for _ in range(int(rng.integers(1, 12))):
        n = int(rng.integers(1, 600))
        tags = rng.random((n, 20)) < rng.uniform(0.0, 0.8, 20)
        add_group(family, tags, tags.sum(axis=0), int(rng.integers(0, n + 1)))
    numpy_points, numpy_rises = rises(family)
    points, compiled = family._compiled_rises() if family._groups else (numpy_points, numpy_rises)
    assert np.array_equal(points, numpy_points) and np.array_equal(compiled, numpy_rises)


def test_groups_recorded_together_or_one_by_one_give_the_same_family():
    rng = np.random.default_rng(3)
    one_by_one = TestedFamily(10, 4)
    per_row, bounds, supports, support_bounds, errors = [], [0], [], [0], []
    for n in (0, 5, 40, 300, 120):
        tags = rng.random((n, 9)) < rng.uniform(0.05, 0.7, 9)
        e = int(rng.integers(0, n + 1))
        add_group(one_by_one, tags, tags.sum(axis=0), e)
        frequent = tags.sum(axis=0) >= 10
        per_row.append(tags[:, frequent].sum(axis=1))
        bounds.append(bounds[-1] + n)
        supports.append(tags.sum(axis=0)[tags.sum(axis=0) > 0])
        support_bounds.append(support_bounds[-1] + len(supports[-1]))
        errors.append(e)
    from fiftyone_prime.core import significance

    for batch in (1 << 20, 7):  # the default, and a batch of sizes smaller than a group
        together = TestedFamily(10, 4)
        with mock.patch.object(significance, "_PSI_BATCH", batch):
            together.add_groups(
                np.concatenate(per_row), bounds, np.concatenate(supports), support_bounds, errors
            )
        # 0 and 5 samples: untestable
        assert len(together._groups) == len(one_by_one._groups) == 3
        for a, b in zip(together._groups, one_by_one._groups):
            assert np.array_equal(a.supports, b.supports) and np.array_equal(a.log_psi, b.log_psi)
            assert np.array_equal(a.incidences, b.incidences) and a.pivot == b.pivot


def test_high_accuracy_classes_are_not_testable():
    """Tarone: a class with two errors cannot make a 30-sample set significant
    at a small level, so it adds nothing to the family there."""
    tags = np.ones((1000, 1), bool)
    family = TestedFamily(min_size=30, max_tags=1)
    add_group(family, tags, tags.sum(axis=0), 2)
    assert family.count(np.array([1.0]))[0] == 1
    assert family.count(np.array([1e-6]))[0] == 0


def test_a_level_of_zero_counts_no_set_and_warns_nothing():
    """``m(0)`` is 0: no set's least attainable p-value is 0. The slack rule
    alone turned log 0 into NaN, which counted the whole family (1M samples
    in benchmarks/fiftyone_search.py printed the RuntimeWarning)."""
    tags = np.ones((1000, 1), bool)
    family = TestedFamily(min_size=30, max_tags=1)
    add_group(family, tags, tags.sum(axis=0), 200)
    with np.errstate(all="raise"):
        counts = family.count(np.array([0.0, 1e-300, 1.0]))
    assert counts.tolist() == [0, 0, 1]
    assert log_limit(0.0) == -np.inf and log_limit(1.0) == 1e-9
    assert log_limit(0.05) == pytest.approx(np.log(0.05) * (1 - 1e-9), rel=1e-15)


def test_outcome_describes_the_procedure():
    """Family-wise control on request: Tarone's corrected level decides."""
    tags, correct = planted(n=1000)
    outcome = run_search(tags, correct, params=SearchParams(error_control="fwer"))
    sig = outcome.significance
    assert sig.procedure == FWER_PROCEDURE and sig.alpha == 0.05
    assert sig.error_control == "fwer"
    assert sig.num_candidates == (
        len(outcome.failure_modes) + sig.num_not_significant + sig.num_aliases
    )
    assert 0 < sig.corrected_level < 0.05
    everything = run_search(
        tags, correct, params=SearchParams(alpha=None, error_control="fwer")
    ).failure_modes
    reported = flatten(outcome.failure_modes)
    key = lambda m: (m.group, m.tags, m.p_value)  # noqa: E731
    assert [key(m) for m in everything if m.p_value <= sig.corrected_level] == [
        key(m) for m in reported if m.p_value <= sig.corrected_level
    ]


def test_outcome_describes_the_default_false_discovery_procedure():
    tags, correct = planted(n=1000)
    outcome = run_search(tags, correct)
    sig = outcome.significance
    assert sig.procedure == PROCEDURE == FDR_PROCEDURE and sig.error_control == "fdr"
    assert sig.num_candidates == (
        len(outcome.failure_modes) + sig.num_not_significant + sig.num_aliases
    )
    reported = flatten(outcome.failure_modes)
    assert 0 < sig.corrected_level <= 0.05
    assert sig.corrected_level == pytest.approx(0.05 * len(reported) / sig.tested_family)
    assert all(m.p_value <= sig.corrected_level for m in reported)  # self-consistent


def test_corrected_level_is_the_largest_level_the_family_allows():
    rng = np.random.default_rng(4)
    tags = rng.random((3000, 12)) < 0.3
    family = TestedFamily(min_size=10, max_tags=3)
    for g in range(3):
        gt = tags[g * 1000 : (g + 1) * 1000]
        add_group(family, gt, gt.sum(axis=0), 150 + 50 * g)
    level = family.corrected_level(0.05)
    assert level * family.count(np.array([level]))[0] <= 0.05
    above = level * 1.06  # the grid is finer than 5%
    assert above * family.count(np.array([above]))[0] > 0.05


@pytest.mark.parametrize("alpha", [-0.1, 0.0, 1.5, float("nan"), "0.05", True])
def test_bad_alpha_is_a_clear_value_error(alpha):
    tags, correct = planted()
    with pytest.raises(ValueError, match="`alpha` must be"):
        find_failure_modes(tags, correct, alpha=alpha)


def test_benjamini_hochberg_matches_a_hand_computed_case():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    # sorted: 0.01, 0.03, 0.04, 0.5 (m=4): 0.04, 0.0533, 0.0533, 0.5
    assert q[0] == pytest.approx(0.04)
    assert q[2] == pytest.approx(0.04 * 4 / 3)
    assert q[1] == pytest.approx(0.04 * 4 / 3)
    assert np.isnan(q[3]) and q[4] == pytest.approx(0.5)


def test_intervals_at_the_edges():
    low, high = accuracy_intervals(np.array([0, 10]), np.array([10, 10]))
    assert low[0] == 0.0 and high[1] == 1.0
    assert 0.0 < high[0] < 0.35 and 0.65 < low[1] < 1.0
