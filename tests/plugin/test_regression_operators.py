"""The comparison and check operators, through FiftyOne's operator machinery."""

import pytest

import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionError, ExecutionRunState

import fiftyone_prime as fp
from fiftyone_prime.integration.comparisons.regressions import load_regressions
from tests.helpers import regression_summary
from tests.integration.regression_data import PLANTED_REGRESSION, regression_dataset
from tests.plugin.test_operators import FIND as FIND_MODES
from tests.plugin.test_operators import resolve_inputs

PLUGIN = "@fiftyone-prime/prime"
FIND = f"{PLUGIN}/find_regressions"
CHECK = f"{PLUGIN}/check_failure_modes"


@pytest.fixture
def two_models(make_dataset):
    return regression_dataset(make_dataset, persistent=True)


def test_find_regressions_immediately_and_delegated(two_models):
    op = foo.get_operator(FIND)
    result = op(two_models, run_key="now")
    assert result.result["num_regressions"] == 1
    (row,) = result.result["regressions"]
    assert row["acc (base -> new)"] == "80.0% -> 10.0%"
    assert regression_summary(load_regressions(two_models, "now")) == [PLANTED_REGRESSION]

    queued = op(two_models, run_key="later", delegate=True)
    assert queued.delegated
    service = DelegatedOperationService()
    service.execute_queued_operations(operator=FIND, dataset_name=two_models.name)
    (done,) = service.list_operations(operator=FIND, dataset_name=two_models.name)
    assert done.run_state == ExecutionRunState.COMPLETED, done.result
    two_models.reload()
    assert regression_summary(load_regressions(two_models, "later")) == [PLANTED_REGRESSION]
    # progress on the delegated operation's status, as the failure-mode search reports it
    assert done.status is not None and done.status.label.startswith("Saving views")
    with pytest.raises(ExecutionError, match="run_key"):
        op(two_models, run_key="now")


def test_check_failure_modes_immediately_and_delegated(two_models):
    fp.find_failure_modes(two_models, pred_field="predictions_v2", run_key="v2", alpha=None)
    op = foo.get_operator(CHECK)
    result = op(two_models, "v2", "predictions_v1", max_drop=0.7)
    assert result.result["passed"] is True
    assert {r["tags"] for r in result.result["rows"]} == {"night + snow", "blur"}
    failing = op(two_models, "v2", "predictions_v2")
    assert failing.result["passed"] is False and failing.result["num_failed"] == 2

    queued = op(two_models, "v2", "predictions_v1", delegate=True)
    assert queued.delegated
    service = DelegatedOperationService()
    service.execute_queued_operations(operator=CHECK, dataset_name=two_models.name)
    (done,) = service.list_operations(operator=CHECK, dataset_name=two_models.name)
    assert done.run_state == ExecutionRunState.COMPLETED, done.result
    assert done.result.result["num_failed"] == 1  # v1 fails dog {blur}


def test_the_panel_lists_regression_runs_with_both_accuracies(two_models):
    from fiftyone_prime.plugin.panel import panel_rows

    fp.find_failure_modes(two_models, pred_field="predictions_v2", run_key="v2")
    fp.find_regressions(two_models, run_key="cmp")
    (row,) = panel_rows(two_models, "cmp")
    assert row["class"] == "cat" and row["tags"] == "night + snow"
    assert row["acc (base -> new)"] == "80.0% -> 10.0%"
    assert row["class acc (base -> new)"] == "81.0% -> 74.5%"
    assert row["view"] == "cmp cat: night + snow"
    assert [r["class"] for r in panel_rows(two_models, "v2")]  # failure-mode runs unchanged


def test_the_comparison_form_is_the_search_forms_with_two_prediction_pickers(two_models):
    props = resolve_inputs(FIND, two_models, {})
    fields = ["ground_truth", "predictions_v1", "predictions_v2"]
    pickers = [props[name] for name in ("label_field", "baseline_field", "pred_field")]
    assert [p.type.values for p in pickers] == [fields] * 3
    assert [p.default for p in pickers] == fields  # the SDK's defaults
    search_form = resolve_inputs(FIND_MODES, two_models, {})
    assert [c.value for c in props["tags_field"].view.choices] == [
        c.value for c in search_form["tags_field"].view.choices
    ]
    for name in ("min_size", "min_drop", "min_gain", "max_tags", "minimal", "alpha"):
        assert props[name].default == search_form[name].default, name
    assert props["run_key"].default == "prime_regression"
    assert props["max_views"].default == search_form["max_views"].default

    same = resolve_inputs(
        FIND, two_models, {"baseline_field": "predictions_v2", "pred_field": "predictions_v2"}
    )
    assert same["pred_field"].invalid and "must differ" in same["pred_field"].error_message
    fp.find_regressions(two_models, run_key="taken")
    taken = resolve_inputs(FIND, two_models, {"run_key": "taken"})
    assert taken["run_key"].invalid and "overwrite" in taken["run_key"].error_message
    bad = resolve_inputs(FIND, two_models, {"min_drop": 2.0})
    assert bad["min_drop"].invalid  # SearchParams' own check


def test_the_comparison_form_says_which_fields_are_missing(make_dataset):
    import fiftyone as fo

    one_model = make_dataset(persistent=True)
    one_model.add_sample(
        fo.Sample(
            filepath="/nonexistent/a.jpg",
            ground_truth=fo.Classification(label="cat"),
            predictions=fo.Classification(label="cat"),
            prime_tags=fo.Classifications(classifications=[fo.Classification(label="snow")]),
        )
    )
    props = resolve_inputs(FIND, one_model, {})
    message = props["no_fields"].error_message
    assert props["no_fields"].invalid and "baseline prediction" in message
    assert "baseline_field" not in props
    assert "no_fields" not in resolve_inputs(FIND_MODES, one_model, {})


def test_an_unknown_search_argument_is_a_type_error(two_models):
    with pytest.raises(TypeError, match=r"min_sizes.*min_size"):
        foo.get_operator(FIND)(two_models, min_sizes=5)
    assert two_models.list_runs() == []


def test_the_comparison_form_and_operator_compare_two_detection_evaluations(make_dataset):
    from fiftyone_prime.integration.failure_modes.evaluations import results_notice
    from fiftyone_prime.plugin.panel import panel_rows
    from tests.integration.comparisons.test_object_regressions import two_detectors

    dataset = make_dataset(persistent=True)
    planted = two_detectors(dataset)
    dataset.evaluate_detections("det_new", gt_field="ground_truth", eval_key="new_iou7", iou=0.7)
    props = resolve_inputs(FIND, dataset, {"eval_key": "new", "baseline_eval_key": "old"})
    assert props["units"].type.values == ["gt"] and "baseline_field" not in props
    assert not getattr(props["baseline_eval_key"], "invalid", False)
    bad = resolve_inputs(FIND, dataset, {"eval_key": "new_iou7", "baseline_eval_key": "old"})
    assert bad["baseline_eval_key"].invalid and "iou" in bad["baseline_eval_key"].error_message
    result = foo.get_operator(FIND)(
        dataset,
        baseline_eval_key="old",
        eval_key="new",
        units="gt",
        tags_field="ground_truth.detections.attrs",
        run_key="objects",
    )
    (row,) = result.result["regressions"]
    assert row["class"] == "car" and row["tags"] == "dark + small"
    assert row["size"] == str(len(planted))
    # Without the image tags, {dark, rain} (a third of whose cars are small) is significant
    # too, and shown as the proxy it is.
    assert row["aliases"].startswith("also as {dark, rain}")
    # The panel shows the run's rows and says what its units are.
    assert [r["tags"] for r in panel_rows(dataset, "objects")] == ["dark + small"]
    notice = results_notice(load_regressions(dataset, "objects"))
    assert notice.startswith("Units: ground-truth objects of 'ground_truth'")
