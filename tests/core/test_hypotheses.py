"""Testing given hypotheses: planted truth, p-values against scipy, online control."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import hypergeom

from fiftyone_prime.core.hypotheses import Hypothesis, test_hypotheses
from fiftyone_prime.core.online_fdr import LordPlusPlus

TAGS = ["night", "truck", "rain", "snow", "fog"]


def planted(seed=0, n=2000):
    """Two classes; class 'car' fails on {night, truck} (30% right), else 90%."""
    rng = np.random.default_rng(seed)
    tags = rng.random((n, len(TAGS))) < 0.3
    groups = np.where(rng.random(n) < 0.5, "car", "dog")
    correct = rng.random(n) < 0.9
    bad = (groups == "car") & tags[:, 0] & tags[:, 1]
    correct[bad] = rng.random(bad.sum()) < 0.3
    return tags, correct, groups


def test_the_true_hypothesis_is_rejected_and_the_nulls_are_not():
    tags, correct, groups = planted()
    state = LordPlusPlus(alpha=0.05)
    got = test_hypotheses(
        sp.csr_matrix(tags),
        correct,
        groups,
        TAGS,
        [Hypothesis(("rain", "snow"), "car"), Hypothesis(("night", "truck"))],
        state,
    )
    assert [(r.group, r.tags, r.rejected) for r in got] == [
        ("car", ("rain", "snow"), False),
        ("car", ("night", "truck"), True),
        ("dog", ("night", "truck"), False),
    ]
    assert state.rejections == [2] and state.num_tested == 3
    hit = got[1]
    assert hit.position == 2 and hit.tested and hit.p_value <= hit.level
    assert hit.drop == pytest.approx(hit.group_accuracy - hit.accuracy)
    assert hit.drop > 0.4


def test_p_values_and_counts_are_scipys():
    tags, correct, groups = planted(1)
    got = test_hypotheses(
        tags,
        correct,
        groups,
        TAGS,
        [Hypothesis(("night",)), Hypothesis(("fog", "rain"), "dog")],
        LordPlusPlus(),
    )
    assert len(got) == 3
    for r in got:
        in_class = groups == r.group
        cols = [TAGS.index(t) for t in r.tags]
        mask = in_class & tags[:, cols].all(axis=1)
        n_t, e_t = int(mask.sum()), int((~correct[mask]).sum())
        n_g, e_g = int(in_class.sum()), int((~correct[in_class]).sum())
        assert (r.size, r.size - r.num_correct, r.group_size, r.group_size - r.group_correct) == (
            n_t,
            e_t,
            n_g,
            e_g,
        )
        assert r.p_value == pytest.approx(hypergeom.sf(e_t - 1, n_g, e_g, n_t), rel=1e-12)
        assert r.accuracy == pytest.approx(1 - e_t / n_t)


def test_pairs_that_cannot_be_rejected_use_no_step():
    """An empty set, and a set too small to reach the level even with all
    of its class's errors, are reported but not tested."""
    tags = np.zeros((200, 2), dtype=bool)
    tags[:2, 1] = True  # 'b': 2 samples of class 0
    groups = np.repeat([0, 1], 100)
    correct = np.ones(200, dtype=bool)
    correct[:10] = False
    state = LordPlusPlus()
    got = test_hypotheses(
        tags, correct, groups, ["a", "b"], [Hypothesis(("a",), 0), Hypothesis(("b",), 0)], state
    )
    assert [(r.size, r.tested, r.position, r.level) for r in got] == [
        (0, False, None, None),
        (2, False, None, None),
    ]
    # both wrong: P = C(10,2)/C(100,2) ~ 9e-3 > the first level, W0 gamma_1 ~ 1.4e-3
    assert got[1].p_value == pytest.approx(hypergeom.sf(1, 100, 10, 2))
    assert state.next_level() < hypergeom.pmf(2, 100, 10, 2)
    assert state.num_tested == 0


def test_unknown_tags_and_classes_are_named_and_nothing_is_tested():
    tags, correct, groups = planted()
    state = LordPlusPlus()
    with pytest.raises(ValueError, match="unknown tags 'dusk', 'tram'"):
        test_hypotheses(
            tags,
            correct,
            groups,
            TAGS,
            [Hypothesis(("night",)), Hypothesis(("tram", "dusk"))],
            state,
        )
    with pytest.raises(ValueError, match="unknown classes 'cat'"):
        test_hypotheses(tags, correct, groups, TAGS, [Hypothesis(("night",), "cat")], state)
    assert state.num_tested == 0
