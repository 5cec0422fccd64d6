"""CLIP metrics and held-out validation of object-level failure modes.

The CLIP model is a tiny open_clip architecture with random weights (no
pretrained weights can be had here): the tests check the mechanics (each
object's crop encoded once, every mode scored over its objects), not scores.
"""

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.integration.failure_modes.evaluations import find_evaluation_failure_modes
from tests.integration.planted import PLANTED_MODES, template
from tests.integration.planted_objects import planted_object_samples

ATTRS = "ground_truth.detections.attrs"


@pytest.fixture
def objects_with_images(make_dataset, tmp_path):
    """Evaluated planted objects on random images (built once per process, copied)."""

    def fill(dataset):
        rng = np.random.default_rng(0)
        samples = planted_object_samples("gt")
        for i, sample in enumerate(samples):
            path = tmp_path / f"img{i:04d}.png"
            Image.fromarray(rng.integers(0, 256, (48, 96, 3), dtype=np.uint8)).save(path)
            sample.filepath = str(path)
        dataset.add_samples(samples)
        dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key="eval")

    return make_dataset(persistent=True, like=template("objects with images", fill))


def test_clip_metrics_score_each_object_crop(objects_with_images, tiny_encoder):
    find_evaluation_failure_modes(objects_with_images, eval_key="eval", tags_field=ATTRS)
    results = fp.compute_failure_mode_metrics(
        objects_with_images, "prime", model=tiny_encoder, num_workers=0
    )
    assert tiny_encoder.encoded == 350  # every cat and dog object's crop, once
    assert results.metrics_info["num_images_encoded"] == 350
    for mode in results.failure_modes:
        assert mode.metrics["num_images"] == mode.size
        assert 0.0 <= mode.metrics["auroc"] <= 1.0
    assert results.failure_modes[0].metrics["caption"] == "a photo of a cat with night and snow"


def test_held_out_validation_of_object_modes(make_dataset):
    from tests.integration.planted_objects import evaluated

    found_on = evaluated(make_dataset, "gt")
    held_out = evaluated(make_dataset, "gt")
    results = find_evaluation_failure_modes(found_on, eval_key="eval", tags_field=ATTRS)
    assert [(m.group, m.tags, m.size, m.num_correct) for m in results.failure_modes] == (
        PLANTED_MODES
    )
    validation = fp.validate_failure_modes(results, held_out)
    assert validation["num_confirmed"] == 2 and validation["holdout_samples"] == 350
    assert [r["drop"] for r in validation["modes"]] == pytest.approx([0.55, 0.5])


def test_applying_object_modes_to_another_dataset(make_dataset):
    from tests.integration.planted_objects import evaluated

    found_on = evaluated(make_dataset, "gt")
    target = evaluated(make_dataset, "gt")
    results = find_evaluation_failure_modes(found_on, eval_key="eval", tags_field=ATTRS)
    applied = fp.apply_failure_modes(results, target)
    assert applied.key == "prime" and applied.units == "gt"
    assert applied.evaluation_state == "current"
    assert [(m.group, m.tags, m.size, m.num_correct) for m in applied.failure_modes] == (
        PLANTED_MODES
    )
    for mode in applied.failure_modes:
        assert applied.load_view(mode).count("ground_truth.detections") == mode.size
    assert applied.config.source_run_key == "prime"

    bare = make_dataset()
    bare.add_samples(planted_object_samples("gt"))
    with pytest.raises(ValueError, match="evaluate it there"):
        fp.apply_failure_modes(results, bare)
    assert bare.list_runs() == [] and bare.list_saved_views() == []


def test_report_shows_the_crops_of_each_mode(objects_with_images, tmp_path):
    results = find_evaluation_failure_modes(objects_with_images, eval_key="eval", tags_field=ATTRS)
    path = fp.export_report(objects_with_images, "prime", str(tmp_path / "report"), max_images=5)
    page = open(path, encoding="utf-8").read()
    for mode in results.failure_modes:
        view = results.load_view(mode)
        ids = [d.id for dets in view.values("ground_truth.detections") for d in dets]
        shown = [i for i in ids if f"images/{i}.jpg" in page]
        assert len(shown) == 5
    assert page.count("pred: missed") == 10  # the misses come first in both modes


def test_crops_tagged_by_a_clip_model(make_dataset, tmp_path, tiny_encoder):
    from fiftyone_prime.integration.tagging.object_tags import compute_object_tags

    rng = np.random.default_rng(1)
    path = tmp_path / "img.png"
    Image.fromarray(rng.integers(0, 256, (48, 96, 3), dtype=np.uint8)).save(path)
    dataset = make_dataset()
    dataset.add_sample(
        fo.Sample(
            filepath=str(path),
            ground_truth=fo.Detections(
                detections=[
                    fo.Detection(label="a", bounding_box=[0.0, 0.0, 0.5, 1.0]),
                    fo.Detection(label="b", bounding_box=[0.5, 0.0, 0.5, 1.0]),
                ]
            ),
        )
    )
    summary = compute_object_tags(
        dataset,
        "ground_truth",
        tags_attr="clip_tags",
        model=tiny_encoder,
        vocabulary=["snow", "grass", "night"],
        top_k=2,
        scoring="softmax",  # the top 2 of 3 for every crop
        num_workers=0,
    )
    assert summary.num_objects_tagged == 2
    assert tiny_encoder.encoded >= 2  # the crops went through the model
    for det in dataset.first().ground_truth.detections:
        assert len(det["clip_tags"]) == 2
        assert set(det["clip_tags"]) <= {"snow", "grass", "night"}
