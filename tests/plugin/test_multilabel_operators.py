"""The find, regression and check operators on a multilabel classifier,
through FiftyOne's operator machinery (planted data of
``tests/integration/multilabel_data.py``)."""

import pytest

import fiftyone.operators as foo

import fiftyone_prime as fp
from tests.integration.multilabel_data import THRESH, planted_template
from tests.plugin.test_operators import FIND, resolve_inputs

PLUGIN = "@fiftyone-prime/prime"
FIND_REGRESSIONS = f"{PLUGIN}/find_regressions"
CHECK = f"{PLUGIN}/check_failure_modes"


@pytest.fixture(scope="module")
def ml():
    with planted_template(persistent=True) as dataset:  # persistent: as the App's datasets
        yield dataset


def test_the_find_form_offers_classifications_fields_and_the_units(ml):
    props = resolve_inputs(FIND, ml, {})
    assert props["multilabel"].default is True  # no Classification fields here
    assert props["label_field"].type.values == [
        "ground_truth",
        "model_v1",
        "model_v2",
        "predictions",
        "prime_tags",
    ]
    assert props["units"].type.values == ["gt", "pred"] and props["units"].default == "gt"
    assert "confidence_thresh" in props


def test_find_regressions_and_check_through_the_operators(ml):
    found = foo.get_operator(FIND)(
        ml,
        label_field="ground_truth",
        pred_field="predictions",
        confidence_thresh=THRESH,
        run_key="ml_op",
    )
    assert [r["tags"] for r in found.result["failure_modes"]] == ["crowd + night"]
    results = fp.load_failure_modes(ml, "ml_op")
    assert results.spec.is_multilabel and results.spec.confidence_thresh == THRESH
    alarms = foo.get_operator(FIND)(
        ml,
        label_field="ground_truth",
        pred_field="predictions",
        units="pred",
        confidence_thresh=THRESH,
        run_key="ml_alarms",
        save_views=False,
    )
    assert [(r["class"], r["tags"]) for r in alarms.result["failure_modes"]] == [
        ("dog", "indoor + rain")
    ]
    regressed = foo.get_operator(FIND_REGRESSIONS)(
        ml,
        label_field="ground_truth",
        baseline_field="model_v1",
        pred_field="predictions",
        confidence_thresh=THRESH,
        run_key="ml_reg",
        save_views=False,
    )
    assert [r["tags"] for r in regressed.result["regressions"]] == ["crowd + night"]
    props = resolve_inputs(CHECK, ml, {"run_key": "ml_op"})
    assert "model_v1" in props["pred_field"].type.values
    checked = foo.get_operator(CHECK)(ml, "ml_op", "model_v1")
    assert checked.result["passed"] is True
    assert foo.get_operator(CHECK)(ml, "ml_op", "model_v2").result["passed"] is False


def test_the_switch_is_absent_without_two_classifications_fields(planted):
    props = resolve_inputs(FIND, planted, {})
    assert "multilabel" not in props and "units" not in props
