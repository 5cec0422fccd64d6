"""Hostile-probe regressions (issue 34): each test fails on the code before
its fix. The worst five rerun as one script in ``test_hostile_probe.py``."""

import json

import pytest

import fiftyone as fo

import fiftyone_prime as fp


def _detections_dataset(make_dataset, n=3):
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=f"/nonexistent/h{i}.jpg",
                ground_truth=fo.Detections(
                    detections=[
                        fo.Detection(label="cat", bounding_box=[0.1, 0.1, 0.2, 0.2], tags=["mine"])
                    ]
                ),
            )
            for i in range(n)
        ]
    )
    return dataset


# ------------------------------------------------ 1. compute_object_tags data loss


@pytest.mark.parametrize("attr", ["_id", "_cls", "tags", "id", "label", "bounding_box", "_x"])
def test_object_tags_refuse_the_objects_own_attributes(make_dataset, attr):
    dataset = _detections_dataset(make_dataset)
    with pytest.raises(ValueError, match=rf"`tags_attr` '{attr}'.*Pick another name"):
        fp.compute_object_tags(dataset, "ground_truth", tags_attr=attr, overwrite=True)
    first = dataset.first()  # still readable, nothing written
    det = first.ground_truth.detections[0]
    assert det.label == "cat" and det.tags == ["mine"] and det.bounding_box == [0.1, 0.1, 0.2, 0.2]


# ------------------------------------------------ 4. a CI gate you can trust


@pytest.mark.parametrize(
    "args",
    [
        ("check", "prime-no-such-dataset", "--run-key", "v2", "--pred-field", "p", "--json"),
        ("compare", "prime-no-such-dataset"),
        ("search", "prime-no-such-dataset"),
    ],
)
def test_cli_unknown_dataset_exits_2_with_a_json_error(capsys, args):
    from fiftyone_prime import cli

    code = cli.main(list(args))
    out = capsys.readouterr()
    assert code == 2 and "no dataset named 'prime-no-such-dataset'" in out.err
    if "--json" in args:
        assert "no dataset named" in json.loads(out.out)["error"]


@pytest.fixture
def checked_run(make_dataset):
    from tests.integration.regression_data import regression_dataset

    dataset = regression_dataset(make_dataset, persistent=True)
    fp.find_failure_modes(dataset, pred_field="predictions_v2", run_key="v2", alpha=None)
    return dataset


def test_a_check_that_measured_nothing_does_not_pass(checked_run, capsys):
    from fiftyone_prime import cli

    # Re-tagged: no sample carries any of the run's tags any more.
    n = len(checked_run)
    checked_run.set_values(
        "prime_tags", [fo.Classifications(classifications=[fo.Classification(label="new")])] * n
    )
    args = ["check", checked_run.name, "--run-key", "v2", "--pred-field", "predictions_v1"]
    code = cli.main([*args, "--json"])
    got = json.loads(capsys.readouterr().out)
    assert got["num_not_measured"] == got["num_checks"] > 0
    assert code == 1 and got["passed"] is False
    code = cli.main(args)
    assert code == 1 and "no mode was measured" in capsys.readouterr().out
    assert cli.main([*args, "--allow-not-measured"]) == 0


def test_check_of_an_object_run_reads_objects_from_a_detection_evaluation(make_dataset, capsys):
    from fiftyone_prime import cli
    from tests.integration.planted_objects import evaluated

    dataset = evaluated(make_dataset, "gt", persistent=True)
    run = fp.find_failure_modes(
        dataset, eval_key="eval", tags_field="ground_truth.detections.attrs", run_key="det"
    )
    # A prediction field would be read as sample-level labels: refused, saying what to pass.
    with pytest.raises(ValueError, match=r"over objects.*with `eval_key`"):
        fp.check_failure_modes(dataset, "det", pred_field="predictions")
    code = cli.main(["check", dataset.name, "--run-key", "det", "--pred-field", "predictions"])
    assert code == 2 and "over objects" in capsys.readouterr().err
    # On the run's own evaluation every mode is measured on exactly its objects, and fails.
    code = cli.main(["check", dataset.name, "--run-key", "det", "--eval-key", "eval", "--json"])
    got = json.loads(capsys.readouterr().out)
    assert code == 1 and got["num_failed"] == len(run) > 0
    assert [c["size"] for c in got["checks"]] == [m.size for m in run.failure_modes]


# ------------------------------------------------ 2. views that hold nothing


def _set_object_attr(dataset, attr, value_of):
    """Writes an undeclared object attribute, sample by sample (one
    ``set_values`` per sample, so FiftyOne validates no type across them)."""
    for sample_id, dets in zip(*dataset.values(["id", "ground_truth.detections.attrs"])):
        values = [value_of(tags) for tags in dets]
        dataset.select(sample_id).set_values(f"ground_truth.detections.{attr}", [values])
    assert dataset.get_field(f"ground_truth.detections.{attr}") is None  # undeclared


@pytest.mark.parametrize(
    "attr, value_of, min_drop, expected",
    [
        # a string on objects with one tag, a list elsewhere
        ("mix", lambda tags: tags[0] if len(tags) == 1 else list(tags), 0.2, "planted"),
        # an undeclared Classification (read back as a dict)
        (
            "main",
            lambda tags: fo.Classification(label=tags[0]) if tags else None,
            0.1,
            [("cat", ("snow",), 95, 60), ("dog", ("blur",), 40, 12)],
        ),
    ],
)
def test_object_views_hold_exactly_their_modes_objects(
    make_dataset, caplog, attr, value_of, min_drop, expected
):
    from tests.helpers import summary
    from tests.integration.planted import PLANTED_MODES
    from tests.integration.planted_objects import evaluated

    dataset = evaluated(make_dataset, "gt")
    _set_object_attr(dataset, attr, value_of)
    results = fp.find_failure_modes(
        dataset,
        eval_key="eval",
        tags_field=f"ground_truth.detections.{attr}",
        min_drop=min_drop,
    )
    assert summary(results) == (PLANTED_MODES if expected == "planted" else expected)
    for mode in results.failure_modes:
        view = results.load_view(mode)
        assert view.count("ground_truth.detections") == mode.size > 0
        assert set(view.distinct("ground_truth.detections.label")) == {mode.group}
    assert "does not show the mode's units" not in caplog.text


def test_a_view_that_does_not_hold_its_mode_is_reported(make_dataset, caplog):
    from fiftyone_prime.integration.failure_modes.evaluations import check_view_counts
    from fiftyone_prime.integration.reading.units import UnitSpec
    from tests.integration.planted_objects import evaluated

    dataset = evaluated(make_dataset, "gt")
    spec = UnitSpec(units="gt", group_field="ground_truth", list_path="ground_truth.detections")
    first = dataset.limit(1)  # 5 objects
    wrong = check_view_counts(spec, [("v", first, 7), ("ok", first, 5)])
    assert wrong == [("v", 5, 7)]
    assert "The saved view 'v' holds 5 objects but its failure mode has 7" in caplog.text


# ------------------------------------------------ 5. crop tagging


def _crop_dataset(make_dataset, tmp_path):
    """Three images: a good one, a missing one and an unreadable one; the
    good one also has an object with no box and one outside the image."""
    import numpy as np
    from PIL import Image

    good = tmp_path / "good.png"
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:, 32:] = 255
    Image.fromarray(pixels).save(good)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    box = [0.6, 0.1, 0.35, 0.8]
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=str(good),
                ground_truth=fo.Detections(
                    detections=[
                        fo.Detection(label="right", bounding_box=box),
                        fo.Detection(label="none"),
                        fo.Detection(label="out", bounding_box=[1.2, 0.1, 0.3, 0.3]),
                    ]
                ),
            ),
            fo.Sample(
                filepath=str(tmp_path / "missing.png"),
                ground_truth=fo.Detections(detections=[fo.Detection(label="a", bounding_box=box)]),
            ),
            fo.Sample(
                filepath=str(broken),
                ground_truth=fo.Detections(detections=[fo.Detection(label="a", bounding_box=box)]),
            ),
        ]
    )
    return dataset


def _leftovers(dataset, crop_root):
    """The crop datasets and folders of ``dataset``'s "looks" tagging left."""
    import hashlib
    import os

    key = hashlib.sha1(f"{dataset._doc.id}:ground_truth:looks".encode()).hexdigest()[:12]
    prefix = f"prime-object-crops-{key}"
    datasets = [n for n in fo.list_datasets() if n.startswith(prefix)]
    folders = [n for n in os.listdir(crop_root) if n.startswith(prefix)]
    return datasets + folders


def test_crop_tagging_skips_bad_images_and_flags_bad_boxes(make_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path / "fo"))
    dataset = _crop_dataset(make_dataset, tmp_path)
    summary = fp.compute_object_tags(dataset, "ground_truth", tags_attr="looks", model="properties")
    assert summary.num_failed == 2 and summary.num_samples_tagged == 1
    assert {f[1].rsplit("/", 1)[-1] for f in summary.failures} == {"missing.png", "broken.png"}
    assert summary.num_invalid_boxes == 2 and summary.num_objects_tagged == 3
    right, none, out = dataset.first().ground_truth.detections
    assert "bright" in right["looks"]
    assert none["looks"] == ["invalid box"] and out["looks"] == ["invalid box"]
    assert _leftovers(dataset, tmp_path / "fo") == []
    # the bad samples' objects are untagged, so a later run retries them
    assert dataset.values("ground_truth.detections.looks")[1:] == [[None], [None]]


def test_crop_tagging_leaves_nothing_behind_when_interrupted(make_dataset, tmp_path, monkeypatch):
    import fiftyone_prime.integration.tagging.images as tagging

    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path / "fo"))
    dataset = _crop_dataset(make_dataset, tmp_path)
    sample = dataset.first()  # only a good image and a good box
    sample.ground_truth.detections = sample.ground_truth.detections[:1]
    sample.save()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tagging, "compute_tags", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fp.compute_object_tags(
            dataset.limit(1), "ground_truth", tags_attr="looks", model="properties"
        )
    assert _leftovers(dataset, tmp_path / "fo") == []


def test_geometry_tags_flag_invalid_boxes(make_dataset):
    dataset = make_dataset()
    boxes = [None, [0.2, 0.2, -0.1, 0.3], [1.5, 0.2, 0.1, 0.1], [0.4, 0.4, 0.2, 0.2]]
    dataset.add_sample(
        fo.Sample(
            filepath="/nonexistent/bad_boxes.jpg",
            ground_truth=fo.Detections(
                detections=[fo.Detection(label="a", bounding_box=b) for b in boxes]
            ),
        )
    )
    summary = fp.compute_object_tags(dataset, "ground_truth")
    tags = [d["prime_tags"] for d in dataset.first().ground_truth.detections]
    assert tags[:3] == [["invalid box"]] * 3
    assert "invalid box" not in tags[3] and "center" in tags[3]
    assert summary.num_invalid_boxes == 3


# ------------------------------------------------ 6. same question, same answer


def test_object_runs_keep_classes_that_differ_by_a_trailing_nul(make_dataset):
    from tests.integration.planted_objects import evaluated

    dataset = evaluated(make_dataset, "gt")
    labels = dataset.values("ground_truth.detections.label")
    dataset.set_values(
        "ground_truth.detections.label",
        [[("cat\x00" if lb == "dog" else lb) for lb in dets] for dets in labels],
    )
    results = fp.find_failure_modes(
        dataset, eval_key="eval", tags_field="ground_truth.detections.attrs"
    )
    assert set(results.groups) == {"cat", "cat\x00"}
    assert results.groups["cat"]["size"] == 200 and results.groups["cat\x00"]["size"] == 150
    assert [(m.group, m.tags) for m in results.failure_modes] == [
        ("cat", ("night", "snow")),
        ("cat\x00", ("blur",)),
    ]


def test_top_k_evaluations_are_read_one_way(planted):
    import numpy as np

    classes = ["cat", "dog"]
    # Every wrong prediction has the true class second: right in the top 2.
    logits = [[2.0, 1.0] if p == "cat" else [1.0, 2.0] for p in planted.values("predictions.label")]
    planted.set_values("predictions.logits", np.asarray(logits).tolist())
    planted.evaluate_classifications(
        "predictions",
        gt_field="ground_truth",
        eval_key="topk",
        method="top-k",
        k=2,
        classes=classes,
    )
    planted.evaluate_classifications("predictions", gt_field="ground_truth", eval_key="simple")
    assert fp.find_failure_modes(planted, eval_key="topk", run_key="topk").failure_modes == []
    fp.find_failure_modes(planted, run_key="prime")
    with pytest.raises(ValueError, match="'topk' is a top-k evaluation"):
        fp.check_failure_modes(planted, "prime", eval_key="topk")
    with pytest.raises(ValueError, match="'topk' is a top-k evaluation"):
        fp.find_regressions(
            planted,
            baseline_eval_key="simple",
            eval_key="topk",
            run_key="reg",
            label_field="ground_truth",
        )
    assert "reg" not in planted.list_runs()


# ------------------------------------------------ 9. reports say what happened


def test_the_report_names_the_error_rate_and_why_a_mode_is_not_confirmed(
    planted, make_dataset, tmp_path
):
    from fiftyone import ViewField as F

    from tests.integration.planted import add_planted

    results = fp.find_failure_modes(planted, run_key="prime")
    fp.export_report(planted, "prime", str(tmp_path / "r1"))
    page = (tmp_path / "r1" / "index.html").read_text()
    assert "false-discovery rate over" in page and "family-wise" not in page
    fp.find_failure_modes(planted, run_key="fwer", error_control="fwer", save_views=False)
    fp.export_report(planted, "fwer", str(tmp_path / "r2"))
    assert "family-wise error rate over" in (tmp_path / "r2" / "index.html").read_text()

    # Held out: the cat {night, snow} block loses its 10 right and 2 wrong
    # samples: 28 left, all wrong (a tiny p-value), under min_size 30.
    holdout = add_planted(make_dataset())
    block = holdout.match(
        (F("ground_truth.label") == "cat")
        & F("prime_tags.classifications.label").contains(["night", "snow"], all=True)
    )
    wrong_first = sorted(block.values("id"), key=lambda i: block[i].predictions.label != "cat")
    holdout.delete_samples(wrong_first[:12])
    validation = fp.validate_failure_modes(results, holdout)
    cat = next(r for r in validation["modes"] if r["group"] == "cat")
    assert cat["size"] == 28 and cat["adjusted_p_value"] < 0.001 and not cat["confirmed"]
    assert cat["reason"] == "held-out size 28 < min_size 30"
    fp.export_report(planted, "prime", str(tmp_path / "r3"))
    assert "no (held-out size 28 &lt; min_size 30)" in (tmp_path / "r3" / "index.html").read_text()
