"""Failure modes over the units of FiftyOne evaluation runs: planted truth.

Detection datasets come from :mod:`tests.integration.planted_objects` (the
planted blocks of ``planted.py`` with objects as units), evaluated with
FiftyOne's own ``evaluate_detections``; classification runs use the planted
sample dataset evaluated with ``evaluate_classifications``.
"""

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

import fiftyone_prime as fp
from fiftyone_prime.integration.failure_modes.evaluations import (
    DELETED,
    RERUN,
    EvalFailureModeResults,
)
from tests.helpers import summary
from tests.integration.planted import PLANTED_MODES
from tests.integration.planted_objects import evaluated

find = fp.find_failure_modes  # the public entry point (search_failure_modes dispatches)


def modes_without_views(results):
    return [
        {k: v for k, v in m.to_dict().items() if k not in ("view_name", "view_id")}
        for m in results.failure_modes
    ]


def nothing_written(dataset):
    return dataset.list_runs() == [] and dataset.list_saved_views() == []


@pytest.fixture
def gt_dataset(make_dataset):
    return evaluated(make_dataset, "gt")


@pytest.fixture
def pred_dataset(make_dataset):
    return evaluated(make_dataset, "pred")


def _view_objects(view, field):
    """(label, eval, attrs) of every object left in ``view``'s ``field``."""
    out = []
    for dets in view.values(f"{field}.detections"):
        out.extend(
            (d.label, d["eval"], d["attrs"])
            for d in dets or []
            if not d.get_attribute_value("iscrowd", False)
        )
    return out


def _assert_view_holds_exactly(dataset, results, mode, field, wrong):
    view = results.load_view(mode)
    objects = _view_objects(view, field)
    assert len(objects) == mode.size == view.count(f"{field}.detections")
    assert {o[0] for o in objects} == {mode.group}
    assert all(set(mode.tags) <= set(o[2]) for o in objects)
    assert sum(o[1] == "tp" for o in objects) == mode.num_correct
    assert sum(o[1] == wrong for o in objects) == mode.size - mode.num_correct
    # Complement: every unit of the class carrying the tags (crowds are no
    # units) is in the view.
    everything = _view_objects(dataset, field)
    matching = [
        o
        for o in everything
        if o[0] == mode.group and o[1] in ("tp", wrong) and set(mode.tags) <= set(o[2] or [])
    ]
    assert len(matching) == mode.size


def test_missed_ground_truth_objects_give_the_planted_modes(gt_dataset):
    results = find(
        gt_dataset,
        eval_key="eval",
        units="gt",
        tags_field="ground_truth.detections.attrs",
        run_key="det",
    )
    assert summary(results) == PLANTED_MODES
    assert results.groups == {
        "cat": {"size": 200, "accuracy": pytest.approx(0.8)},
        "dog": {"size": 150, "accuracy": pytest.approx(0.8)},
    }
    # The crowd region FiftyOne marked "fn" is left out, as COCO does.
    assert results.num_crowd == 1 and results.num_used == 350 and results.num_units == 351
    assert results.units == "gt" and results.eval_key == "eval"
    assert "over 350 objects" in results.summary()
    for mode in results.failure_modes:
        _assert_view_holds_exactly(gt_dataset, results, mode, "ground_truth", "fn")
        info = gt_dataset.get_saved_view_info(mode.view_name)
        assert "ground-truth objects of evaluation 'eval'" in info["description"]


def test_gt_is_the_default_unit_of_detection_evaluations(gt_dataset):
    results = find(gt_dataset, eval_key="eval", tags_field="ground_truth.detections.attrs")
    assert summary(results) == PLANTED_MODES and results.units == "gt"


def test_false_positive_predictions_give_the_planted_modes(pred_dataset):
    results = find(
        pred_dataset,
        eval_key="eval",
        units="pred",
        tags_field="predictions.detections.attrs",
        run_key="fp",
    )
    assert summary(results) == PLANTED_MODES
    assert results.units == "pred"
    for mode in results.failure_modes:
        _assert_view_holds_exactly(pred_dataset, results, mode, "predictions", "fp")


def test_objects_inherit_image_level_tags(gt_dataset):
    results = find(gt_dataset, eval_key="eval", tags_field="image_tags")
    assert summary(results) == PLANTED_MODES
    for mode in results.failure_modes:
        view = results.load_view(mode)
        assert view.count("ground_truth.detections") == mode.size
        assert view.count_values("ground_truth.detections.eval")["tp"] == mode.num_correct


def test_object_and_image_tags_together(gt_dataset):
    results = find(
        gt_dataset,
        eval_key="eval",
        tags_field=["ground_truth.detections.attrs_no_blur", "image_blur"],
    )
    assert summary(results) == [
        (
            "cat",
            (
                "ground_truth.detections.attrs_no_blur:night",
                "ground_truth.detections.attrs_no_blur:snow",
            ),
            40,
            10,
        ),
        ("dog", ("image_blur:blur",), 40, 12),
    ]
    for mode in results.failure_modes:
        assert results.load_view(mode).count("ground_truth.detections") == mode.size


WEATHER = [("cat", ("snow",), 95, 60), ("dog", ("blur",), 40, 12)]


@pytest.mark.parametrize(
    "attr, declared, min_drop, expected",
    [
        ("weather", False, 0.1, WEATHER),
        ("weather", True, 0.1, WEATHER),
        ("snowy", False, 0.1, [("cat", ("snowy",), 95, 60)]),
        ("snowy", True, 0.1, [("cat", ("snowy",), 95, 60)]),
        ("attrs", True, 0.2, PLANTED_MODES),
    ],
)
def test_string_bool_and_list_attributes(gt_dataset, attr, declared, min_drop, expected):
    if declared:
        gt_dataset.add_dynamic_sample_fields()
        assert gt_dataset.get_field(f"ground_truth.detections.{attr}") is not None
    results = find(
        gt_dataset,
        eval_key="eval",
        tags_field=f"ground_truth.detections.{attr}",
        min_drop=min_drop,
    )
    assert summary(results) == expected
    for mode in results.failure_modes:
        assert results.load_view(mode).count("ground_truth.detections") == mode.size


def _add_attribute_tags(dataset):
    """Gives each planted object its attributes also as a Classifications
    and a Classification attribute."""
    attrs = dataset.values("ground_truth.detections.attrs")
    dataset.set_values(
        "ground_truth.detections.scene",
        [
            [
                fo.Classifications(classifications=[fo.Classification(label=t) for t in tags])
                for tags in dets
            ]
            for dets in attrs
        ],
    )
    dataset.set_values(
        "ground_truth.detections.main",
        [[fo.Classification(label=tags[0]) if tags else None for tags in dets] for dets in attrs],
    )


def test_classification_attribute_as_tags(make_dataset):
    dataset = evaluated(make_dataset, "gt")
    _add_attribute_tags(dataset)
    results = find(dataset, eval_key="eval", tags_field="ground_truth.detections.scene")
    assert summary(results) == PLANTED_MODES
    for mode in results.failure_modes:
        assert results.load_view(mode).count("ground_truth.detections") == mode.size
    main = find(
        dataset,
        eval_key="eval",
        tags_field="ground_truth.detections.main",
        run_key="main",
        min_drop=0.1,
    )
    assert summary(main) == [("cat", ("snow",), 95, 60), ("dog", ("blur",), 40, 12)]


# ------------------------------------------------------------ classification


@pytest.fixture
def evaluated_planted(planted):
    planted.evaluate_classifications("predictions", gt_field="ground_truth", eval_key="eval")
    return planted


def test_classification_evaluation_equals_the_label_field_search(evaluated_planted):
    before = fp.find_failure_modes(evaluated_planted, run_key="labels")
    results = find(evaluated_planted, eval_key="eval", run_key="ev")
    assert results.units == "samples"
    assert modes_without_views(results) == modes_without_views(before)
    assert results.groups == before.groups and results.significance == before.significance
    for mode, old in zip(results.failure_modes, before.failure_modes):
        assert set(results.load_view(mode).values("id")) == set(before.load_view(old).values("id"))


def test_top_k_and_binary_classification_evaluations(planted):
    classes = ["cat", "dog", "fox"]
    logits = []
    for gt, pred in zip(planted.values("ground_truth.label"), planted.values("predictions.label")):
        row = np.zeros(3)
        row[classes.index(pred)] = 2.0
        # The true class is third when the prediction is wrong: wrong in the top 2 too.
        row[2 if gt != pred else classes.index(pred)] = max(row[2], 1.0 if gt != pred else 2.0)
        logits.append(row.tolist())
    planted.set_values("predictions.logits", logits)
    planted.evaluate_classifications(
        "predictions",
        gt_field="ground_truth",
        eval_key="topk",
        method="top-k",
        k=2,
        classes=classes,
    )
    topk = find(planted, eval_key="topk", run_key="topk")
    assert summary(topk) == PLANTED_MODES
    planted.evaluate_classifications(
        "predictions",
        gt_field="ground_truth",
        eval_key="binary",
        method="binary",
        classes=["dog", "cat"],
    )
    assert set(planted.distinct("binary")) == {"TP", "TN", "FP", "FN"}
    binary = find(planted, eval_key="binary", run_key="binary")
    assert summary(binary) == PLANTED_MODES
    assert len(binary.load_view(0)) == binary.failure_modes[0].size


# ------------------------------------------------------------ correct_field


def test_correct_field_on_objects_and_samples(gt_dataset, planted):
    found = gt_dataset.values(F("ground_truth.detections").map(F("eval") == "tp"))
    gt_dataset.set_values("ground_truth.detections.found", found)
    by_path = find(
        gt_dataset,
        label_field="ground_truth",
        correct_field="ground_truth.detections.found",
        tags_field="ground_truth.detections.attrs",
        run_key="path",
    )
    # Without the evaluation the crowd region is a unit like any other object.
    assert by_path.num_used == 351
    assert [s[:2] for s in summary(by_path)] == [s[:2] for s in PLANTED_MODES]
    by_expr = find(
        gt_dataset,
        eval_key="eval",
        correct_field=F("eval") == "tp",
        tags_field="ground_truth.detections.attrs",
        run_key="expr",
    )
    assert summary(by_expr) == PLANTED_MODES
    for mode in by_expr.failure_modes:
        assert by_expr.load_view(mode).count("ground_truth.detections") == mode.size

    planted.set_values("right", planted.values(F("ground_truth.label") == F("predictions.label")))
    samples = find(planted, label_field="ground_truth", correct_field="right", run_key="s")
    assert summary(samples) == PLANTED_MODES
    expr = find(
        planted,
        label_field="ground_truth",
        correct_field=F("ground_truth.label") == F("predictions.label"),
        run_key="e",
    )
    assert summary(expr) == PLANTED_MODES


# ------------------------------------------------------------ bad input


def test_bad_input_raises_and_writes_nothing(gt_dataset, make_dataset):
    attrs = "ground_truth.detections.attrs"
    cases = [
        (dict(eval_key="nope", tags_field=attrs), ValueError, "no evaluation with key 'nope'"),
        (dict(eval_key="eval", units="samples", tags_field=attrs), ValueError, "does not fit"),
        (dict(eval_key="eval", units="objects", tags_field=attrs), ValueError, "must be one of"),
        (
            dict(eval_key="eval", tags_field="ground_truth.detections.nope"),
            ValueError,
            "no object in the view has this attribute",
        ),
        (
            dict(eval_key="eval", units="gt", tags_field="predictions.detections.attrs"),
            ValueError,
            "tag only their own objects",
        ),
        (dict(eval_key="eval", tags_field="no_such_field"), ValueError, "does not exist"),
        (
            dict(eval_key="eval", label_field="predictions", tags_field=attrs),
            ValueError,
            "evaluation's fields",
        ),
        (
            dict(eval_key="eval", correct_field="found", tags_field=attrs),
            ValueError,
            "must be an attribute of the units",
        ),
        (dict(units="gt", tags_field=attrs), ValueError, "eval_key"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            find(gt_dataset, **kwargs)
        assert nothing_written(gt_dataset), kwargs

    classification = make_dataset()
    classification.add_samples(
        [
            fo.Sample(
                filepath=f"/nonexistent/c{i}.jpg",
                ground_truth=fo.Classification(label="a"),
                predictions=fo.Classification(label="a"),
                gt_value=fo.Regression(value=1.0),
                pred_value=fo.Regression(value=1.5),
                tag_list=["x"],
            )
            for i in range(3)
        ]
    )
    classification.evaluate_classifications("predictions", eval_key="cls")
    with pytest.raises(ValueError, match="classification evaluation"):
        find(classification, eval_key="cls", units="gt", tags_field="tag_list")
    classification.evaluate_regressions("pred_value", gt_field="gt_value", eval_key="reg")
    # A regression evaluation is searched as a score (test_score_runs.py), of samples.
    with pytest.raises(ValueError, match="regression evaluation, whose units are samples"):
        find(classification, eval_key="reg", units="gt", tags_field="tag_list")
    assert classification.list_runs() == [] and classification.list_saved_views() == []


# ------------------------------------------------------------ runs


def test_run_remembers_its_evaluation_and_cleans_up(gt_dataset):
    attrs = "ground_truth.detections.attrs"
    results = find(gt_dataset, eval_key="eval", tags_field=attrs, run_key="det")
    loaded = fp.load_failure_modes(gt_dataset, "det")
    assert isinstance(loaded, EvalFailureModeResults)
    assert loaded.eval_key == "eval" and loaded.units == "gt"
    assert type(loaded.config) is fp.FailureModeRunConfig  # one config type for all runs
    assert summary(loaded) == PLANTED_MODES and loaded.evaluation_state == "current"
    assert fp.list_failure_mode_runs(gt_dataset) == ["det"]
    assert loaded.load_view(0).count("ground_truth.detections") == 40

    with pytest.raises(ValueError, match="already has a run"):
        find(gt_dataset, eval_key="eval", tags_field=attrs, run_key="det")
    again = find(gt_dataset, eval_key="eval", tags_field=attrs, run_key="det", overwrite=True)
    assert set(gt_dataset.list_saved_views()) == set(again.view_names)
    assert set(results.view_ids).isdisjoint(again.view_ids)

    gt_dataset.evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="eval", overwrite=True
    )
    rerun = fp.load_failure_modes(gt_dataset, "det")
    assert rerun.evaluation_state == RERUN
    assert "WARNING: The evaluation 'eval' has been re-run" in rerun.summary()

    gt_dataset.delete_evaluation("eval")
    gone = fp.load_failure_modes(gt_dataset, "det")
    assert gone.evaluation_state == DELETED
    assert "has been deleted" in gone.summary()

    gt_dataset.save_view("mine", gt_dataset.limit(3))
    fp.delete_failure_modes(gt_dataset, "det")
    assert gt_dataset.list_runs() == [] and gt_dataset.list_saved_views() == ["mine"]


def test_a_run_key_changes_kind_on_overwrite(evaluated_planted):
    labels = fp.find_failure_modes(evaluated_planted, run_key="k")
    by_eval = find(evaluated_planted, eval_key="eval", run_key="k", overwrite=True)
    assert by_eval.units == "samples"
    assert set(evaluated_planted.list_saved_views()) == set(by_eval.view_names)
    assert set(labels.view_ids).isdisjoint(by_eval.view_ids)
    again = fp.find_failure_modes(evaluated_planted, run_key="k", overwrite=True)
    assert set(evaluated_planted.list_saved_views()) == set(again.view_names)
    assert type(fp.load_failure_modes(evaluated_planted, "k")).__name__ == "FailureModeResults"


def test_reading_a_dataset_in_parallel_id_ranges_reads_the_same(gt_dataset, monkeypatch):
    from fiftyone_prime.integration.reading import units as fpu

    spec = fpu.resolve_units(gt_dataset, eval_key="eval")
    sources = fpu.unit_tag_sources(
        gt_dataset, spec, ["ground_truth.detections.attrs", "image_tags"]
    )
    whole = fpu.read_units(gt_dataset, spec, sources)
    monkeypatch.setattr(fpu, "_PART_SIZE", 10)
    parts = fpu.read_units(gt_dataset, spec, sources)
    assert (whole.tags != parts.tags).nnz == 0 and whole.tag_keys == parts.tag_keys
    assert (whole.correct == parts.correct).all() and (whole.labels == parts.labels).all()
    assert (whole.sample_index == parts.sample_index).all() and parts.num_crowd == 1


def test_keypoint_evaluations_have_object_units(make_dataset):
    dataset = make_dataset()
    samples = []
    for i in range(40):
        points = [[0.1 + 0.01 * k, 0.2 + 0.01 * k] for k in range(4)]
        found = i % 2 == 0  # half of the "dark" skeletons are missed
        dark = i < 20
        gt = fo.Keypoint(label="person", points=points, attrs=["dark"] if dark else ["plain"])
        preds = (
            [fo.Keypoint(label="person", points=points, confidence=[0.9] * 4)]
            if found or not dark
            else []
        )
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/k{i}.jpg",
                ground_truth=fo.Keypoints(keypoints=[gt]),
                predictions=fo.Keypoints(keypoints=preds),
            )
        )
    dataset.add_samples(samples)
    dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key="eval")
    results = find(
        dataset,
        eval_key="eval",
        tags_field="ground_truth.keypoints.attrs",
        min_size=5,
        alpha=None,
    )
    assert results.num_used == 40
    assert summary(results) == [("person", ("dark",), 20, 10)]
    assert results.load_view(0).count("ground_truth.keypoints") == 20


@pytest.mark.slow  # a subprocess
def test_object_runs_reload_in_a_fresh_process(make_dataset):
    import json

    from tests.fo_env import run_python

    dataset = evaluated(make_dataset, "gt", persistent=True)
    find(dataset, eval_key="eval", tags_field="ground_truth.detections.attrs", run_key="det")
    code = f"""
import json, fiftyone as fo, fiftyone_prime as fp
ds = fo.load_dataset({dataset.name!r})
r = fp.load_failure_modes(ds, "det")
print(json.dumps(dict(
    cls=type(r).__name__, units=r.units, state=r.evaluation_state,
    modes=[[m.group, list(m.tags), m.size, m.num_correct] for m in r.failure_modes],
    objects=r.load_view(0).count("ground_truth.detections"))))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["cls"] == "EvalFailureModeResults"
    assert out["units"] == "gt" and out["state"] == "current"
    assert out["modes"] == [[g, list(t), s, c] for g, t, s, c in PLANTED_MODES]
    assert out["objects"] == 40


def test_units_notice_for_the_panel(gt_dataset, planted):
    from fiftyone_prime.integration.failure_modes.evaluations import units_notice

    find(gt_dataset, eval_key="eval", tags_field="ground_truth.detections.attrs", run_key="det")
    notice = units_notice(gt_dataset, "det")
    assert notice == "Units: ground-truth objects of evaluation 'eval', wrong when missed."
    gt_dataset.delete_evaluation("eval")
    assert "has been deleted" in units_notice(gt_dataset, "det")
    fp.find_failure_modes(planted, run_key="labels")
    assert units_notice(planted, "labels") == ""


def test_tag_matrix_rows_with_none_duplicates_and_odd_values():
    from fiftyone_prime.integration.reading.units import _csr

    matrix, labels = _csr([["b", "a", "b"], None, [], ("a", None)], 4)
    assert labels == ["a", "b"]
    assert matrix.toarray().tolist() == [
        [True, True],
        [False, False],
        [False, False],
        [True, False],
    ]
    matrix, labels = _csr([["x"], ["y", "x"]], 2)
    assert matrix.toarray().tolist() == [[True, False], [True, True]]
    with pytest.raises(TypeError, match="not strings"):
        _csr([["x", 3]], 1, "ground_truth.detections.attrs")


def test_a_clone_searched_before_a_reload_keeps_its_evaluation_current(make_dataset):
    """A clone's run info in memory has its timestamp in microseconds, the
    database in milliseconds: the run compares both to the millisecond."""
    import fiftyone as fo

    from fiftyone_prime.integration.failure_modes.evaluations import evaluation_state
    from fiftyone_prime.integration.failure_modes.evaluations import run_spec as spec_of

    source = evaluated(make_dataset, "gt")
    clone = source.clone(f"{source.name}-clone")
    try:
        results = find(clone, eval_key="eval", tags_field="ground_truth.detections.attrs")
        fresh = fo.load_dataset(clone.name)
        fresh.reload()
        assert evaluation_state(fresh, spec_of(results.config)) == "current"
    finally:
        fo.delete_dataset(clone.name)
