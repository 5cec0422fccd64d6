"""Object-level regressions against real FiftyOne: two detectors evaluated
on the same ground truth, compared object by object (``units="gt"``)."""

import json

import numpy as np
import pytest

import fiftyone as fo

from fiftyone_prime import cli
from fiftyone_prime.integration.comparisons.checks import check_failure_modes
from fiftyone_prime.integration.comparisons.regressions import (
    OBJECT_REGRESSIONS,
    ObjectRegressionResults,
    find_regressions,
    load_regressions,
)

ATTRS = ("small", "dark", "rain", "blurry", "occluded")
PER_IMAGE = 4


def _box(k):
    return [0.02 + 0.24 * k, 0.3, 0.2, 0.3]


def two_detectors(dataset, seed=0, n_images=250):
    """Cars and people with attribute tags; both detectors find each object
    with probability 0.9, independently, except that the new one misses every
    car that is {small, dark} which the old one finds. One crowd car that is
    small and dark, which neither finds, must be left out.

    Returns:
        the ids of the planted objects (small, dark cars found only by the old one)
    """
    rng = np.random.default_rng(seed)
    samples, planted = [], []
    for i in range(n_images):
        gts, old, new = [], [], []
        for k in range(PER_IMAGE):
            label = "car" if rng.random() < 0.65 else "person"
            attrs = [a for a in ATTRS if rng.random() < 0.35]
            gt = fo.Detection(label=label, bounding_box=_box(k), attrs=attrs)
            gts.append(gt)
            found_old = rng.random() < 0.9
            found_new = rng.random() < 0.9
            if label == "car" and {"small", "dark"} <= set(attrs):
                found_old, found_new = True, False
                planted.append(gt.id)
            for found, preds in ((found_old, old), (found_new, new)):
                if found:
                    preds.append(fo.Detection(label=label, bounding_box=_box(k), confidence=0.9))
        if i == 0:  # an unmatched crowd region: never a unit
            crowd = fo.Detection(
                label="car", bounding_box=[0.1, 0.7, 0.3, 0.2], attrs=["small", "dark"], iscrowd=1
            )
            gts.append(crowd)
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/reg{i:05d}.jpg",
                ground_truth=fo.Detections(detections=gts),
                det_old=fo.Detections(detections=old),
                det_new=fo.Detections(detections=new),
                scene=["city"] if rng.random() < 0.5 else ["highway"],
            )
        )
    dataset.add_samples(samples)
    dataset.evaluate_detections("det_old", gt_field="ground_truth", eval_key="old")
    dataset.evaluate_detections("det_new", gt_field="ground_truth", eval_key="new")
    return planted


@pytest.fixture
def detectors(make_dataset):
    dataset = make_dataset(persistent=True)  # the CLI loads it by name
    return dataset, two_detectors(dataset)


def test_the_missed_small_dark_cars_are_exactly_the_one_mode(detectors):
    dataset, planted = detectors
    results = find_regressions(
        dataset,
        baseline_eval_key="old",
        eval_key="new",
        units="gt",
        tags_field=["ground_truth.detections.attrs", "scene"],
    )
    assert isinstance(results, ObjectRegressionResults) and results.kind is OBJECT_REGRESSIONS
    assert [(m.group, set(m.tag_labels)) for m in results.regressions] == [
        ("car", {"small", "dark"})
    ]
    (mode,) = results.regressions
    assert mode.size == len(planted)  # the crowd car is left out
    assert mode.num_losses == len(planted) and mode.num_wins == 0
    assert mode.baseline_accuracy == 1.0 and mode.accuracy == 0.0
    assert results.config.baseline_field == "det_old" and results.config.pred_field == "det_new"
    assert results.config.label_field == "ground_truth"
    # The view holds exactly the mode's objects, with both predictions.
    view = results.load_view(0)
    ids = [i for per in view.values("ground_truth.detections.id") for i in per]
    assert sorted(ids) == sorted(planted)
    assert view.count("det_old.detections") > 0 and view.count("det_new.detections") > 0
    text = results.summary()
    assert "ground-truth objects of 'ground_truth'" in text and f"over {results.num_used}" in text
    assert "100.0% -> 0.0%" in text
    # Stored as an object-level regression run, loaded as one.
    again = load_regressions(dataset, "prime_regression")
    assert type(again) is ObjectRegressionResults
    assert [m.tag_labels for m in again.regressions] == [mode.tag_labels]
    assert len(again.load_view(0).values("ground_truth.detections.id")) == len(view)


def test_evaluations_that_do_not_compare_are_refused_and_nothing_is_written(detectors):
    dataset, _ = detectors
    dataset.evaluate_detections("det_new", gt_field="ground_truth", eval_key="new_iou7", iou=0.7)
    dataset.clone_sample_field("ground_truth", "gt_copy")
    dataset.evaluate_detections("det_new", gt_field="gt_copy", eval_key="new_copy")
    runs_before = sorted(dataset.list_runs())
    with pytest.raises(ValueError, match=r"match objects differently \(iou 0.5 != 0.7\)"):
        find_regressions(dataset, baseline_eval_key="old", eval_key="new_iou7", units="gt")
    with pytest.raises(ValueError, match="different ground-truth fields"):
        find_regressions(dataset, baseline_eval_key="old", eval_key="new_copy")
    with pytest.raises(ValueError, match="units='gt'"):
        find_regressions(dataset, baseline_eval_key="old", eval_key="new", units="pred")
    with pytest.raises(ValueError, match="needs two detection evaluations"):
        find_regressions(dataset, units="gt")
    assert sorted(dataset.list_runs()) == runs_before
    assert dataset.list_saved_views() == []


def test_compare_and_check_through_the_cli(detectors, capsys, tmp_path):
    dataset, planted = detectors
    args = ["compare", dataset.name, "--baseline-eval-key", "old", "--eval-key", "new"]
    args += ["--units", "gt", "--tags-field", "ground_truth.detections.attrs", "scene"]
    assert cli.main([*args, "--report-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ground-truth objects of 'ground_truth'" in out and "100.0% -> 0.0%" in out
    page = (tmp_path / "index.html").read_text()
    assert "ground-truth objects of &#x27;ground_truth&#x27;" in page
    assert f"on {len(planted)} objects" in page
    # The mode measured again on each evaluation: it fails on the new one, passes on the old.
    checks = check_failure_modes(dataset, "prime_regression", eval_key="new")
    (check,) = checks.checks
    assert check.size == len(planted) and check.accuracy == 0.0 and not checks.passed
    assert check_failure_modes(dataset, "prime_regression", eval_key="old").passed
    code = cli.main(
        ["check", dataset.name, "--run-key", "prime_regression", "--eval-key", "old", "--json"]
    )
    got = json.loads(capsys.readouterr().out)
    assert code == 0 and got["checks"][0]["size"] == len(planted)
