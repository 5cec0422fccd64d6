"""Failure modes of a score (an error, an IoU, an accuracy) on real FiftyOne
evaluations: planted truth (see ``tests/integration/score_data.py``)."""

import math

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

import fiftyone_prime as fp
from fiftyone_prime.integration.failure_modes.scores import SCORES, ScoreModeResults
from fiftyone_prime.integration.runs.run_kinds import kind_of
from tests.integration.score_data import (
    CLASSES,
    PLANTED_PAIR,
    PLANTED_PARAMS,
    PLANTED_UNIT_PARAMS,
    detection_dataset,
    planted_ids,
    regression_dataset,
    segmentation_dataset,
)


@pytest.fixture
def reg_dataset(make_dataset):
    return regression_dataset(make_dataset())


def _planted_mode(results, group=None):
    found = [m for m in results.failure_modes if m.tags == PLANTED_PAIR and m.group == group]
    assert len(found) == 1, results.summary()
    return found[0]


def _assert_planted(dataset, results, group=None):
    mode = _planted_mode(results, group)
    expected = planted_ids(dataset if group is None else dataset.match(F("cls.label") == group))
    view = results.load_view(mode)
    assert set(view.values("id")) == expected
    assert mode.size == len(expected)
    errors = np.array(dataset.select(list(expected)).values("reg"))
    assert mode.mean == pytest.approx(errors.mean())
    assert mode.drop == pytest.approx(mode.mean - mode.group_mean)
    return mode


def test_a_regression_evaluation_finds_the_planted_pair_through_eval_key(reg_dataset):
    results = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="err", **PLANTED_PARAMS)
    assert isinstance(results, ScoreModeResults)
    assert 1 <= len(results) <= 2
    mode = _assert_planted(reg_dataset, results)
    assert mode.group is None
    assert results.higher_is_worse is True
    assert mode.p_value is not None and mode.adjusted_p_value <= 0.05
    low, high = mode.mean_ci
    assert low <= mode.mean <= high
    all_errors = np.array(reg_dataset.values("reg"))
    assert mode.group_mean == pytest.approx(all_errors.mean())
    assert results.num_used == len(reg_dataset)
    assert "score 'reg' (higher is worse)" in results.summary()

    # Stored, listed, loaded and deleted like every failure-mode run.
    root = reg_dataset
    assert kind_of(root.get_run_info("err").config) is SCORES
    assert "err" in fp.list_failure_mode_runs(root)
    loaded = fp.load_failure_modes(root, "err")
    assert isinstance(loaded, ScoreModeResults)
    assert [m.to_dict() for m in loaded.failure_modes] == [
        m.to_dict() for m in results.failure_modes
    ]
    assert set(loaded.load_view(0).values("id")) == set(results.load_view(0).values("id"))
    names = results.view_names
    assert names and set(names) <= set(root.list_saved_views())
    fp.delete_failure_modes(root, "err")
    assert "err" not in root.list_runs()
    assert not set(names) & set(root.list_saved_views())


def test_the_same_field_through_score_field_finds_the_same_modes(reg_dataset):
    by_eval = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="a", **PLANTED_PARAMS)
    by_field = fp.find_failure_modes(
        reg_dataset, score_field="reg", run_key="b", save_views=True, **PLANTED_PARAMS
    )
    assert 1 <= len(by_field) <= 2
    _assert_planted(reg_dataset, by_field)
    strip = ("view_name", "view_id")
    assert [
        {k: v for k, v in m.to_dict().items() if k not in strip} for m in by_field.failure_modes
    ] == [{k: v for k, v in m.to_dict().items() if k not in strip} for m in by_eval.failure_modes]


def test_lower_is_worse_finds_the_pair_of_a_negated_score(reg_dataset):
    reg_dataset.set_values("quality", [-e for e in reg_dataset.values("reg")])
    results = fp.find_failure_modes(
        reg_dataset, score_field="quality", higher_is_worse=False, run_key="q", **PLANTED_PARAMS
    )
    mode = _planted_mode(results)
    assert mode.drop == pytest.approx(mode.group_mean - mode.mean)
    assert mode.drop > PLANTED_PARAMS["min_drop"]
    assert set(results.load_view(mode).values("id")) == planted_ids(reg_dataset)
    # The wrong direction finds no mode where the planted pair is best.
    none = fp.find_failure_modes(
        reg_dataset, score_field="quality", higher_is_worse=True, run_key="q2", **PLANTED_PARAMS
    )
    assert not any(m.tags == PLANTED_PAIR for m in none.failure_modes)


def test_group_field_searches_each_class(reg_dataset):
    results = fp.find_failure_modes(
        reg_dataset, eval_key="reg", group_field="cls", run_key="g", **PLANTED_PARAMS
    )
    for group in CLASSES:
        _assert_planted(reg_dataset, results, group)
    assert set(results.groups) == set(CLASSES)


def test_missing_and_nan_scores_are_left_out_and_counted(reg_dataset):
    ids = reg_dataset.values("id")
    errors = reg_dataset.values("reg")
    values = [None if i < 10 else float("nan") if i < 15 else e for i, e in enumerate(errors)]
    values[20] = float("inf")
    reg_dataset.set_values("err2", values)
    results = fp.find_failure_modes(reg_dataset, score_field="err2", run_key="m", **PLANTED_PARAMS)
    assert results.num_missing_prediction == 16
    assert results.num_used == len(reg_dataset) - 16
    assert "16 without a finite score" in results.summary()
    mode = _planted_mode(results)
    left_out = {ids[i] for i in [*range(15), 20]}
    assert set(results.load_view(mode).values("id")) == planted_ids(reg_dataset) - left_out
    assert mode.size == len(planted_ids(reg_dataset) - left_out)
    kept = [v for v in values if v is not None and math.isfinite(v)]
    assert mode.group_mean == pytest.approx(np.mean(kept))


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        (dict(score_field="nope"), ValueError, "'nope' does not exist"),
        (dict(score_field="prime_tags"), TypeError, "must be a numeric"),
        (dict(score_field="reg", correct_field="ok"), ValueError, "give one"),
        (dict(eval_key="reg", units="gt"), ValueError, "whose units are samples"),
        (dict(score_field="reg", group_field="gt"), TypeError, "Classification or string"),
        (dict(score_field="reg", higher_is_worse="yes"), TypeError, "True or False"),
    ],
)
def test_bad_score_arguments_are_refused_before_anything_is_written(
    reg_dataset, kwargs, error, text
):
    with pytest.raises(error, match=text):
        fp.find_failure_modes(reg_dataset, run_key="bad", **kwargs, **PLANTED_PARAMS)
    assert reg_dataset.list_runs() == []
    assert reg_dataset.list_saved_views() == []


def test_a_score_field_of_strings_is_refused(make_dataset):
    dataset = make_dataset()
    dataset.add_samples(
        [fo.Sample(filepath=f"/x{i}.jpg", prime_tags=["a"], loss="high") for i in range(3)]
    )
    with pytest.raises(TypeError, match="'loss' must be a numeric"):
        fp.find_failure_modes(dataset, score_field="loss", run_key="x")
    assert dataset.list_runs() == []


# ------------------------------------------------- segmentation, object IoUs


def test_a_segmentation_evaluation_finds_the_pair_of_low_accuracy(make_dataset):
    dataset = segmentation_dataset(make_dataset())
    results = fp.find_failure_modes(
        dataset, eval_key="seg", run_key="seg_modes", **PLANTED_UNIT_PARAMS
    )
    assert 1 <= len(results) <= 2
    assert results.higher_is_worse is False
    mode = _planted_mode(results)
    view = results.load_view(mode)
    assert set(view.values("id")) == planted_ids(dataset)
    accuracies = np.array(dataset.select(list(planted_ids(dataset))).values("seg_accuracy"))
    assert mode.mean == pytest.approx(accuracies.mean())
    assert mode.drop == pytest.approx(mode.group_mean - mode.mean)
    # Precision is another of the evaluation's scores, by name.
    by_precision = fp.find_failure_modes(
        dataset, eval_key="seg", score_field="precision", run_key="seg_p", **PLANTED_UNIT_PARAMS
    )
    assert by_precision.spec.score_field == "seg_precision"
    _planted_mode(by_precision)


def test_the_iou_of_ground_truth_objects_finds_the_pair_and_misses_score_zero(make_dataset):
    dataset = detection_dataset(make_dataset())
    iou = "ground_truth.detections.eval_iou"
    results = fp.find_failure_modes(
        dataset,
        eval_key="eval",
        units="gt",
        score_field=iou,
        tags_field="ground_truth.detections.attrs",
        run_key="iou",
        **PLANTED_UNIT_PARAMS,
    )
    assert results.higher_is_worse is False
    assert "units without one score 0" in results.summary()
    mode = _planted_mode(results, "car")
    view = results.load_view(mode)
    objects = [d for dets in view.values("ground_truth.detections") for d in dets]
    assert len(objects) == mode.size == view.count("ground_truth.detections")
    assert all(set(PLANTED_PAIR) <= set(d["attrs"]) for d in objects)
    everything = [d for dets in dataset.values("ground_truth.detections") for d in dets]
    planted = [d for d in everything if set(PLANTED_PAIR) <= set(d["attrs"])]
    assert len(planted) == mode.size
    scores = [d["eval_iou"] if d["eval"] == "tp" else 0.0 for d in planted]
    assert any(d["eval"] == "fn" for d in everything)  # misses take part, scoring 0
    assert mode.mean == pytest.approx(np.mean(scores))
    assert results.num_used == len(everything)


def test_an_object_score_must_be_an_attribute_of_the_units(make_dataset):
    dataset = detection_dataset(make_dataset())
    with pytest.raises(ValueError, match="must be an attribute of the units"):
        fp.find_failure_modes(
            dataset,
            eval_key="eval",
            units="pred",
            score_field="ground_truth.detections.eval_iou",
            run_key="x",
        )


def test_applying_or_validating_score_modes_is_refused_clearly(reg_dataset):
    results = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="err", **PLANTED_PARAMS)
    for call in (
        lambda: fp.apply_failure_modes(results, reg_dataset, run_key="applied"),
        lambda: fp.validate_failure_modes(results, reg_dataset),
    ):
        with pytest.raises(ValueError, match="score modes on other data is not supported"):
            call()
    assert reg_dataset.list_runs() == ["err"]


def test_the_report_and_the_panel_show_score_columns(reg_dataset, tmp_path):
    from fiftyone_prime.plugin.panel import panel_rows

    results = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="err", **PLANTED_PARAMS)
    mode = _planted_mode(results)
    path = fp.export_report(reg_dataset, "err", str(tmp_path / "report"))
    page = open(path, encoding="utf-8").read()
    assert "<th>group mean</th>" in page and "<th>worse by</th>" in page
    assert f"mean score {mode.mean:.4g}" in page and "(higher is worse)" in page
    assert "score &#x27;reg&#x27; (higher is worse)" in page or "score 'reg'" in page
    rows = panel_rows(reg_dataset, "err")
    row = next(r for r in rows if r["tags"] == " + ".join(PLANTED_PAIR))
    assert row["mean_score"] == f"{mode.mean:.4g}" and row["group_mean"] == f"{mode.group_mean:.4g}"
    assert "accuracy" not in row


def test_an_expression_compares_two_models_errors_per_sample(reg_dataset):
    # A second model, as good as the first everywhere but on the planted pair,
    # where it is exact: the per-sample difference (new - base) is worst there.
    base = reg_dataset.values("reg")
    ids = planted_ids(reg_dataset)
    new = [0.0 if i in ids else e for i, e in zip(reg_dataset.values("id"), base)]
    reg_dataset.set_values("err_new", new)
    results = fp.find_failure_modes(
        reg_dataset,
        score_field=F("reg") - F("err_new"),  # how much worse the first model is
        run_key="diff",
        **PLANTED_PARAMS,
    )
    mode = _planted_mode(results)
    assert set(results.load_view(mode).values("id")) == ids
    diffs = [b - n for i, b, n in zip(reg_dataset.values("id"), base, new) if i in ids]
    assert mode.mean == pytest.approx(np.mean(diffs))
    assert "score 'an expression' (higher is worse)" in results.summary()
    # Stored and loaded: the expression travels with the run.
    loaded = fp.load_failure_modes(reg_dataset, "diff")
    assert set(loaded.load_view(mode).values("id")) == ids


def test_a_score_run_searches_again_from_inputs_cached_on_disk(reg_dataset):
    """The disk cache kept no scores: a second run in a new process (here: the
    in-memory cache emptied) failed with a shape error (found by review)."""
    from fiftyone_prime.integration.reading import input_cache

    first = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="a", **PLANTED_PARAMS)
    input_cache._memory.clear()
    again = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="b", **PLANTED_PARAMS)
    rows = [[(m.tags, m.size, m.mean) for m in r.failure_modes] for r in (first, again)]
    assert rows[0] == rows[1] and rows[0]


def test_a_score_runs_modes_are_refused_as_hypotheses_with_a_reason(reg_dataset):
    """Before: a TypeError about (None, [...]) pairs, and an AttributeError
    ('accuracy') from the proposals (found by review)."""
    from fiftyone_prime.integration.failure_modes.proposals import describe_modes

    results = fp.find_failure_modes(reg_dataset, eval_key="reg", run_key="err", **PLANTED_PARAMS)
    with pytest.raises(ValueError, match=r"searched a score .*testing score modes"):
        fp.test_hypotheses(reg_dataset, results)
    with pytest.raises(ValueError, match="proposing and testing hypotheses from score modes"):
        describe_modes(results)
