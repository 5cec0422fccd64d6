"""CLIP metrics and held-out validation of failure modes on real FiftyOne datasets.

The CLIP model is a tiny open_clip architecture with random weights: the
tests check the mechanics (one encoding per image, storage, descriptions),
not what the scores say about the captions.
"""

import json

import numpy as np
import pytest
from scipy.stats import hypergeom

import fiftyone as fo

import fiftyone_prime as fp
from tests.fo_env import run_python
from tests.integration.planted import add_planted, planted_samples, planted_with_images


@pytest.fixture
def planted_images(make_dataset, tmp_path):
    """The planted dataset, each sample with a real (random) image file."""
    return planted_with_images(make_dataset, tmp_path, persistent=True)


def test_metrics_encode_each_image_once_and_are_stored(planted_images, tiny_encoder):
    fp.find_failure_modes(planted_images)
    results = fp.compute_failure_mode_metrics(
        planted_images, "prime", model=tiny_encoder, num_workers=0
    )
    assert tiny_encoder.encoded == 350  # every cat and dog image, once
    cat, dog = results.failure_modes
    assert cat.metrics["caption"] == "a photo of a cat with night and snow"
    assert dog.metrics["caption"] == "a photo of a dog with blur"
    for m in results.failure_modes:
        assert m.metrics["num_images"] == m.size
        assert 0.0 <= m.metrics["auroc"] <= 1.0
        assert -1.0 <= m.metrics["similarity_mean"] <= 1.0 and m.metrics["similarity_std"] >= 0
        assert 0.3 < m.metrics["random_auroc"] < 0.7
    assert results.metrics_info["num_images_encoded"] == 350
    by_auroc = [m.metrics["auroc"] for m in results.sorted("auroc")]
    assert by_auroc == sorted(by_auroc, reverse=True)
    ascending = [m.metrics["auroc"] for m in results.sorted("auroc", reverse=False)]
    assert ascending == by_auroc[::-1]
    info = planted_images.get_saved_view_info(cat.view_name)
    assert "CLIP metrics: similarity_mean" in info["description"]
    assert "auroc" in results.summary().lower()


@pytest.mark.slow  # a subprocess
def test_metrics_reload_in_a_fresh_process(planted_images, tiny_encoder):
    fp.find_failure_modes(planted_images)
    results = fp.compute_failure_mode_metrics(
        planted_images, "prime", model=tiny_encoder, num_workers=0
    )
    code = f"""
import json, fiftyone as fo, fiftyone_prime as fp
r = fp.load_failure_modes(fo.load_dataset({planted_images.name!r}), "prime")
print(json.dumps([m.metrics for m in r.failure_modes]))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    reloaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert reloaded[0]["auroc"] == pytest.approx(results.failure_modes[0].metrics["auroc"])


def test_stored_embeddings_are_reused(planted_images, tiny_encoder):
    fp.compute_tags(
        planted_images,
        model=fp_tagger(tiny_encoder),
        tags_field="clip_tags",
        embeddings_field="clip_embedding",
        num_workers=0,
    )
    encoded_by_tagger = tiny_encoder.encoded
    fp.find_failure_modes(planted_images)
    fp.compute_failure_mode_metrics(
        planted_images,
        "prime",
        model=tiny_encoder,
        embeddings_field="clip_embedding",
        num_workers=0,
    )
    assert tiny_encoder.encoded == encoded_by_tagger  # nothing encoded again


def fp_tagger(encoder):
    from fiftyone_prime.models.zero_shot import ZeroShotTagger

    return ZeroShotTagger(encoder, ["snow", "grass"], top_k=1)


def test_metrics_need_a_failure_mode_run(planted_images, tiny_encoder):
    with pytest.raises(ValueError, match="no run with key 'nope'"):
        fp.compute_failure_mode_metrics(planted_images, "nope", model=tiny_encoder)
    fp.find_failure_modes(planted_images)
    with pytest.raises(ValueError, match="caption_template"):
        fp.compute_failure_mode_metrics(
            planted_images, "prime", model=tiny_encoder, caption_template="a photo"
        )


def _holdout(make_dataset, snow_only, night_only):
    """Held-out data: the cat mode is there again (even worse), the dog mode is not."""
    blocks = [
        (35, "cat", ["snow", "night"], False),
        (5, "cat", ["snow", "night"], True),
        (snow_only, "cat", ["snow"], True),
        (night_only, "cat", ["night"], True),
        (60, "cat", ["grass"], True),
        (40, "dog", ["blur"], True),
        (60, "dog", ["grass"], True),
        (10, "dog", ["grass"], False),
    ]
    holdout = make_dataset()
    holdout.add_samples(planted_samples(blocks, prefix="h"))
    return holdout


def test_validation_on_a_holdout_split(make_dataset, tmp_path):
    found = add_planted(make_dataset())
    results = fp.find_failure_modes(found)
    holdout = _holdout(make_dataset, snow_only=80, night_only=80)
    plot = tmp_path / "plots" / "generalization.png"
    validation = fp.validate_failure_modes(results, holdout, plot_path=str(plot))
    cat, dog = validation["modes"]
    assert (cat["size"], cat["holds"], dog["size"], dog["holds"]) == (40, True, 40, False)
    assert cat["accuracy"] == pytest.approx(5 / 40)
    assert cat["group_accuracy"] == pytest.approx(225 / 260)
    assert dog["drop"] == pytest.approx(100 / 110 - 1.0)
    # The held-out test: Fisher's p-value there, BH over the two modes tested.
    assert cat["p_value"] == pytest.approx(hypergeom.sf(35 - 1, 260, 35, 40))
    assert dog["p_value"] == pytest.approx(1.0)
    assert cat["adjusted_p_value"] == pytest.approx(cat["p_value"] * 2)
    assert (cat["confirmed"], dog["confirmed"]) == (True, False)
    assert validation["alpha"] == 0.05 and validation["procedure"] == "benjamini-hochberg"
    assert validation["num_holding"] == 1 and validation["num_confirmed"] == 1
    assert validation["holdout_samples"] == 370
    assert plot.exists() and plot.stat().st_size > 1000
    reloaded = fp.load_failure_modes(found, "prime")
    assert reloaded.validation["modes"][0]["confirmed"] is True


def test_validating_on_searched_samples_is_flagged(make_dataset, caplog):
    found = add_planted(make_dataset())
    results = fp.find_failure_modes(found)
    validation = fp.validate_failure_modes(results, found.take(100, seed=0))
    assert validation["overlap"] == 100
    assert "not independent" in caplog.text
    other = fp.validate_failure_modes(results, add_planted(make_dataset()))
    assert other["overlap"] == 0


def test_validation_checks_minimality_on_the_holdout(make_dataset):
    """With fewer snow-only images, {snow} alone drops accuracy by >= 20 points on
    the held-out data, so {snow, night} is no longer a minimal failure mode there."""
    found = add_planted(make_dataset())
    results = fp.find_failure_modes(found)
    holdout = _holdout(make_dataset, snow_only=50, night_only=80)
    cat = fp.validate_failure_modes(results, holdout)["modes"][0]
    assert cat["drop"] > 0.6 and cat["holds"] is False and cat["confirmed"] is False
    not_minimal = fp.find_failure_modes(found, run_key="not_minimal", minimal=False)
    cat = fp.validate_failure_modes(not_minimal, holdout)["modes"][0]
    assert cat["tags"] == ["night", "snow"] and cat["holds"] is True


@pytest.mark.slow  # CLIP scores and validation of many modes, end to end
def test_validation_correlation_across_modes(make_dataset):
    rng = np.random.default_rng(0)
    n = 1500
    tags = rng.random((n, 6)) < 0.5
    groups = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]

    def dataset_from(correct):
        ds = make_dataset()
        ds.add_samples(
            [
                fo.Sample(
                    filepath=f"/x/{i}.jpg",
                    ground_truth=fo.Classification(label=g),
                    predictions=fo.Classification(label=g if c else "other"),
                    tag_list=[str(j) for j in np.flatnonzero(t)],
                )
                for i, (t, g, c) in enumerate(zip(tags, groups, correct))
            ]
        )
        return ds

    correct = rng.random(n) < 0.9
    for j in range(6):  # tag j costs accuracy in proportion to j
        correct &= ~(tags[:, j] & (rng.random(n) < 0.1 * j))
    first = dataset_from(correct)
    second = dataset_from(correct)  # the same data: drops must agree exactly
    results = fp.find_failure_modes(first, tags_field="tag_list", min_drop=0.1, min_size=30)
    assert len(results) >= 3
    validation = fp.validate_failure_modes(first, second, run_key="prime")
    assert validation["pearson"] == pytest.approx(1.0)
    assert validation["num_holding"] == len(results)


def test_metrics_never_touch_a_users_view_of_the_same_name(planted_images, tiny_encoder):
    results = fp.find_failure_modes(planted_images)
    name = results.failure_modes[0].view_name
    planted_images.delete_saved_view(name)
    planted_images.save_view(name, planted_images.limit(5), description="mine")
    fp.compute_failure_mode_metrics(planted_images, "prime", model=tiny_encoder, num_workers=0)
    assert planted_images.get_saved_view_info(name)["description"] == "mine"
    other = results.failure_modes[1].view_name
    assert "CLIP metrics" in planted_images.get_saved_view_info(other)["description"]
