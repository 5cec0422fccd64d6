"""CLIP metric maths: hand-computed values, scikit-learn's AUROC, planted directions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_prime.core.metrics import auroc, caption_scores, similarity_matrix


def test_auroc_by_hand_with_ties():
    # positives 0.9, 0.5; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1)
    assert auroc(np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0], bool)) == pytest.approx(
        3.5 / 4
    )
    assert auroc(np.array([1.0, 2.0]), np.array([True, False])) == 0.0
    assert np.isnan(auroc(np.array([1.0, 2.0]), np.array([True, True])))


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 60), st.integers(0, 2**32 - 1), st.sampled_from([2, 5, 1000]))
def test_auroc_equals_scikit_learn(n, seed, levels):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, n) / levels  # many ties when levels is small
    positive = rng.random(n) < 0.4
    if positive.all() or not positive.any():
        positive[0] = not positive[0]
    assert auroc(scores, positive) == pytest.approx(roc_auc_score(positive, scores), abs=1e-12)


def test_caption_scores_by_hand():
    sims = np.array([0.30, 0.20, 0.10, 0.25])
    in_group = np.array([True, True, False, False])
    s = caption_scores(sims, in_group, num_random=0)
    assert s.similarity_mean == pytest.approx(0.25)
    assert s.similarity_std == pytest.approx(0.05)
    assert s.auroc == pytest.approx(0.75)  # 0.30 beats both, 0.20 beats 0.10 only
    assert s.num_images == 2 and np.isnan(s.random_auroc)


def planted(direction_defines_group, seed=0, n=400, d=64):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, d))
    in_group = np.zeros(n, bool)
    in_group[:80] = True
    caption = rng.normal(size=d)
    caption /= np.linalg.norm(caption)
    if direction_defines_group:
        images[in_group] += 5.0 * caption
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    return similarity_matrix(images, caption[None, :])[:, 0], in_group


def test_a_caption_direction_that_defines_the_group_scores_near_one():
    sims, in_group = planted(True)
    s = caption_scores(sims, in_group, num_random=50)
    assert s.auroc > 0.99
    assert s.similarity_mean > s.random_similarity_mean + 0.2
    assert s.random_auroc == pytest.approx(0.5, abs=0.05)


def test_an_unrelated_caption_scores_near_chance():
    sims, in_group = planted(False)
    s = caption_scores(sims, in_group, num_random=50)
    assert s.auroc == pytest.approx(0.5, abs=0.08)
    assert s.similarity_mean == pytest.approx(s.random_similarity_mean, abs=0.03)


def test_random_draws_are_reproducible_and_checked():
    sims, in_group = planted(True)
    a = caption_scores(sims, in_group, rng=np.random.default_rng(1))
    b = caption_scores(sims, in_group, rng=np.random.default_rng(1))
    assert a == b
    with pytest.raises(ValueError, match="selects no image"):
        caption_scores(sims, np.zeros_like(in_group))
    with pytest.raises(ValueError, match="one length"):
        caption_scores(sims, in_group[:-1])
    with pytest.raises(ValueError, match="one dimension"):
        similarity_matrix(np.ones((3, 4)), np.ones((2, 5)))
