"""More like this: a pool's samples carrying a failure mode's tags come first."""

import pytest

import fiftyone as fo

import fiftyone_prime as fp


def _pool(dataset):
    """15 samples with both tags (planted), 30 with snow, 30 with night, 20 with neither;
    unlabeled, some with a prediction."""
    blocks = [(15, ["night", "snow"]), (30, ["snow"]), (30, ["night"]), (20, ["grass"])]
    samples, planted = [], []
    for count, tags in blocks:
        for j in range(count):
            s = fo.Sample(
                filepath=f"/nonexistent/pool{len(samples):04d}.jpg",
                prime_tags=fo.Classifications(
                    classifications=[fo.Classification(label=t) for t in tags]
                ),
                predictions=fo.Classification(label="cat" if j % 2 else "dog"),
            )
            samples.append(s)
    # the planted samples are shuffled among the others
    order = list(range(len(samples)))
    order = order[40:] + order[:40]
    dataset.add_samples([samples[i] for i in order])
    planted = [s.id for s in samples[:15]]
    return dataset, planted


def test_a_pools_samples_with_the_modes_tags_come_first_and_are_saved(planted, make_dataset):
    run = fp.find_failure_modes(planted, run_key="found", alpha=None)
    mode = next(m for m in run.failure_modes if m.tags == ("night", "snow"))
    pool, relevant = _pool(make_dataset())

    found = fp.find_more_like(run, pool, mode, k=15, save_view="like snow night", tag="to_label")
    assert found.precision(relevant) == 1.0 and len(found.ids) == 15
    assert found.num_tags == [2] * 15
    # predicted as the mode's class first, among samples with every tag
    assert found.predicted_class == [True] * 7 + [False] * 8
    saved = pool.load_saved_view("like snow night")
    assert saved.values("id") == found.ids
    assert set(pool.match_tags("to_label").values("id")) == set(relevant)

    # k beyond the planted: only samples with every tag are kept, unless fewer are asked
    assert len(fp.find_more_like(run, pool, mode, k=40).ids) == 15
    some = fp.find_more_like(run, pool, mode, k=40, min_tags=1)
    assert some.ids[:15] and set(some.ids[:15]) == set(relevant) and some.num_tags[15:] == [1] * 25

    # never overwrites a saved view unless asked
    with pytest.raises(ValueError, match="already has a saved view 'like snow night'"):
        fp.find_more_like(run, pool, mode, k=3, save_view="like snow night")
    fp.find_more_like(run, pool, mode, k=3, save_view="like snow night", overwrite=True)
    assert len(pool.load_saved_view("like snow night")) == 3
    with pytest.raises(ValueError, match="`min_tags` must be from 1 to 2"):
        fp.find_more_like(run, pool, mode, min_tags=3)


def test_a_brain_similarity_index_ranks_the_pool_by_the_modes_images(planted):
    """Embeddings planted so that the snow-and-night cats lie together: the
    other half's 20 such cats are the 20 most similar to the mode's images."""
    import numpy as np

    import fiftyone.brain as fob
    from fiftyone import ViewField as F

    planted.set_values("split", ["a" if i % 2 == 0 else "b" for i in range(len(planted))])
    rng = np.random.default_rng(0)
    tags = planted.values("tag_list")
    labels = planted.values("ground_truth.label")
    vectors = rng.normal(size=(len(planted), 16))
    for i, (t, c) in enumerate(zip(tags, labels)):
        if c == "cat" and {"snow", "night"} <= set(t):
            vectors[i] = 10.0 * np.eye(16)[0] + rng.normal(scale=0.1, size=16)
    planted.set_values("emb", [v.tolist() for v in vectors])
    fob.compute_similarity(planted, embeddings="emb", brain_key="sim", backend="sklearn")
    run = fp.find_failure_modes(planted.match(F("split") == "a"), run_key="found", min_size=10)
    mode = next(m for m in run.failure_modes if m.tags == ("night", "snow"))
    pool = planted.match(F("split") == "b")
    found = fp.find_more_like(run, pool, mode, k=20, brain_key="sim", save_view="similar")
    relevant = pool.match(
        (F("ground_truth.label") == "cat") & F("tag_list").contains(["snow", "night"], all=True)
    ).values("id")
    assert len(relevant) == 20 and found.precision(relevant) == 1.0
    assert found.num_tags == [2] * 20
    assert set(planted.load_saved_view("similar").values("id")) == set(relevant)
    with pytest.raises(ValueError, match="has no brain run 'nope'"):
        fp.find_more_like(run, pool, mode, brain_key="nope")
