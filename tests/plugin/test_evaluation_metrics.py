"""PRIME metrics in FiftyOne's Model Evaluation panel (custom evaluation metrics)."""

import pytest

import fiftyone.operators as foo

from fiftyone_prime.plugin.evaluation_metrics import FailureModeCount, FailureModeMaxDrop
from tests.integration.planted_objects import evaluated

PLUGIN = "@fiftyone-prime/prime"
COUNT = f"{PLUGIN}/prime_failure_modes_count"
DROP = f"{PLUGIN}/prime_max_drop"
ATTRS = "ground_truth.detections.attrs"


def test_metrics_compute_the_planted_modes(make_dataset):
    dataset = evaluated(make_dataset, "gt")
    results = dataset.load_evaluation_results("eval")
    assert FailureModeCount().compute(dataset, results, tags_field=ATTRS) == 2
    assert FailureModeMaxDrop().compute(dataset, results, tags_field=ATTRS) == pytest.approx(0.55)
    assert FailureModeCount().compute(dataset, results, tags_field="image_tags", units="pred") == 0
    assert dataset.list_runs() == [] and dataset.list_saved_views() == []


def test_metrics_are_registered_and_shown_with_the_evaluation(make_dataset):
    registered = {op.uri for op in foo.list_operators()}
    assert {COUNT, DROP} <= registered
    dataset = evaluated(make_dataset, "gt")
    dataset.evaluate_detections(
        "predictions",
        gt_field="ground_truth",
        eval_key="with_prime",
        custom_metrics={COUNT: {"tags_field": ATTRS}, DROP: {"tags_field": ATTRS}},
    )
    metrics = dataset.load_evaluation_results("with_prime").custom_metrics
    assert metrics[COUNT]["value"] == 2 and metrics[COUNT]["label"] == "PRIME failure modes"
    assert metrics[DROP]["value"] == pytest.approx(0.55)


def test_metrics_of_a_regression_evaluation_are_those_of_its_score_search(make_dataset):
    import fiftyone_prime as fp
    from tests.integration.score_data import regression_dataset

    dataset = regression_dataset(make_dataset())
    results = dataset.load_evaluation_results("reg")
    count = FailureModeCount().compute(dataset, results, tags_field="prime_tags")
    drop = FailureModeMaxDrop().compute(dataset, results, tags_field="prime_tags")
    assert dataset.list_runs() == [] and dataset.list_saved_views() == []
    searched = fp.find_failure_modes(dataset, eval_key="reg", run_key="same", save_views=False)
    assert count == len(searched) >= 1
    assert drop == pytest.approx(max(m.drop for m in searched.failure_modes))
