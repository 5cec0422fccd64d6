"""Operator input checks: one-line reasons instead of tracebacks, max_views."""

import pytest

import fiftyone.operators as foo
from fiftyone.operators.executor import ExecutionError

import fiftyone_prime as fp
from fiftyone_prime.integration.runs.views import DEFAULT_MAX_VIEWS
from tests.plugin.test_operators import FIND, resolve_inputs


def _one_line_error(planted, **kwargs):
    with pytest.raises(ExecutionError) as info:
        foo.get_operator(FIND)(planted, **kwargs)
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message.strip()
    assert planted.list_runs() == [] and planted.list_saved_views() == []
    return message


def test_a_run_key_that_is_not_text_is_a_form_error(planted):
    props = resolve_inputs(FIND, planted, {"run_key": 5})
    assert props["run_key"].invalid and "got 5" in props["run_key"].error_message
    assert "must be text" in _one_line_error(planted, run_key=5)


def test_an_empty_tag_field_list_is_refused_not_replaced(planted):
    props = resolve_inputs(FIND, planted, {"tags_field": []})
    assert props["tags_field"].invalid
    assert "at least one tag field" in _one_line_error(planted, tags_field=[])


@pytest.mark.parametrize(
    "field, match",
    [
        ("no_such_field", "does not exist"),
        ("filepath", "must be a Classifications"),
    ],
)
def test_a_bad_tag_field_is_a_one_line_error(planted, field, match):
    assert match in _one_line_error(planted, tags_field=field)


def test_find_form_caps_saved_views_with_the_sdk_default(planted):
    props = resolve_inputs(FIND, planted, {})
    assert props["max_views"].default == DEFAULT_MAX_VIEWS
    props = resolve_inputs(FIND, planted, {"max_views": -3})
    assert props["max_views"].invalid and "-3" in props["max_views"].error_message
    result = foo.get_operator(FIND)(planted, max_views=1)
    assert result.result["num_failure_modes"] == 2
    assert [r["view"] for r in result.result["failure_modes"]] == ["prime cat: night + snow", ""]
    assert fp.load_failure_modes(planted, "prime").config.max_views == 1


def test_form_errors_always_give_a_reason(planted, make_dataset):
    from tests.plugin.test_operators import LOAD

    props = resolve_inputs(
        FIND, planted, {"label_field": "ground_truth", "pred_field": "ground_truth"}
    )
    assert props["pred_field"].invalid and "must differ" in props["pred_field"].error_message
    props = resolve_inputs(LOAD, planted, {})
    assert props["no_runs"].invalid and "no failure-mode runs" in props["no_runs"].error_message
    bare = make_dataset(persistent=True)
    props = resolve_inputs(FIND, bare, {})
    assert props["no_fields"].invalid and "Classification" in props["no_fields"].error_message


@pytest.mark.parametrize("alpha", [0.0, 0])
def test_an_impossible_alpha_is_a_form_error_before_the_run(planted, alpha):
    props = resolve_inputs(FIND, planted, {"alpha": alpha})
    assert props["alpha"].invalid and "`alpha` must be in (0, 1]" in props["alpha"].error_message


def test_default_fields_never_clash_when_the_sdk_names_are_missing(make_dataset):
    import fiftyone as fo

    dataset = make_dataset(persistent=True)
    dataset.add_sample(
        fo.Sample(
            filepath="/nonexistent/a.jpg",
            ground_truth=fo.Classification(label="cat"),
            resnet=fo.Classification(label="dog"),
            vit=fo.Classification(label="cat"),
            tags=["night"],
        )
    )
    props = resolve_inputs(FIND, dataset, {})
    assert (props["label_field"].default, props["pred_field"].default) == ("ground_truth", "resnet")
    assert not props["pred_field"].invalid
    compare = resolve_inputs("@fiftyone-prime/prime/find_regressions", dataset, {})
    defaults = [compare[n].default for n in ("label_field", "baseline_field", "pred_field")]
    assert defaults == ["ground_truth", "resnet", "vit"] and not compare["pred_field"].invalid
    # the SDK's prediction field is there, its ground-truth field is not
    renamed = make_dataset(persistent=True)
    renamed.add_sample(
        fo.Sample(
            filepath="/nonexistent/b.jpg",
            predictions=fo.Classification(label="dog"),
            truth=fo.Classification(label="cat"),
            tags=["night"],
        )
    )
    props = resolve_inputs(FIND, renamed, {})
    assert (props["label_field"].default, props["pred_field"].default) == ("truth", "predictions")
    assert not props["pred_field"].invalid
