"""Planted-truth and oracle tests of the exact search, on both engines."""

import contextlib
import dataclasses
import functools
import subprocess
import sys
import time
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_prime.core import FailureMode
from fiftyone_prime.core import find_failure_modes as find_significant_modes
from tests.core.engines import ENGINES, find
from tests.core.oracle import brute_force

# These tests check the failure-mode definition (conditions 1-4) against the
# brute-force oracle, so they ask for every mode of the definition; what
# significance filtering (the default alpha) leaves out is tested in
# test_significance.py.
find_failure_modes = functools.partial(find_significant_modes, alpha=None)


def summary(modes):
    return [(m.group, m.tags, m.size, m.num_correct) for m in modes]


def build(blocks, n_tags):
    """Builds samples from ``(count, tag columns, correct)`` blocks."""
    rows, correct = [], []
    for count, cols, is_correct in blocks:
        for _ in range(count):
            row = np.zeros(n_tags, dtype=bool)
            row[list(cols)] = True
            rows.append(row)
            correct.append(is_correct)
    return np.array(rows), np.array(correct)


# ---------------------------------------------------------------- planted truth


def test_planted_pair_is_found_and_nothing_else(engine):
    # 200 samples. Tags 0 and 1 each appear alone with high accuracy; together
    # (40 samples) the classifier is right on only 10 of them.
    blocks = [
        (10, [0, 1], True),
        (30, [0, 1], False),  # pair: 10/40 = 0.25
        (50, [0], True),
        (5, [0], False),  # tag 0 alone
        (50, [1], True),
        (5, [1], False),  # tag 1 alone
        (10, [2], True),
        (0, [2], False),
        (40, [3], True),
        (0, [3], False),
    ]
    tags, correct = build(blocks, 4)
    modes = find(engine, tags, correct, tag_names=["snow", "night", "dog", "sky"])
    # acc_g = 160/200 = 0.8; acc(snow) = 60/95, acc(night) = 60/95; pair 0.25.
    assert summary(modes) == [(None, ("night", "snow"), 40, 10)]
    (mode,) = modes
    assert mode.group_size == 200
    assert mode.group_accuracy == pytest.approx(0.8)
    assert mode.accuracy == pytest.approx(0.25)
    assert mode.drop == pytest.approx(0.55)
    assert mode.gain == pytest.approx(60 / 95 - 0.25)
    assert mode.tag_indices == (1, 0)


def test_planted_triple_requires_every_tag(engine):
    # Only the three tags together fail; every pair is fine.
    blocks = [
        (40, [0, 1, 2], False),
        (80, [0, 1], True),
        (80, [0, 2], True),
        (80, [1, 2], True),
        (60, [], True),
        (20, [], False),
    ]
    tags, correct = build(blocks, 3)
    modes = find(engine, tags, correct, tag_names=["a", "b", "c"])
    assert summary(modes) == [(None, ("a", "b", "c"), 40, 0)]
    assert modes[0].gain == pytest.approx(80 / 120)  # each pair: 80 of 120 right


def test_groups_are_sorted_and_each_gets_its_own_accuracy(engine):
    blocks_a = [(30, [0], False), (70, [], True)]
    blocks_b = [(30, [1], False), (70, [], True)]
    ta, ca = build(blocks_a, 2)
    tb, cb = build(blocks_b, 2)
    tags = np.vstack([tb, ta])
    correct = np.concatenate([cb, ca])
    groups = np.array(["zebra"] * 100 + ["ant"] * 100)
    modes = find(engine, tags, correct, groups, tag_names=["fog", "rain"])
    assert summary(modes) == [("ant", ("fog",), 30, 0), ("zebra", ("rain",), 30, 0)]
    assert all(m.group_accuracy == pytest.approx(0.7) for m in modes)


def test_thresholds_hit_exactly_count(engine):
    # acc_g = 0.8 (80/100); tag 0: 30 samples (= min_size), 18 correct -> 0.6:
    # the drop is exactly 0.2.
    blocks = [(18, [0], True), (12, [0], False), (62, [], True), (8, [], False)]
    tags, correct = build(blocks, 1)
    modes = find(engine, tags, correct, min_size=30, min_drop=0.2)
    assert summary(modes) == [(None, ("0",), 30, 18)]
    # Any stricter threshold and it is gone.
    assert find(engine, tags, correct, min_size=31) == []
    assert find(engine, tags, correct, min_drop=0.2 + 1e-6) == []

    # Gain exactly at min_gain: tag 0 alone has accuracy 0.5, the pair 0.4.
    blocks = [
        (20, [0, 1], True),
        (30, [0, 1], False),  # pair: 20/50 = 0.4
        (30, [0], True),
        (0, [0], False),  # tag 0: 50/80 = 0.625
        (200, [1], True),
        (0, [1], False),  # tag 1: 220/250
        (300, [], True),
        (100, [], False),
    ]
    tags, correct = build(blocks, 2)
    acc0 = 50 / 80
    gain = acc0 - 0.4
    modes = find(engine, tags, correct, min_size=30, min_drop=0.2, min_gain=gain)
    assert summary(modes) == [(None, ("0", "1"), 50, 20)]
    assert find(engine, tags, correct, min_size=30, min_drop=0.2, min_gain=gain + 1e-6) == []


def test_tags_that_always_cooccur_give_single_tags_not_the_pair(engine):
    blocks = [(40, [0, 1], False), (160, [], True)]
    tags, correct = build(blocks, 2)
    modes = find(engine, tags, correct, min_drop=0.5)
    # Each tag alone is a failure mode; the pair adds nothing (gain 0).
    assert summary(modes) == [(None, ("0",), 40, 0), (None, ("1",), 40, 0)]
    modes = find(engine, tags, correct, min_drop=0.5, minimal=False, min_gain=0.0)
    assert summary(modes) == [
        (None, ("0",), 40, 0),
        (None, ("1",), 40, 0),
        (None, ("0", "1"), 40, 0),
    ]


def test_groups_with_accuracy_zero_or_one(engine):
    rng = np.random.default_rng(3)
    tags = rng.random((120, 4)) < 0.5
    assert find(engine, tags, np.zeros(120, bool), min_size=5) == []
    assert find(engine, tags, np.ones(120, bool), min_size=5, min_drop=0.0) != []
    for correct in (np.zeros(120, bool), np.ones(120, bool)):
        for min_drop in (0.0, 0.2):
            kwargs = dict(min_size=5, min_drop=min_drop, min_gain=0.0, max_tags=3)
            assert summary(find(engine, tags, correct, **kwargs)) == brute_force(
                tags, correct, **kwargs
            )


def test_minimal_false_keeps_supersets_of_failure_modes(engine):
    blocks = [
        (40, [0, 1], False),
        (40, [0], True),
        (10, [0], False),
        (40, [1], True),
        (200, [], True),
    ]
    tags, correct = build(blocks, 2)
    minimal = find(engine, tags, correct, min_drop=0.3)
    everything = find(engine, tags, correct, min_drop=0.3, minimal=False)
    assert summary(minimal) == brute_force(tags, correct, min_drop=0.3)
    assert summary(everything) == brute_force(tags, correct, min_drop=0.3, minimal=False)
    assert set(summary(minimal)) < set(summary(everything))
    assert (None, ("0", "1"), 40, 0) in summary(everything)


def test_small_or_empty_groups_are_skipped(engine):
    tags = np.ones((10, 2), dtype=bool)
    assert find(engine, tags, np.zeros(10, bool), min_size=30) == []
    assert find(engine, np.zeros((0, 3), bool), np.zeros(0, bool)) == []


def test_dense_and_sparse_give_identical_results():
    rng = np.random.default_rng(7)
    tags = rng.random((3000, 25)) < 0.3
    correct = rng.random(3000) < 0.8
    planted = tags[:, 3] & tags[:, 8]
    correct[planted] = rng.random(planted.sum()) < 0.2
    groups = rng.integers(0, 4, 3000)
    dense = find_failure_modes(tags, correct, groups, max_tags=4)
    assert dense  # the planted pair at least
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array):
        assert find_failure_modes(fmt(tags), correct, groups, max_tags=4) == dense
    as_ints = find_failure_modes(tags.astype(np.int8), correct.astype(int), groups, max_tags=4)
    assert as_ints == dense


def test_result_records_are_frozen_and_round_trip():
    blocks = [(40, [0], False), (160, [], True)]
    tags, correct = build(blocks, 1)
    (mode,) = find_failure_modes(tags, correct, tag_names=["blur"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        mode.size = 3
    assert FailureMode.from_dict(mode.to_dict()) == mode
    assert mode.num_errors == 40 and mode.num_tags == 1


def test_many_groups_of_mixed_sizes_match_brute_force(engine):
    """Groups of very different sizes share chunks (bitsets padded to the
    largest) or not; both lookups; deep sets."""
    rng = np.random.default_rng(17)
    sizes = [40, 70, 130, 260, 600, 65, 64, 129]
    groups = np.repeat(np.arange(len(sizes)), sizes)
    n = len(groups)
    tags = rng.random((n, 7)) < 0.55
    correct = rng.random(n) < rng.uniform(0.5, 0.95, len(sizes))[groups]
    correct[tags[:, 1] & tags[:, 4] & tags[:, 6]] = False
    for minimal in (True, False):
        kwargs = dict(min_size=6, min_drop=0.15, min_gain=0.05, max_tags=5, minimal=minimal)
        expected = brute_force(tags, correct, groups, **kwargs)
        assert summary(find(engine, tags, correct, groups, **kwargs)) == expected
        for one_group_per_chunk in (True, False):
            for sorted_lookup in (True, False):
                with tiny_buffers(one_group_per_chunk, sorted_lookup):
                    got = find(engine, sp.csr_matrix(tags), correct, groups, **kwargs)
                assert summary(got) == expected


def test_max_tags_five_matches_oracle(engine):
    rng = np.random.default_rng(11)
    tags = rng.random((400, 8)) < 0.6
    correct = rng.random(400) < 0.9
    planted = tags[:, :5].all(axis=1)
    correct[planted] = False
    kwargs = dict(min_size=5, min_drop=0.2, min_gain=0.05, max_tags=5)
    assert summary(find(engine, tags, correct, **kwargs)) == brute_force(tags, correct, **kwargs)
    # Its 4-tag subsets fail too, so only the non-minimal search reports it.
    got = summary(find(engine, tags, correct, **kwargs, minimal=False))
    assert got == brute_force(tags, correct, **kwargs, minimal=False)
    assert (None, ("0", "1", "2", "3", "4"), int(planted.sum()), 0) in got


# ------------------------------------------------------------- oracle property


@st.composite
def problems(draw):
    n = draw(st.integers(0, 90))
    m = draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.2, 0.5, 0.8]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    tags = rng.random((n, m)) < density
    if m > 1 and draw(st.booleans()):
        tags[:, 1] = tags[:, 0]  # a pair that always co-occurs
    accuracy = draw(st.sampled_from([0.0, 0.5, 0.8, 1.0]))
    correct = rng.random(n) < accuracy
    if n and draw(st.booleans()):
        hit = tags[:, : min(2, m)].all(axis=1)
        correct[hit] = rng.random(hit.sum()) < 0.2
    groups = rng.integers(0, draw(st.integers(1, 3)), n) if draw(st.booleans()) else None
    kwargs = dict(
        min_size=draw(st.integers(1, 12)),
        min_drop=draw(st.sampled_from([0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1.0])),
        min_gain=draw(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 1 / 3])),
        max_tags=draw(st.integers(1, 4)),
        minimal=draw(st.booleans()),
    )
    return tags, correct, groups, kwargs


@settings(max_examples=300, deadline=None)
@given(problems())
def test_engine_matches_brute_force(engine, problem):
    tags, correct, groups, kwargs = problem
    expected = brute_force(tags, correct, groups, **kwargs)
    assert summary(find(engine, tags, correct, groups, **kwargs)) == expected
    assert summary(find(engine, sp.csr_matrix(tags), correct, groups, **kwargs)) == expected


@contextlib.contextmanager
def tiny_buffers(one_group_per_chunk=True, sorted_lookup=False):
    """Forces many bitset and join batches (of the levelwise engine); with
    ``one_group_per_chunk``, also a chunk per group (else the groups share
    chunks, as they do at the default sizes); with ``sorted_lookup``, the
    levelwise engine's Apriori join with sorted-key lookups instead of child
    bitmaps."""
    from fiftyone_prime.core import candidates
    from tests.core import levelwise

    sizes = dict(_BATCH_WORDS=3, _JOIN_CANDIDATES=2)
    if sorted_lookup:
        sizes.update(_BITMAP_WORDS=0)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.multiple(levelwise, **sizes))
        if one_group_per_chunk:
            stack.enter_context(mock.patch.multiple(candidates, CHUNK_WORDS=1, CHUNK_MAP=1))
        yield


@settings(max_examples=100, deadline=None)
@given(problems(), st.booleans(), st.booleans())
def test_sparse_paths_and_small_batches_match_brute_force(
    engine, problem, one_group_per_chunk, sorted_lookup
):
    tags, correct, groups, kwargs = problem
    expected = brute_force(tags, correct, groups, **kwargs)
    with tiny_buffers(one_group_per_chunk, sorted_lookup):
        got = find(engine, sp.csc_matrix(tags), correct, groups, **kwargs)
        assert summary(got) == expected
        got = find(engine, tags, correct, groups, **kwargs)
        assert summary(got) == expected


@st.composite
def deeper_problems(draw):
    """Larger sets than :func:`problems`: up to 9 tags, sets of up to 6,
    with bundles of co-occurring tags (where the compiled engine's pruning
    differs most from the levelwise engine's)."""
    n = draw(st.integers(20, 160))
    m = draw(st.integers(3, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    bundles = rng.random((n, 3)) < draw(st.sampled_from([0.3, 0.6]))
    member = rng.integers(0, 3, m)  # each tag belongs to a bundle
    keep = rng.random((n, m)) < draw(st.sampled_from([0.7, 0.95]))
    tags = (bundles[:, member] & keep) | (rng.random((n, m)) < 0.1)
    correct = rng.random(n) < draw(st.sampled_from([0.6, 0.85, 0.95]))
    if draw(st.booleans()):
        hit = tags[:, : draw(st.integers(2, min(4, m)))].all(axis=1)
        correct[hit] = rng.random(hit.sum()) < 0.2
    groups = rng.integers(0, draw(st.integers(1, 3)), n) if draw(st.booleans()) else None
    kwargs = dict(
        min_size=draw(st.integers(1, 10)),
        min_drop=draw(st.sampled_from([0.0, 0.05, 0.1, 0.2])),
        min_gain=draw(st.sampled_from([0.0, 0.02, 0.05, 0.1])),
        max_tags=draw(st.integers(2, 6)),
        minimal=draw(st.booleans()),
    )
    return tags, correct, groups, kwargs


@settings(max_examples=150, deadline=None)
@given(deeper_problems())
def test_deeper_sets_match_brute_force_on_both_engines(problem):
    tags, correct, groups, kwargs = problem
    expected = brute_force(tags, correct, groups, **kwargs)
    results = {}
    for name, engine in ENGINES.items():
        results[name] = find(engine, sp.csr_matrix(tags), correct, groups, **kwargs)
        assert summary(results[name]) == expected
    # Gains (and every other field) agree exactly, not only the sets.
    assert results["compiled"] == results["levelwise"]


def test_large_sparse_group_matches_brute_force(engine):
    rng = np.random.default_rng(5)
    tags = rng.random((700, 12)) < 0.4
    correct = rng.random(700) < 0.85
    hit = tags[:, 2] & tags[:, 5] & tags[:, 7]
    correct[hit] = False
    kwargs = dict(min_size=8, max_tags=4, minimal=False)
    expected = brute_force(tags, correct, **kwargs)
    assert (None, ("2", "5", "7"), int(hit.sum()), 0) in expected
    for one_group_per_chunk in (True, False):
        for sorted_lookup in (True, False):
            with tiny_buffers(one_group_per_chunk, sorted_lookup):
                got = find(engine, sp.csr_matrix(tags), correct, **kwargs)
            assert summary(got) == expected


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(tags=np.ones(5, bool)), ValueError, r"2-D .* shape \(5,\)"),
        (dict(tags=[[True]]), TypeError, "numpy array or a scipy sparse"),
        (dict(tags=np.full((5, 2), 2)), ValueError, r"values such as \[2\]"),
        (dict(tags=np.full((5, 2), "a")), TypeError, "booleans; got dtype <U1"),
        (dict(correct=np.ones(4, bool)), ValueError, r"shape \(5,\) .* got shape \(4,\)"),
        (dict(correct=np.full(5, 0.5)), ValueError, r"`correct` must hold booleans"),
        (dict(groups=[1, 2, 3]), ValueError, r"`groups` must have shape \(5,\)"),
        (dict(groups=np.array([1.0, np.nan, 2.0, 1.0, 1.0])), ValueError, "1 NaN"),
        (dict(groups=[1.0, np.nan, 2.0, 1.0, 1.0]), ValueError, "1 missing values"),
        (dict(groups=["a", None, "b", "a", "a"]), ValueError, "missing values"),
        (dict(groups=["a", 1, "b", "a", "a"]), TypeError, "mixes label types"),
        (dict(tag_names=["x"]), ValueError, r"one name per tag column \(2\); got 1"),
        (dict(tag_names=["x", "x"]), ValueError, "'x' appears more than once"),
        (dict(min_size=0), ValueError, "`min_size` must be an integer >= 1; got 0"),
        (dict(min_size=2.5), ValueError, "`min_size`"),
        (dict(min_drop=-0.1), ValueError, r"`min_drop` must be in \[0, 1\]; got -0.1"),
        (dict(min_gain=1.5), ValueError, r"`min_gain` must be in \[0, 1\]"),
        (dict(min_gain="0.1"), TypeError, "`min_gain` must be a number"),
        (dict(max_tags=0), ValueError, "`max_tags` must be an integer >= 1; got 0"),
        (dict(max_tags=9), ValueError, r"`max_tags` must be at most 8 .*; got 9"),
        (dict(minimal="yes"), TypeError, "`minimal` must be a bool"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(kwargs, error, match):
    args = dict(tags=np.ones((5, 2), bool), correct=np.ones(5, bool))
    args.update(kwargs)
    tags, correct = args.pop("tags"), args.pop("correct")
    with pytest.raises(error, match=match):
        find_failure_modes(tags, correct, **args)


@pytest.mark.slow  # a subprocess
def test_core_imports_neither_fiftyone_nor_torch():
    code = (
        "import sys, fiftyone_prime.core, fiftyone_prime;"
        "bad = [m for m in ('fiftyone', 'torch', 'open_clip', 'transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow  # a stress test that fills memory up to the guard
def test_levelwise_oracle_stops_with_advice_when_nothing_is_pruned():
    """Issue #10's runaway case on the engine that keeps levels in memory:
    2,000 x 30 dense tags, every threshold at its loosest. It stops at the
    level whose candidates would exceed the memory limit (lowered here)."""
    from fiftyone_prime.core import engine as engine_module
    from fiftyone_prime.core.search import SearchTooLargeError

    rng = np.random.default_rng(0)
    tags = rng.random((2000, 30)) < 0.5
    correct = rng.random(2000) < 0.8
    start = time.perf_counter()
    with (
        mock.patch.object(engine_module, "MAX_CANDIDATE_BYTES", 1 << 22),
        pytest.raises(
            SearchTooLargeError,
            match=r"candidate sets of \d+ tags .* raise "
            r"min_size \(now 1\), lower max_tags \(now 8\)",
        ),
    ):
        find(
            ENGINES["levelwise"],
            tags,
            correct,
            min_size=1,
            min_drop=0.0,
            min_gain=0.0,
            minimal=False,
            max_tags=8,
        )
    assert time.perf_counter() - start < 60


def test_compiled_engine_stops_quickly_with_advice_when_nothing_is_pruned():
    """The compiled engine's limit: sets counted per group and size,
    settling a possible failure mode counting its subsets too."""
    from fiftyone_prime.core.search import SearchTooLargeError

    rng = np.random.default_rng(0)
    tags = rng.random((2000, 30)) < 0.5
    correct = rng.random(2000) < 0.8
    loosest = dict(min_size=1, min_drop=0.0, min_gain=0.0, minimal=False, max_tags=8)
    start = time.perf_counter()
    with pytest.raises(
        SearchTooLargeError,
        match=r"counted more than [\d,]+ tag sets while building sets of \d tags .* raise "
        r"min_size \(now 1\), lower max_tags \(now 8\)",
    ):
        find(ENGINES["compiled"], tags, correct, **loosest)
    assert time.perf_counter() - start < 30  # about 0.5 s once compiled


# ------------------------------------------------------------------- engines


def test_one_place_chooses_the_compiled_engine_up_to_the_limit():
    from fiftyone_prime.core import SearchParams, kernels
    from fiftyone_prime.core.defaults import MAX_TAGS_LIMIT
    from fiftyone_prime.core.engine import CompiledEngine, select_engine

    for max_tags in range(1, MAX_TAGS_LIMIT + 1):
        assert isinstance(select_engine(SearchParams(max_tags=max_tags)), CompiledEngine)
    with pytest.raises(ValueError, match=f"at most {MAX_TAGS_LIMIT}"):
        SearchParams(max_tags=MAX_TAGS_LIMIT + 1)

    rng = np.random.default_rng(2)
    tags = rng.random((300, 10)) < 0.5
    correct = rng.random(300) < 0.8
    calls = []
    original = kernels.search_chunk

    def spy(*args, **kwargs):
        calls.append(kwargs["max_tags"])
        return original(*args, **kwargs)

    kwargs = dict(min_size=5, min_drop=0.1, min_gain=0.05, max_tags=MAX_TAGS_LIMIT)
    with mock.patch.object(kernels, "search_chunk", spy):
        default = find_failure_modes(tags, correct, **kwargs)
    assert calls and set(calls) == {MAX_TAGS_LIMIT}
    assert summary(default) == brute_force(tags, correct, **kwargs)
    assert find(ENGINES["levelwise"], tags, correct, **kwargs) == default
    assert find_failure_modes(sp.csr_matrix(tags), correct, **kwargs) == default


def test_a_planted_mode_of_max_tags_tags_is_settled_exactly():
    """A failure mode of 8 tags, where settling checks all 255 subsets."""
    from fiftyone_prime.core.defaults import MAX_TAGS_LIMIT

    rng = np.random.default_rng(12)
    n, k = 1200, MAX_TAGS_LIMIT
    tags = rng.random((n, k + 1)) < 0.75
    correct = rng.random(n) < 0.9
    planted = tags[:, :k].all(axis=1)
    correct[planted] = rng.random(planted.sum()) < 0.1
    kwargs = dict(min_size=10, min_drop=0.2, min_gain=0.01, max_tags=k)
    for minimal in (False, True):
        expected = brute_force(tags, correct, **kwargs, minimal=minimal)
        if not minimal:
            assert (None, tuple(str(t) for t in range(k))) in [e[:2] for e in expected]
        results = {}
        for name, engine in ENGINES.items():
            results[name] = find(engine, tags, correct, **kwargs, minimal=minimal)
            assert summary(results[name]) == expected
        assert results["compiled"] == results["levelwise"]


def test_the_callers_arrays_are_left_untouched(engine):
    rng = np.random.default_rng(8)
    tags = rng.random((500, 6)) < 0.4
    groups = np.repeat([0, 1], 250)  # already in group order: no copy is made
    correct = rng.random(500) < 0.8
    correct[tags[:, 0] & tags[:, 1]] = False
    sparse = sp.csr_matrix(tags)
    before = (tags.copy(), sparse.copy(), correct.copy(), groups.copy())
    assert find(engine, tags, correct, groups, min_size=10)
    assert find(engine, sparse, correct, groups, min_size=10)
    assert np.array_equal(tags, before[0]) and np.array_equal(correct, before[2])
    assert (sparse != before[1]).nnz == 0 and np.array_equal(groups, before[3])
    assert np.array_equal(sparse.indices, before[1].indices)


def test_bools_stored_as_bytes_other_than_one_read_as_true(engine):
    rng = np.random.default_rng(9)
    raw = (rng.random((300, 5)) < 0.4).astype(np.uint8) * np.uint8(2)  # True stored as 2
    correct = rng.random(300) < 0.8
    correct[(raw[:, 0] > 0) & (raw[:, 1] > 0)] = False
    expected = find_failure_modes(raw > 0, correct, min_size=10)
    assert expected
    assert find(engine, raw.view(bool), correct, min_size=10) == expected


def test_chunks_on_several_threads_give_the_same_modes_and_errors():
    from fiftyone_prime.core import engine as engine_module
    from fiftyone_prime.core.search import SearchTooLargeError

    rng = np.random.default_rng(4)
    n = 3000
    groups = rng.integers(0, 12, n)
    tags = rng.random((n, 14)) < 0.4
    correct = rng.random(n) < 0.85
    correct[tags[:, 2] & tags[:, 9]] = False
    kwargs = dict(min_size=8, max_tags=4, alpha=None)
    loosest = dict(min_size=1, min_drop=0.0, min_gain=0.0, minimal=False)

    def too_large():
        with (
            mock.patch.object(engine_module, "MAX_CANDIDATE_BYTES", 1 << 14),
            pytest.raises(SearchTooLargeError, match="more than 240 tag sets in group") as error,
        ):
            find_failure_modes(tags, correct, groups, **loosest)
        return str(error.value)

    with (
        tiny_buffers(one_group_per_chunk=True),
        mock.patch.object(engine_module, "num_threads", lambda: 1),
    ):
        one = find_failure_modes(sp.csr_matrix(tags), correct, groups, **kwargs)
        one_error = too_large()
    assert one
    with (
        tiny_buffers(one_group_per_chunk=True),
        mock.patch.object(engine_module, "num_threads", lambda: 3),
        mock.patch.object(
            engine_module, "ThreadPoolExecutor", wraps=engine_module.ThreadPoolExecutor
        ) as pool,
    ):
        many = find_failure_modes(sp.csr_matrix(tags), correct, groups, **kwargs)
        assert pool.call_args.args == (3,)
        # A group over the limit stops the search from its thread, the same
        # group as without threads.
        assert too_large() == one_error
    assert many == one


def test_explicit_false_entries_of_a_sparse_matrix_are_not_tags(engine):
    rng = np.random.default_rng(6)
    tags = rng.random((400, 6)) < 0.4
    correct = rng.random(400) < 0.8
    correct[tags[:, 0] & tags[:, 1]] = False
    kwargs = dict(min_size=10, max_tags=3)
    expected = find_failure_modes(tags, correct, **kwargs)
    assert expected
    # Every missing tag stored as an explicit False.
    rows, cols = np.indices(tags.shape)
    padded = sp.csr_matrix((tags.ravel(), (rows.ravel(), cols.ravel())), shape=tags.shape)
    assert padded.nnz == tags.size and padded.has_canonical_format
    assert find(engine, padded, correct, **kwargs) == expected


@pytest.mark.slow  # a subprocess
def test_numba_switched_off_runs_the_kernels_as_python_with_the_same_modes():
    """``NUMBA_DISABLE_JIT=1``: the kernels run as Python (popcount falls
    back to Python's bit count), dense and sparse, with the same results."""
    code = (
        "import numpy as np, scipy.sparse as sp;"
        "from fiftyone_prime.core import jit, find_failure_modes;"
        "assert not jit.COMPILED;"
        "rng = np.random.default_rng(0);"
        "t = rng.random((300, 6)) < 0.5; c = rng.random(300) < 0.8; c[t[:, 0] & t[:, 1]] = False;"
        "g = rng.integers(0, 2, 300);"
        "kw = dict(min_size=10, max_tags=4, min_gain=0.02, minimal=False, alpha=None);"
        "a = find_failure_modes(t, c, g, **kw); b = find_failure_modes(sp.csr_matrix(t), c, g, **kw);"
        "assert a == b;"
        "print(repr([(m.group, m.tags, m.size, m.num_correct, m.gain) for m in a]))"
    )
    env = {**__import__("os").environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    rng = np.random.default_rng(0)
    t = rng.random((300, 6)) < 0.5
    c = rng.random(300) < 0.8
    c[t[:, 0] & t[:, 1]] = False
    g = rng.integers(0, 2, 300)
    kw = dict(min_size=10, max_tags=4, min_gain=0.02, minimal=False)
    modes = find_failure_modes(t, c, g, **kw)
    assert modes
    expected = [(int(m.group), m.tags, m.size, m.num_correct, m.gain) for m in modes]
    assert out.stdout.strip() == repr(expected)


@pytest.mark.slow  # a subprocess that compiles the kernels
def test_kernels_compile_where_no_cache_can_be_written():
    """Where numba finds no writable cache directory, the kernels compile in
    the process instead of failing the import."""
    code = (
        "import numpy as np;"
        "from fiftyone_prime.core import jit, find_failure_modes;"
        "assert jit.COMPILED;"
        "rng = np.random.default_rng(0);"
        "t = rng.random((200, 5)) < 0.5; c = rng.random(200) < 0.8; c[t[:, 0] & t[:, 1]] = False;"
        "print(len(find_failure_modes(t, c, min_size=10)))"
    )
    # A locator that never applies outside IPython: no cache directory at all.
    env = {
        **__import__("os").environ,
        "NUMBA_CACHE_LOCATOR_CLASSES": "numba.core.caching.IPythonCacheLocator",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    assert int(out.stdout) >= 1
