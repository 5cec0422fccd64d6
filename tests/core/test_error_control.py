"""Error control: false-discovery (BH/BY over Tarone's testable sets) and
family-wise, q-values, the parameter, and proxies grouped as aliases."""

import dataclasses

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from fiftyone_prime.core import DEFAULT_PARAMS, FailureMode, SearchParams, run_search
from fiftyone_prime.core.aliases import describe_aliases
from fiftyone_prime.core.error_control import (
    REFERENCE_ALPHA,
    flatten,
    harmonic,
    least_log_p_values,
    step_up_q_values,
)
from fiftyone_prime.core.significance import PROCEDURES
from fiftyone_prime.core.types import Alias


def planted(seed=0, n=1000, n_tags=8, base_accuracy=0.85):
    """Random tags; samples carrying tags 0 and 1 are mostly misclassified."""
    rng = np.random.default_rng(seed)
    tags = rng.random((n, n_tags)) < 0.35
    correct = rng.random(n) < base_accuracy
    pair = tags[:, 0] & tags[:, 1]
    correct[pair] = rng.random(pair.sum()) < 0.2
    return tags, correct


def many_classes(seed=1, n_classes=40, per_class=120, n_tags=10, share=0.4):
    """Small classes, a planted pair (tags 0 and 1, about 25 samples) in some."""
    rng = np.random.default_rng(seed)
    n = n_classes * per_class
    tags = rng.random((n, n_tags)) < 0.3
    groups = np.repeat(np.arange(n_classes), per_class)
    correct = rng.random(n) < 0.85
    for g in rng.choice(n_classes, int(share * n_classes), replace=False):
        rows = np.flatnonzero(groups == g)[:25]
        tags[rows, 0] = tags[rows, 1] = True
        both = (groups == g) & tags[:, 0] & tags[:, 1]
        correct[both] = rng.random(both.sum()) < 0.3
    return tags, correct, groups


# ------------------------------------------------------------------ q-values


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("method", ["bh", "by"])
def test_q_values_are_scipys_when_the_family_is_the_hypotheses_given(seed, method):
    rng = np.random.default_rng(seed)
    p = np.where(rng.random(50) < 0.3, rng.random(50) * 1e-3, rng.random(50))
    p[:3] = p[3]  # ties
    dependence = "any" if method == "by" else "prds"
    ours = step_up_q_values(p, len(p), dependence)
    assert ours == pytest.approx(false_discovery_control(p, method=method), rel=1e-12)
    # A larger family counts hypotheses that are never rejected: p = 1.
    padded = np.r_[p, np.ones(37)]
    ours = step_up_q_values(p, len(padded), dependence)
    expected = false_discovery_control(padded, method=method)[: len(p)]
    assert ours == pytest.approx(expected, rel=1e-12)


def test_harmonic_numbers():
    assert harmonic(1) == 1.0 and harmonic(4) == pytest.approx(25 / 12)
    big = 3e6
    assert harmonic(big) == pytest.approx(np.log(big) + np.euler_gamma + 1 / (2 * big), rel=1e-12)


def test_least_p_values_are_the_hypergeometric_extremes():
    from scipy.stats import hypergeom

    n, n_g, e_g = np.array([5, 30, 80]), np.array([100, 100, 100]), np.array([40, 40, 40])
    expected = hypergeom.pmf(np.minimum(n, e_g), n_g, e_g, n)
    assert np.exp(least_log_p_values(n, n_g, e_g)) == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------ the procedures


def test_the_default_is_fdr_and_every_control_is_recorded():
    assert DEFAULT_PARAMS.error_control == "fdr"
    tags, correct, groups = many_classes()
    for how in ("fdr", "fdr_by", "fwer"):
        sig = run_search(tags, correct, groups, params=SearchParams(error_control=how)).significance
        assert sig.error_control == how and sig.procedure == PROCEDURES[how]
        assert sig.reference_alpha == 0.05 and sig.tested_family >= 1
        assert sig.testable_level <= 0.05 and sig.family_count in ("bound", "exact")


@pytest.mark.parametrize("how", ["fdr", "fdr_by"])
def test_reported_modes_are_the_step_up_over_the_definitions_testable_modes(how):
    tags, correct, groups = many_classes()
    everything = run_search(
        tags, correct, groups, params=SearchParams(alpha=None, error_control=how)
    )
    outcome = run_search(tags, correct, groups, params=SearchParams(error_control=how))
    sig = outcome.significance
    reported = flatten(outcome.failure_modes)
    modes = everything.failure_modes
    # alpha=None: every mode of the definition with its p-value; nothing is
    # adjusted, so no family is counted.
    assert everything.significance.testable_level is None
    assert all(m.p_value is not None and m.adjusted_p_value is None for m in modes)
    key = lambda m: (m.group, m.tags)  # noqa: E731
    # By hand: BH/BY over the testable modes with the family's m.
    n_g = np.array([m.group_size for m in modes])
    e_g = np.array([round(m.group_size * (1 - m.group_accuracy)) for m in modes])
    log_psi = least_log_p_values(np.array([m.size for m in modes]), n_g, e_g)
    testable = log_psi <= np.log(sig.testable_level) * (1 - 1e-9)
    p = np.array([m.p_value for m in modes])
    c = harmonic(sig.tested_family) if how == "fdr_by" else 1.0
    r = np.arange(1, testable.sum() + 1)
    ps = np.sort(p[testable])
    n_reported = int(np.max(np.r_[0, r[ps <= 0.05 * r / (sig.tested_family * c)]]))
    assert len(reported) == n_reported > 0
    cutoff = 0.05 * n_reported / (sig.tested_family * c)
    expected = [key(m) for m, t in zip(modes, testable) if t and m.p_value <= cutoff]
    assert sorted(map(key, reported)) == sorted(expected)
    # Self-consistent: every reported mode has p <= alpha * R / (m * c).
    assert all(m.p_value <= 0.05 * len(reported) / (sig.tested_family * c) for m in reported)
    assert sig.corrected_level == pytest.approx(0.05 * len(reported) / (sig.tested_family * c))


def test_fdr_reports_at_least_what_fwer_reports_on_planted_classes():
    tags, correct, groups = many_classes()
    found = {}
    for how in ("fdr", "fwer", "fdr_by"):
        modes = flatten(
            run_search(tags, correct, groups, params=SearchParams(error_control=how)).failure_modes
        )
        found[how] = {(m.group, m.tags) for m in modes}
    assert found["fwer"] <= found["fdr"] and found["fdr_by"] <= found["fdr"]


def test_fwer_on_request_keeps_bonferroni_tarone():
    tags, correct = planted()
    outcome = run_search(tags, correct, params=SearchParams(error_control="fwer", alpha=1.0))
    for m in outcome.failure_modes:
        assert m.adjusted_p_value >= m.p_value


def test_effect_free_data_reports_nothing():
    rng = np.random.default_rng(7)
    tags = rng.random((4000, 12)) < 0.3
    groups = np.repeat(np.arange(20), 200)
    correct = rng.random(4000) < 0.75
    everything = run_search(tags, correct, groups, params=SearchParams(alpha=None, min_size=10))
    assert everything.failure_modes  # chance meets the definition
    for how in ("fdr", "fdr_by", "fwer"):
        params = SearchParams(min_size=10, error_control=how)
        assert run_search(tags, correct, groups, params=params).failure_modes == []


def test_reference_alpha_is_the_default_alpha():
    assert REFERENCE_ALPHA == DEFAULT_PARAMS.alpha


# ----------------------------------------------------------- the parameter


@pytest.mark.parametrize("bad", ["FDR", "bh", None, 1])
def test_bad_error_control_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="`error_control` must be one of"):
        SearchParams(error_control=bad)


def test_error_control_travels_in_the_params_dict():
    params = SearchParams(error_control="fwer")
    assert params.to_dict()["error_control"] == "fwer"
    assert SearchParams.from_dict(params.to_dict()) == params
    old = {k: v for k, v in DEFAULT_PARAMS.to_dict().items() if k != "error_control"}
    assert SearchParams.from_dict(old).error_control == "fdr"


# ---------------------------------------------------------------- aliases


def bundled(seed=0, n=1500, synonym_keep=0.65, stray=0.04):
    """Tags 0 and 1 fail together; tags 2 and 3 are synonyms of tag 1 (mostly
    on its samples), tag 4 a synonym of tag 0; tags 5-9 are independent."""
    rng = np.random.default_rng(seed)
    tags = rng.random((n, 10)) < 0.3
    for synonym, of in ((2, 1), (3, 1), (4, 0)):
        tags[:, synonym] = (tags[:, of] & (rng.random(n) < synonym_keep)) | (rng.random(n) < stray)
    correct = rng.random(n) < 0.85
    pair = tags[:, 0] & tags[:, 1]
    correct[pair] = rng.random(pair.sum()) < 0.2
    return tags, correct


@pytest.mark.parametrize("seed", range(4))
def test_proxies_of_one_failure_become_aliases_of_one_row(seed):
    tags, correct = bundled(seed)
    names = [f"t{i}" for i in range(10)]
    everything = run_search(tags, correct, tag_names=names, params=SearchParams(alpha=None))
    outcome = run_search(tags, correct, tag_names=names)
    proxies = {("t0", "t2"), ("t0", "t3"), ("t1", "t4"), ("t2", "t4"), ("t3", "t4")}
    found_proxies = {m.tags for m in everything.failure_modes} & proxies
    assert len(found_proxies) >= 2, "the data should hold proxies"
    rows = [m for m in outcome.failure_modes if set(m.tags) & {"t0", "t1", "t2", "t3", "t4"}]
    assert [m.tags for m in rows] == [("t0", "t1")]
    aliases = {a.tags for a in rows[0].aliases}
    significant = {m.tags for m in flatten(outcome.failure_modes)} - {("t0", "t1")}
    assert aliases == significant & aliases and aliases
    for a in rows[0].aliases:
        assert isinstance(a, Alias) and 0 < a.overlap <= a.size
        assert a.residual_p_value > outcome.significance.corrected_level
    assert outcome.significance.num_aliases == sum(len(m.aliases) for m in outcome.failure_modes)
    assert describe_aliases(rows[0]).startswith("also as {")
    # alpha=None: the paper's output, one row per mode, no aliases.
    assert all(not m.aliases for m in everything.failure_modes)


@pytest.mark.parametrize("seed", range(3))
def test_two_distinct_failures_whose_samples_overlap_stay_two_rows(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    tags = rng.random((n, 8)) < 0.4
    correct = rng.random(n) < 0.9
    for a, b in ((0, 1), (2, 3)):
        both = tags[:, a] & tags[:, b]
        correct[both] = rng.random(both.sum()) < 0.2
    assert (tags[:, :4].all(axis=1)).sum() > 40  # they share samples
    modes = run_search(tags, correct, tag_names=list("abcdefgh")).failure_modes
    assert {("a", "b"), ("c", "d")} <= {m.tags for m in modes}


def test_aliases_round_trip_and_old_records_load():
    tags, correct = bundled(1)
    mode = next(m for m in run_search(tags, correct).failure_modes if m.aliases)
    d = mode.to_dict()
    assert isinstance(d["aliases"][0], dict) and "overlap" in d["aliases"][0]
    again = FailureMode.from_dict(d)
    assert again == mode and isinstance(again.aliases[0], Alias)
    assert again.alias_tags == tuple(a.tags for a in mode.aliases)
    old = {k: v for k, v in d.items() if k != "aliases"}
    assert FailureMode.from_dict(old) == dataclasses.replace(mode, aliases=())


# ------------------------------------------------------ the realised rates


def _benchmark():
    """benchmarks/significance.py, loaded as a module."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "significance.py"
    spec = importlib.util.spec_from_file_location("_significance_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _bernstein_margin(n, alpha, tail=1e-6):
    """``t`` with ``P(mean - mu >= t) <= tail`` for ``n`` values in [0, 1]
    with mean ``mu <= alpha`` (so variance ``<= alpha``): Bernstein."""
    log_odds = -np.log(tail)
    # n t^2 / (2 (alpha + t / 3)) = log_odds
    a, b, c = n, -2 * log_odds / 3, -2 * log_odds * alpha
    return (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)


@pytest.mark.slow  # a seeded simulation of many datasets (benchmarks/significance.py prints the same rates)
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_the_realised_rates_are_within_what_a_correct_procedure_meets(alpha):
    """A small version of the benchmark's simulation (80 seeded datasets):
    a correct procedure exceeds these bounds with probability below 1e-6."""
    from scipy.stats import binom

    bench = _benchmark()
    n = 80
    rates = bench.rate_intervals(bench.simulate(n, seed=11, alpha=alpha))
    for how in ("fdr", "fdr_by"):
        assert rates[how]["fdr"] <= alpha + _bernstein_margin(n, alpha)
    limit = binom.isf(1e-6, n, alpha)  # datasets with a false mode, at most
    assert rates["fwer"]["fwer"] * n <= limit
    # The measurement sees a procedure that ignores the tested family.
    assert rates["naive"]["fdr"] > alpha + _bernstein_margin(n, alpha)
    assert rates["fdr"]["reported"] >= rates["fwer"]["reported"] > 0


@pytest.mark.parametrize("seed", range(2))
def test_sparse_and_dense_input_group_the_same_aliases(seed):
    import scipy.sparse as sp

    tags, correct = bundled(seed)
    groups = np.repeat([0, 1], 750)
    dense = run_search(tags, correct, groups).failure_modes
    sparse = run_search(sp.csr_matrix(tags), correct, groups).failure_modes
    assert dense == sparse and any(m.aliases for m in dense)
