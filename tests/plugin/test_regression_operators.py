"""The comparison and check operators, through FiftyOne's operator machinery."""

import pytest

import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionError, ExecutionRunState

import fiftyone_prime as fp
from fiftyone_prime.integration.comparisons.regressions import load_regressions
from tests.helpers import regression_summary
from tests.integration.regression_data import PLANTED_REGRESSION, regression_dataset

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
