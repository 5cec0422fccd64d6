"""The score search (a continuous per-unit score): the definition against the
brute-force oracle on random cases with ties in both directions, planted
truth, bad scores, the rank test against scipy, and its least attainable
p-values."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import mannwhitneyu

from fiftyone_prime.core import (
    ScoreMode,
    ScoreParams,
    SearchParams,
    find_failure_modes,
    find_score_modes,
    run_score_search,
)
from fiftyone_prime.core.layout import GroupedInput, Outcomes
from fiftyone_prime.core.scores import LOG_PSI_FLOOR, RankTest, ScoreMembers
from tests.core.oracle import brute_force_score_modes


def summary(modes):
    return [(m.group, m.tags, m.size) for m in modes]


def every_mode(tags, scores, groups=None, **kwargs):
    higher_is_worse = kwargs.pop("higher_is_worse", True)
    params = ScoreParams(alpha=None, **kwargs)
    outcome = run_score_search(tags, scores, groups, params=params, higher_is_worse=higher_is_worse)
    return outcome.modes


def random_case(rng):
    n = int(rng.integers(40, 220))
    m = int(rng.integers(2, 6))
    tags = rng.random((n, m)) < rng.uniform(0.2, 0.7)
    # skewed scores in quarters: many ties, and every sum exact in float64
    scores = np.round(rng.gamma(rng.uniform(0.3, 2.0), 1.0, n) * 4) / 4
    groups = rng.integers(0, 3, n)
    kwargs = dict(
        min_size=int(rng.integers(2, 20)),
        min_drop=float(rng.choice([0.0, 0.1, 0.5, 1.5])),
        min_gain=float(rng.choice([0.0, 0.05, 0.25])),
        max_tags=int(rng.integers(1, 5)),
        minimal=bool(rng.integers(0, 2)),
        higher_is_worse=bool(rng.integers(0, 2)),
    )
    return tags, scores, groups, kwargs


@pytest.mark.parametrize("seed", range(6))
def test_the_search_returns_exactly_the_definitions_modes(seed):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        tags, scores, groups, kwargs = random_case(rng)
        found = brute_force_score_modes(tags, scores, groups, **kwargs)
        expected = [(g, t, size) for g, t, size, _ in found]
        assert summary(every_mode(tags, scores, groups, **kwargs)) == expected
        assert summary(every_mode(sp.csr_matrix(tags), scores, groups, **kwargs)) == expected
        found = brute_force_score_modes(tags, scores, **kwargs)
        assert summary(every_mode(tags, scores, **kwargs)) == [(g, t, s) for g, t, s, _ in found]


@pytest.mark.parametrize("higher_is_worse", [True, False])
def test_both_directions_on_unrounded_floats(higher_is_worse):
    rng = np.random.default_rng(11)
    for _ in range(6):
        n = 150
        tags = rng.random((n, 5)) < 0.4
        scores = rng.standard_t(2, n)  # heavy tails, no ties
        groups = rng.integers(0, 2, n)
        kwargs = dict(min_size=8, min_drop=0.3, min_gain=0.1, max_tags=3, minimal=False)
        found = brute_force_score_modes(
            tags, scores, groups, higher_is_worse=higher_is_worse, **kwargs
        )
        got = every_mode(tags, scores, groups, higher_is_worse=higher_is_worse, **kwargs)
        assert summary(got) == [(g, t, s) for g, t, s, _ in found]
        # the records' statistics are the rows' own
        for m, (_, _, _, rows) in zip(got, found):
            assert m.mean == pytest.approx(scores[rows].mean(), abs=1e-12)
            group = groups == m.group
            assert m.group_mean == pytest.approx(scores[group].mean(), abs=1e-12)
            worse = m.mean - m.group_mean if higher_is_worse else m.group_mean - m.mean
            assert m.drop == pytest.approx(worse, abs=1e-12)
            assert m.drop >= 0.3 - 1e-9


def test_accuracy_as_a_score_finds_the_failure_modes():
    rng = np.random.default_rng(3)
    tags = rng.random((600, 6)) < 0.4
    correct = rng.random(600) < 0.8
    correct[tags[:, 1] & tags[:, 4]] = rng.random(int((tags[:, 1] & tags[:, 4]).sum())) < 0.3
    groups = rng.integers(0, 3, 600)
    kwargs = dict(min_size=10, min_drop=0.2, min_gain=0.1, max_tags=3, alpha=None)
    expected = [
        (m.group, m.tags, m.size) for m in find_failure_modes(tags, correct, groups, **kwargs)
    ]
    assert expected
    got = find_score_modes(tags, correct.astype(float), groups, higher_is_worse=False, **kwargs)
    assert summary(got) == expected


def planted(seed=0, n_groups=4, n=2400, shift=1.5):
    rng = np.random.default_rng(seed)
    tags = rng.random((n, 12)) < 0.3
    groups = np.repeat(np.arange(n_groups), n // n_groups)
    scores = rng.exponential(1.0, n)
    hit = tags[:, 3] & tags[:, 7] & (groups == 2)
    scores[hit] += shift
    return tags, scores, groups, hit


def test_a_planted_pair_is_the_only_mode():
    tags, scores, groups, hit = planted()
    modes = find_score_modes(tags, scores, groups, min_drop=0.8, min_gain=0.5)
    assert summary(modes) == [(2, ("3", "7"), int(hit.sum()))]
    (m,) = modes
    assert m.p_value < 1e-6 and m.adjusted_p_value <= 0.05
    assert m.mean_ci[0] < m.mean < m.mean_ci[1]
    assert m.mean == pytest.approx(scores[hit].mean())
    # the other direction: the same pair with the scores' signs flipped
    flipped = find_score_modes(
        tags, -scores, groups, min_drop=0.8, min_gain=0.5, higher_is_worse=False
    )
    assert summary(flipped) == summary(modes)
    assert flipped[0].mean == pytest.approx(-m.mean)


def test_effect_free_skewed_tied_scores_give_no_mode():
    rng = np.random.default_rng(5)
    found = 0
    for _ in range(5):
        tags = rng.random((2000, 15)) < 0.3
        scores = np.floor(rng.exponential(1.0, 2000) * 2)  # skewed, heavily tied
        groups = rng.integers(0, 4, 2000)
        found += len(find_score_modes(tags, scores, groups, min_drop=0.1, min_gain=0.05))
    assert found == 0


def test_min_drop_is_in_the_scores_units():
    tags, scores, groups, hit = planted(shift=15.0)
    modes = find_score_modes(tags, scores * 10, groups, min_drop=100.0, min_gain=50.0)
    assert summary(modes) == [(2, ("3", "7"), int(hit.sum()))]
    with pytest.raises(ValueError, match="min_drop"):
        SearchParams(min_drop=2.0)
    with pytest.raises(ValueError, match="min_drop"):
        find_score_modes(tags, scores, groups, min_drop=float("inf"))


def test_non_finite_scores_are_refused_or_left_out_and_counted():
    tags, scores, groups, _ = planted()
    bad = scores.copy()
    bad[[5, 17]] = np.nan
    bad[40] = np.inf
    with pytest.raises(ValueError, match=r"3 non-finite values .* at indices \[5, 17, 40\]"):
        find_score_modes(tags, bad, groups)
    outcome = run_score_search(
        tags,
        bad,
        groups,
        params=ScoreParams(min_drop=0.8, min_gain=0.5),
        drop_nonfinite=True,
    )
    assert outcome.num_dropped == 3
    keep = np.isfinite(bad)
    expected = find_score_modes(tags[keep], scores[keep], groups[keep], min_drop=0.8, min_gain=0.5)
    assert outcome.modes == expected
    with pytest.raises(ValueError, match="shape"):
        find_score_modes(tags, scores[:-1], groups)
    with pytest.raises(TypeError, match="real numbers"):
        find_score_modes(tags, scores.astype(str), groups)


@pytest.mark.parametrize("higher_is_worse", [True, False])
def test_p_values_are_scipys_mann_whitney_with_ties(higher_is_worse):
    rng = np.random.default_rng(8)
    tags = rng.random((900, 8)) < 0.3
    scores = np.floor(rng.exponential(1.0, 900) * 3)
    groups = rng.integers(0, 3, 900)
    sign = 1 if higher_is_worse else -1
    modes = find_score_modes(
        tags,
        sign * scores,
        groups,
        min_size=10,
        min_drop=0.0,
        min_gain=0.0,
        max_tags=2,
        alpha=None,
        higher_is_worse=higher_is_worse,
    )
    assert len(modes) > 10
    for m in modes:
        in_group = groups == m.group
        inside = in_group & tags[:, list(m.tag_indices)].all(axis=1)
        expected = mannwhitneyu(
            sign * scores[inside],
            sign * scores[in_group & ~inside],
            alternative="greater" if higher_is_worse else "less",
            method="asymptotic",
        ).pvalue
        assert m.p_value == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_the_least_attainable_p_value_is_the_worst_ranks_and_bounds_every_set():
    rng = np.random.default_rng(9)
    n = 300
    values = np.floor(rng.exponential(1.0, n) * 2)
    groups = rng.integers(0, 2, n)
    tags = rng.random((n, 4)) < 0.5
    data = GroupedInput(tags, Outcomes.scores(values), groups)
    test = RankTest(ScoreMembers(data), higher_is_worse=False)
    log_psi = test.log_psi(np.array([0, 1]), 5)
    at = 0
    for g in (0, 1):
        group = np.sort(values[groups == g])
        for size in range(5, len(group) + 1):
            if size < len(group):
                worst = mannwhitneyu(
                    group[:size], group[size:], alternative="less", method="asymptotic"
                ).pvalue
                if worst >= 1e-12:
                    assert np.exp(log_psi[at]) == pytest.approx(worst, rel=1e-8)
                else:  # lowered to a floor below it (the family only grows)
                    assert log_psi[at] == LOG_PSI_FLOOR < np.log(worst)
            # no set of that size reaches below it
            picked = rng.choice(len(group), size, replace=False)
            rest = np.setdiff1d(np.arange(len(group)), picked)
            if len(rest):
                p = mannwhitneyu(
                    group[picked], group[rest], alternative="less", method="asymptotic"
                ).pvalue
                assert log_psi[at] <= np.log(p) + 1e-9
            at += 1
    assert at == len(log_psi)


def test_records_round_trip():
    tags, scores, groups, _ = planted()
    (m,) = find_score_modes(tags, scores, groups, min_drop=0.8, min_gain=0.5)
    assert ScoreMode.from_dict(m.to_dict()) == m


def test_a_proxy_is_listed_as_an_alias():
    tags, scores, groups, hit = planted()
    rng = np.random.default_rng(4)
    # tag 11 marks the planted units and a few effect-free others of the group
    tags[:, 11] = hit | ((groups == 2) & (rng.random(len(hit)) < 0.03))
    modes = find_score_modes(tags, scores, groups, min_drop=0.8, min_gain=0.5)
    assert len(modes) == 1
    (m,) = modes
    shown = {m.tags, *m.alias_tags}
    assert {("3", "7"), ("11",)} <= shown
    (alias,) = [a for a in m.aliases if a.tags in {("3", "7"), ("11",)}]
    assert alias.overlap == int(hit.sum())  # the pair's units are all tag 11's
    assert alias.residual_p_value > 0.05 and alias.adjusted_p_value <= 0.05
    assert find_score_modes(tags, scores, groups, min_drop=0.8, min_gain=0.5, alpha=None)


@pytest.mark.slow  # the kernels run as Python
def test_the_kernels_give_the_same_score_modes_as_python_without_the_jit():
    """``NUMBA_DISABLE_JIT=1``: the value sums run as Python, with the same
    modes, means and adjusted p-values."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, scipy.sparse as sp;"
        "from fiftyone_prime.core import jit, find_score_modes;"
        "assert not jit.COMPILED;"
        "rng = np.random.default_rng(4);"
        "t = rng.random((400, 6)) < 0.5; s = rng.exponential(1.0, 400);"
        "s[t[:, 0] & t[:, 1]] += 1.0; g = rng.integers(0, 2, 400);"
        "kw = dict(min_size=10, max_tags=3, min_gain=0.05, min_drop=0.2, alpha=1.0);"
        "a = find_score_modes(t, s, g, **kw); c = find_score_modes(sp.csr_matrix(t), s, g, **kw);"
        "assert a == c;"
        "print(repr([(m.group, m.tags, m.size, m.mean, m.adjusted_p_value) for m in a]))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    rng = np.random.default_rng(4)
    t = rng.random((400, 6)) < 0.5
    s = rng.exponential(1.0, 400)
    s[t[:, 0] & t[:, 1]] += 1.0
    g = rng.integers(0, 2, 400)
    kw = dict(min_size=10, max_tags=3, min_gain=0.05, min_drop=0.2, alpha=1.0)
    modes = find_score_modes(t, s, g, **kw)
    assert modes
    expected = [(m.group, m.tags, m.size, m.mean, m.adjusted_p_value) for m in modes]
    assert out.stdout.strip() == repr(expected)
