"""The find form's evaluation inputs."""

import fiftyone.operators.types as types
from fiftyone.operators.executor import ExecutionContext

from fiftyone_prime.plugin.evaluation_form import (
    NO_EVALUATION,
    SCORE_FIELD,
    evaluation_keys,
    evaluation_params,
    evaluation_pickers,
    image_tag_fields,
    object_attribute_paths,
)
from tests.integration.planted_objects import evaluated


def _ctx(dataset, params):
    return ExecutionContext(
        dict(dataset_name=dataset.name, view=dataset.view()._serialize(), params=params)
    )


def test_form_lists_evaluations_units_and_fitting_tag_fields(make_dataset):
    dataset = evaluated(make_dataset, "gt")
    dataset.add_dynamic_sample_fields()
    assert evaluation_keys(dataset) == ["eval"]
    assert "ground_truth.detections.attrs" in object_attribute_paths(
        dataset, "ground_truth.detections"
    )

    inputs = types.Object()
    assert evaluation_pickers(_ctx(dataset, {}), inputs, dataset, ["image_tags"]) is None
    # eval_tp/eval_fp/eval_fn, the evaluation's per-sample counts, are numeric fields
    assert inputs.properties["eval_key"].type.values == [NO_EVALUATION, SCORE_FIELD, "eval"]

    inputs = types.Object()
    chosen = evaluation_pickers(
        _ctx(dataset, {"eval_key": "eval", "units": "gt"}), inputs, dataset, ["image_tags"]
    )
    assert chosen["units"] == "gt" and chosen["valid"]
    assert inputs.properties["units"].type.values == ["gt", "pred"]
    choices = [c.value for c in inputs.properties["tags_field"].view.choices]
    assert "ground_truth.detections.attrs" in choices and "image_tags" in choices

    inputs = types.Object()
    wrong = evaluation_pickers(
        _ctx(
            dataset,
            {"eval_key": "eval", "units": "pred", "tags_field": ["ground_truth.detections.attrs"]},
        ),
        inputs,
        dataset,
        ["image_tags"],
    )
    assert not wrong["valid"]
    assert "tag only their own objects" in inputs.properties["tags_field"].error_message


def test_image_tag_fields_and_params(make_dataset):
    dataset = evaluated(make_dataset, "gt")
    assert "image_tags" in image_tag_fields(dataset) and "ground_truth" in image_tag_fields(dataset)
    assert evaluation_params({"eval_key": NO_EVALUATION}) == {}
    assert evaluation_params({}) == {}
    assert evaluation_params({"eval_key": "eval", "units": "pred"}) == {
        "eval_key": "eval",
        "units": "pred",
    }


def test_find_operator_searches_an_evaluation_s_objects(make_dataset):
    import fiftyone.operators as foo

    import fiftyone_prime as fp
    from tests.integration.planted import PLANTED_MODES
    from tests.plugin.test_operators import FIND, resolve_inputs

    dataset = evaluated(make_dataset, "pred")
    props = resolve_inputs(FIND, dataset, {"eval_key": "eval", "units": "pred"})
    assert "label_field" not in props and props["units"].type.values == ["gt", "pred"]
    result = foo.execute_operator(
        FIND,
        dict(view=dataset.view()),
        params={
            "eval_key": "eval",
            "units": "pred",
            "tags_field": ["predictions.detections.attrs"],
            "run_key": "ops",
        },
    )
    assert result.result["num_failure_modes"] == 2
    results = fp.load_failure_modes(dataset, "ops")
    assert results.units == "pred"
    assert [(m.group, m.tags, m.size, m.num_correct) for m in results.failure_modes] == (
        PLANTED_MODES
    )


def test_find_operator_searches_a_regression_evaluation_and_a_numeric_field(make_dataset):
    import fiftyone.operators as foo

    import fiftyone_prime as fp
    from tests.integration.score_data import (
        PLANTED_PAIR,
        PLANTED_PARAMS,
        planted_ids,
        regression_dataset,
    )
    from tests.plugin.test_operators import FIND, resolve_inputs

    dataset = regression_dataset(make_dataset(persistent=True))
    dataset.set_values("quality", [-e for e in dataset.values("reg")])
    props = resolve_inputs(FIND, dataset, {"eval_key": "reg", "run_key": "ops"})
    assert "reg" in props["eval_key"].type.values and SCORE_FIELD in props["eval_key"].type.values
    assert props["score_field"].type.values == ["reg"]
    assert props["min_drop"].type.max is None  # in the score's units (a squared error here)
    thresholds = {**PLANTED_PARAMS, "significant_only": True}
    result = foo.execute_operator(
        FIND,
        dict(view=dataset.view()),
        params={"eval_key": "reg", "tags_field": ["prime_tags"], "run_key": "ops", **thresholds},
    )
    rows = result.result["failure_modes"]
    assert any(r["tags"] == " + ".join(PLANTED_PAIR) and "mean_score" in r for r in rows)
    results = fp.load_failure_modes(dataset, "ops")
    mode = next(m for m in results.failure_modes if m.tags == PLANTED_PAIR)
    assert set(results.load_view(mode).values("id")) == planted_ids(dataset)

    params = {
        "eval_key": SCORE_FIELD,
        "score_field": "quality",
        "higher_is_worse": False,
        "group_field": "cls",
        "tags_field": ["prime_tags"],
        "run_key": "ops_q",
        **thresholds,
    }
    props = resolve_inputs(FIND, dataset, params)
    assert (
        "quality" in props["score_field"].type.values and "cls" in props["group_field"].type.values
    )
    foo.execute_operator(FIND, dict(view=dataset.view()), params=params)
    results = fp.load_failure_modes(dataset, "ops_q")
    assert results.higher_is_worse is False
    assert {m.group for m in results.failure_modes if m.tags == PLANTED_PAIR} == {"cat", "dog"}
