"""Coded groups: the same search as the labels they stand for, checked cheaply."""

import numpy as np
import pytest
import scipy.sparse as sp

from fiftyone_prime.core import CodedGroups, find_failure_modes, find_regressions
from tests.core.engines import find


def _data(seed=0, n=3000, n_tags=12):
    rng = np.random.default_rng(seed)
    classes = np.array(["zebra", "ant", "moth", "café", "Ant"], dtype=object)
    labels = classes[rng.integers(0, len(classes), n)]
    tags = rng.random((n, n_tags)) < 0.25
    correct = rng.random(n) < 0.85
    hard = tags[:, 0] & tags[:, 1]
    correct[hard] = rng.random(hard.sum()) < 0.3  # a planted pair in every class
    return sp.csr_matrix(tags), correct, labels


def _key(modes):
    return [(m.group, m.tags, m.size, m.num_correct, m.p_value, m.adjusted_p_value) for m in modes]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coded_groups_give_the_labels_search_on_every_engine(engine, seed):
    tags, correct, labels = _data(seed)
    by_labels = find(engine, tags, correct, labels, alpha=None)
    coded = CodedGroups.from_labels(labels)
    assert _key(find(engine, tags, correct, coded, alpha=None)) == _key(by_labels)
    assert any(m.tags == ("0", "1") for m in by_labels)  # the planted pair is there


def test_rows_sorted_by_code_give_the_same_modes():
    tags, correct, labels = _data(3)
    coded = CodedGroups.from_labels(labels)
    order = np.argsort(coded.codes, kind="stable")
    sorted_coded = CodedGroups(coded.codes[order], coded.labels)
    assert _key(find_failure_modes(tags[order], correct[order], sorted_coded)) == _key(
        find_failure_modes(tags, correct, labels)
    )


def test_a_label_no_sample_has_is_dropped():
    tags, correct, labels = _data(4)
    coded = CodedGroups.from_labels(labels)
    wider = CodedGroups(coded.codes + 1, ("AAA", *coded.labels))  # "AAA" has no sample
    assert _key(find_failure_modes(tags, correct, wider)) == _key(
        find_failure_modes(tags, correct, labels)
    )


def test_regressions_take_coded_groups():
    tags, correct, labels = _data(5)
    rng = np.random.default_rng(5)
    baseline = correct | (rng.random(len(correct)) < 0.5)
    coded = CodedGroups.from_labels(labels)
    a = find_regressions(tags, baseline, correct, coded, alpha=None)
    b = find_regressions(tags, baseline, correct, labels, alpha=None)
    assert [(m.group, m.tags, m.size) for m in a] == [(m.group, m.tags, m.size) for m in b]


@pytest.mark.parametrize(
    "groups, error, match",
    [
        (CodedGroups(np.array([0, 1, 2]), ("a", "b", "c")), ValueError, "shape"),
        (CodedGroups(np.array([0, 1, 0, 3]), ("a", "b")), ValueError, r"\[0, 2\)"),
        (CodedGroups(np.array([0, -1, 0, 1]), ("a", "b")), ValueError, r"\[0, 2\)"),
        (CodedGroups(np.array([0, 1, 0, 1]), ("b", "a")), ValueError, "sorted"),
        (CodedGroups(np.array([0, 1, 0, 1]), ("a", "a")), ValueError, "sorted"),
        (CodedGroups(np.array([0, 1, 0, 1]), ("a", None)), ValueError, "None"),
        (CodedGroups(np.array([0, 1, 0, 1]), ("a", 1)), TypeError, "cannot be sorted"),
        (CodedGroups(np.array([0.0, 1.0, 0.0, 1.0]), ("a", "b")), TypeError, "integers"),
    ],
)
def test_bad_coded_groups_are_refused(groups, error, match):
    tags = np.ones((4, 2), dtype=bool)
    with pytest.raises(error, match=match):
        find_failure_modes(tags, np.array([True, False, True, False]), groups)


def test_decoded_gives_the_labels_back():
    labels = np.array(["b", "a", "b", "c"], dtype=object)
    coded = CodedGroups.from_labels(labels)
    assert coded.labels == ("a", "b", "c") and coded.decoded().tolist() == labels.tolist()


def test_labels_ending_in_nul_stay_apart_as_their_codes_keep_them():
    """numpy's fixed-width strings drop trailing NULs; "cat" and "cat\\x00" are
    two classes either way the labels are given."""
    tags, correct, _ = _data(6, n=3000)
    labels = np.array(["cat", "cat\x00", "dog"], dtype=object)[np.arange(3000) % 3]
    by_labels = find_failure_modes(tags, correct, labels, alpha=None)
    coded = find_failure_modes(tags, correct, CodedGroups.from_labels(labels), alpha=None)
    assert {m.group for m in by_labels} == {"cat", "cat\x00", "dog"}
    assert _key(coded) == _key(by_labels)
