"""The regression search: the definition against a brute-force oracle, the
conditional p-value against scipy, the tested family's count against an
enumeration, planted truth, and a seeded null simulation."""

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import hypergeom

from fiftyone_prime.core import SearchParams
from fiftyone_prime.core.regression import (
    RegressionFamily,
    RegressionInput,
    RegressionMode,
    find_regressions,
    run_regression_search,
)
from tests.core import engines
from tests.core.regression_oracle import brute_force_regressions


def summary(modes):
    return [(m.group, m.tags, m.size, m.num_losses, m.num_wins) for m in modes]


def random_case(rng):
    n = int(rng.integers(40, 260))
    m = int(rng.integers(2, 7))
    tags = rng.random((n, m)) < rng.uniform(0.2, 0.7)
    base = rng.random(n) < rng.uniform(0.5, 0.9)
    new = rng.random(n) < rng.uniform(0.5, 0.9)
    groups = rng.integers(0, 3, n)
    kwargs = dict(
        min_size=int(rng.integers(2, 20)),
        min_drop=float(rng.choice([0.0, 0.05, 0.2])),
        min_gain=float(rng.choice([0.0, 0.02, 0.1])),
        max_tags=int(rng.integers(1, 5)),
        minimal=bool(rng.integers(0, 2)),
    )
    return tags, base, new, groups, kwargs


@pytest.mark.parametrize("seed", range(8))
def test_the_search_returns_exactly_the_definitions_modes(seed, engine):
    rng = np.random.default_rng(seed)
    for _ in range(12):
        tags, base, new, groups, kwargs = random_case(rng)
        expected = brute_force_regressions(tags, base, new, groups, **kwargs)
        got = engines.find_regressions(engine, tags, base, new, groups, **kwargs)
        assert summary(got) == expected
        # sparse input, and one group
        got = engines.find_regressions(engine, sp.csr_matrix(tags), base, new, groups, **kwargs)
        assert summary(got) == expected
        expected = brute_force_regressions(tags, base, new, **kwargs)
        assert summary(engines.find_regressions(engine, tags, base, new, **kwargs)) == expected


def test_a_failure_mode_search_is_a_regression_search_against_an_always_right_baseline(engine):
    """The same modes, sizes and losses (the errors), no wins: one search,
    two scores."""
    rng = np.random.default_rng(17)
    for _ in range(10):
        tags, _base, new, groups, kwargs = random_case(rng)
        always = np.ones(len(new), dtype=bool)
        regressions = engines.find_regressions(engine, tags, always, new, groups, **kwargs)
        failures = engines.find(engine, tags, new, groups, **kwargs)
        assert [(m.group, m.tags, m.size, m.num_losses) for m in regressions] == [
            (m.group, m.tags, m.size, m.num_errors) for m in failures
        ]
        assert all(m.num_wins == 0 for m in regressions)
        assert [m.gain for m in regressions] == pytest.approx([m.gain for m in failures])


def test_unsorted_groups_and_string_labels_give_the_same_modes(engine):
    rng = np.random.default_rng(11)
    tags, base, new, groups, kwargs = random_case(rng)
    labels = np.array(["c", "a", "b"])[groups]
    got = engines.find_regressions(engine, tags, base, new, labels, **kwargs)
    expected = brute_force_regressions(tags, base, new, labels, **kwargs)
    assert summary(got) == expected


def test_records_carry_both_models_accuracies_on_the_set_and_the_class():
    rng = np.random.default_rng(5)
    tags = rng.random((500, 5)) < 0.4
    base = rng.random(500) < 0.8
    new = rng.random(500) < 0.8
    modes = find_regressions(tags, base, new, alpha=None, min_size=10, min_drop=0.05)
    assert modes
    for m in modes:
        rows = tags[:, list(m.tag_indices)].all(axis=1)
        assert m.size == rows.sum()
        assert m.baseline_num_correct == base[rows].sum()
        assert m.num_correct == new[rows].sum()
        assert m.baseline_accuracy == pytest.approx(base[rows].mean())
        assert m.accuracy == pytest.approx(new[rows].mean())
        assert m.change == pytest.approx(new[rows].mean() - base[rows].mean())
        assert m.group_baseline_accuracy == pytest.approx(base.mean())
        assert m.group_accuracy == pytest.approx(new.mean())
        assert m.drop == pytest.approx(m.group_change - m.change)
        assert m.accuracy_ci[0] <= m.accuracy <= m.accuracy_ci[1]
        assert m.baseline_accuracy_ci[0] <= m.baseline_accuracy <= m.baseline_accuracy_ci[1]
        assert RegressionMode.from_dict(m.to_dict()) == m


def test_p_values_are_the_conditional_hypergeometric_test_on_discordant_units():
    rng = np.random.default_rng(2)
    n = 900
    tags = rng.random((n, 6)) < 0.35
    groups = rng.integers(0, 3, n)
    base = rng.random(n) < 0.8
    new = rng.random(n) < 0.8
    modes = find_regressions(tags, base, new, groups, alpha=None, min_size=15, min_drop=0.05)
    assert modes
    for m in modes:
        g = groups == m.group
        loss_c = int((g & base & ~new).sum())
        win_c = int((g & new & ~base).sum())
        rows = g & tags[:, list(m.tag_indices)].all(axis=1)
        loss_t = int((rows & base & ~new).sum())
        win_t = int((rows & new & ~base).sum())
        expected = hypergeom.sf(loss_t - 1, loss_c + win_c, loss_c, loss_t + win_t)
        assert m.p_value == pytest.approx(expected, rel=1e-12, abs=1e-300)
        assert m.adjusted_p_value is None  # alpha=None: no error control asked for


def family_psis(tags, groups, base, new, min_size, max_tags):
    """psi(D_T) of every set of the family, by enumeration: every set of
    <= max_tags tags with n_T >= min_size in its class."""
    psis = []
    for g in np.unique(groups):
        rows = groups == g
        loss, win = rows & base & ~new, rows & new & ~base
        d_c, l_c = int((loss | win).sum()), int(loss.sum())
        for k in range(1, max_tags + 1):
            for combo in combinations(range(tags.shape[1]), k):
                mask = rows & tags[:, list(combo)].all(axis=1)
                if mask.sum() < min_size:
                    continue
                d_t = int((mask & (loss | win)).sum())
                # the least p-value: all of min(D_T, L_c) discordant units losses
                psis.append(hypergeom.sf(min(d_t, l_c) - 1, d_c, l_c, d_t))
    return np.array(psis)


@pytest.mark.parametrize("seed", range(3))
def test_the_tested_family_is_counted_exactly_up_to_alpha_and_bounded_above(seed):
    rng = np.random.default_rng(9 + seed)
    n, n_tags, max_tags, min_size = 600, 7, 3, 12
    tags = rng.random((n, n_tags)) < 0.45
    groups = rng.integers(0, 3, n)
    base = rng.random(n) < 0.75
    new = rng.random(n) < 0.7
    params = SearchParams(min_size=min_size, max_tags=max_tags, alpha=0.05)
    inp = RegressionInput(tags, base, new, groups)
    family = RegressionFamily(inp, params)
    assert family.count_kind == "exact"
    psis = family_psis(tags, groups, base, new, min_size, max_tags)
    deltas = np.array([1e-12, 1e-8, 1e-5, 1e-3, 1e-2, 0.03, 0.05, 0.2, 1.0])
    deltas = np.sort(np.r_[deltas, family.cap, np.nextafter(family.cap, 0)])
    exact = np.array([(psis <= d * (1 + 1e-9)).sum() for d in deltas])
    counted = family.count(deltas)
    low = deltas <= family.cap
    assert counted[low] == pytest.approx(exact[low])  # exact up to the cap
    assert (counted >= exact).all()  # an upper bound above it
    # the cap: no delta above it has delta * m(delta) <= alpha (m >= exact)
    above = np.unique(psis[psis > family.cap])
    assert (above * np.array([(psis <= d).sum() for d in above]) > 0.05).all()
    # a class past the budget is bounded: never below the exact count
    bounded = RegressionFamily(inp, params, budget=1)
    assert bounded.count_kind in ("mixed", "bound") and bounded.num_bounded > 0
    assert (bounded.count(deltas) >= exact).all()
    # the level: the largest delta with delta * m(delta) <= alpha
    level = family.corrected_level(0.05)
    assert level * family.count(level)[0] <= 0.05 * (1 + 1e-9)
    assert (np.nextafter(level, 1) * max(1, (psis <= np.nextafter(level, 1)).sum()) > 0.05) or (
        level == 0.05
    )


def planted_pairs(seed, n_classes=6, per_class=1000, n_tags=8):
    """A new model better overall (0.88 vs 0.80) but at 0.3 on one planted
    tag pair in each of the first half of the classes."""
    rng = np.random.default_rng(seed)
    n = n_classes * per_class
    groups = np.repeat(np.arange(n_classes), per_class)
    tags = rng.random((n, n_tags)) < 0.25
    base = rng.random(n) < 0.8
    new = rng.random(n) < 0.88
    planted = {}
    for c in range(n_classes // 2):
        a, b = sorted(rng.choice(n_tags, 2, replace=False).tolist())
        rows = (groups == c) & tags[:, a] & tags[:, b]
        new[rows] = rng.random(rows.sum()) < 0.3
        base[rows] = rng.random(rows.sum()) < 0.8
        planted[c] = (str(a), str(b))
    return tags, base, new, groups, planted


@pytest.mark.parametrize("seed", range(4))
def test_planted_pairs_are_found_and_nothing_else(seed):
    tags, base, new, groups, planted = planted_pairs(seed)
    assert new.mean() > base.mean()  # better overall
    # Family-wise control: exactly the planted pairs.
    modes = run_regression_search(
        tags, base, new, groups, params=SearchParams(error_control="fwer")
    ).regressions
    assert {m.group: m.tags for m in modes} == planted
    assert len(modes) == len(planted)
    for m in modes:
        assert m.accuracy < m.baseline_accuracy
        assert m.adjusted_p_value <= 0.05
    # The default, false-discovery control: every planted pair, and any
    # other mode is a proxy (it shares a tag with its class's planted pair).
    found = find_regressions(tags, base, new, groups)
    assert set(planted.items()) <= {(m.group, m.tags) for m in found}
    for m in found:
        assert m.group in planted and set(m.tags) & set(planted[m.group])


def test_null_two_models_with_independent_errors_rarely_report_a_mode():
    # Family-wise control at alpha: P(any mode) <= alpha in each run. 200
    # seeded runs, each 4 classes x 300 units, 8 tags; same accuracy.
    alpha, runs, any_mode, definition_modes = 0.05, 200, 0, 0
    for seed in range(runs):
        rng = np.random.default_rng(1000 + seed)
        n = 1200
        tags = rng.random((n, 8)) < 0.35
        groups = np.repeat(np.arange(4), 300)
        base = rng.random(n) < 0.8
        new = rng.random(n) < 0.8
        outcome = run_regression_search(
            tags, base, new, groups, params=SearchParams(min_size=20, alpha=alpha)
        )
        definition_modes += outcome.significance.num_candidates
        any_mode += bool(outcome.regressions)
    assert definition_modes > runs  # the definition alone reports chance sets
    # alpha * runs = 10 expected at most; 20 is past its 99.9% binomial quantile
    assert any_mode <= 20, any_mode


def test_bad_input_is_refused_with_the_shapes():
    tags = np.zeros((10, 3), dtype=bool)
    with pytest.raises(ValueError, match="baseline_correct"):
        find_regressions(tags, np.ones(9, bool), np.ones(10, bool))
    with pytest.raises(ValueError, match="`correct`"):
        find_regressions(tags, np.ones(10, bool), np.ones(11, bool))
    with pytest.raises(ValueError, match="baseline_correct"):
        find_regressions(tags, np.full(10, 2), np.ones(10, bool))
    with pytest.raises(TypeError, match="params"):
        run_regression_search(tags, np.ones(10, bool), np.ones(10, bool), params={})


def test_false_discovery_control_is_bh_over_the_testable_family():
    from scipy.stats import false_discovery_control

    from fiftyone_prime.core.regression import least_p_values

    tags, base, new, groups, _planted = planted_pairs(0)
    params = SearchParams(alpha=0.05)
    fdr = run_regression_search(tags, base, new, groups, params=params, error_control="fdr")
    fwer = run_regression_search(tags, base, new, groups, params=params, error_control="fwer")
    assert fdr.significance.procedure == "benjamini-hochberg-tarone"
    assert {(m.group, m.tags) for m in fwer.regressions} <= {
        (m.group, m.tags) for m in fdr.regressions
    }
    everything = run_regression_search(
        tags, base, new, groups, params=params.replace(alpha=1.0), error_control="fdr"
    ).regressions
    inp = RegressionInput(tags, base, new, groups)
    family = RegressionFamily(inp, params.replace(alpha=1.0))
    delta = family.corrected_level(1.0)
    m = int(family.count(np.array([delta]))[0])
    least = least_p_values(everything)
    testable = least <= delta * (1 + 1e-9)
    p = np.array([x.p_value for x in everything])
    expected = false_discovery_control(np.r_[p[testable], np.ones(m - testable.sum())])
    got = np.array([x.adjusted_p_value for x in everything])
    assert got[testable] == pytest.approx(expected[: testable.sum()], rel=1e-9)
    assert (got[~testable] == 1.0).all()
    with pytest.raises(ValueError, match="error_control"):
        run_regression_search(tags, base, new, groups, error_control="bonferroni")


def test_the_regression_family_counts_no_set_at_level_zero():
    tags, base, new, groups, _planted = planted_pairs(0)
    family = RegressionFamily(RegressionInput(tags, base, new, groups), SearchParams(alpha=0.05))
    with np.errstate(invalid="raise"):
        counts = family.count(np.array([0.0, 1.0]))
    assert counts[0] == 0 and counts[1] > 0


@pytest.mark.slow  # the kernels run as Python
def test_the_kernels_give_the_same_modes_as_python_without_the_jit():
    """``NUMBA_DISABLE_JIT=1``: the regression and family kernels run as
    Python, with the same modes and adjusted p-values."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, scipy.sparse as sp;"
        "from fiftyone_prime.core import jit;"
        "from fiftyone_prime.core.regression import find_regressions;"
        "assert not jit.COMPILED;"
        "rng = np.random.default_rng(4);"
        "t = rng.random((400, 6)) < 0.5; b = rng.random(400) < 0.8; n = rng.random(400) < 0.8;"
        "n[t[:, 0] & t[:, 1]] = False; g = rng.integers(0, 2, 400);"
        "kw = dict(min_size=10, max_tags=3, min_gain=0.02, min_drop=0.1, alpha=1.0);"
        "a = find_regressions(t, b, n, g, **kw); c = find_regressions(sp.csr_matrix(t), b, n, g, **kw);"
        "assert a == c;"
        "print(repr([(m.group, m.tags, m.size, m.num_losses, m.adjusted_p_value) for m in a]))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    rng = np.random.default_rng(4)
    t = rng.random((400, 6)) < 0.5
    b = rng.random(400) < 0.8
    n = rng.random(400) < 0.8
    n[t[:, 0] & t[:, 1]] = False
    g = rng.integers(0, 2, 400)
    kw = dict(min_size=10, max_tags=3, min_gain=0.02, min_drop=0.1, alpha=1.0)
    modes = find_regressions(t, b, n, g, **kw)
    assert modes
    expected = [(m.group, m.tags, m.size, m.num_losses, m.adjusted_p_value) for m in modes]
    assert out.stdout.strip() == repr(expected)


@pytest.mark.parametrize("how", ["fwer", "fdr"])
def test_the_family_counted_during_the_search_is_the_standalone_count(how):
    from fiftyone_prime.core.regression import adjust, least_p_values, regression_p_values

    rng = np.random.default_rng(21)
    for _ in range(4):
        tags, base, new, groups, kwargs = random_case(rng)
        params = SearchParams(alpha=1.0, error_control=how, **kwargs)
        modes = run_regression_search(tags, base, new, groups, params=params).regressions
        if not modes:
            continue
        family = RegressionFamily(RegressionInput(tags, base, new, groups), params)
        p = regression_p_values(modes)
        expected, _ = adjust(p, least_p_values(modes), family, params, how)
        assert [m.adjusted_p_value for m in modes] == pytest.approx(expected, rel=1e-12)
