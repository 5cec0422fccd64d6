"""Issue 34 item 8: valid but unusual data gets one clear line naming the
field, the value and what to do (each test fails on the code before it)."""

import bson
import pytest

import fiftyone as fo
import fiftyone.operators.types as types
from fiftyone.operators.executor import ExecutionContext

import fiftyone_prime as fp
from tests.integration.planted import add_planted


def _one_line(error) -> str:
    text = str(error.value)
    assert len(text.splitlines()) == 1, text
    return text


def test_a_tag_without_a_label_is_no_tag_in_the_audit(planted):
    sample = planted.first()
    sample.prime_tags.classifications.append(fo.Classification(label=None))
    sample.save()
    audit = fp.evaluate_tags(planted)
    assert audit.num_evaluated == len(planted)
    assert None not in audit.unmatched_tags and "snow" in audit.unmatched_tags


@pytest.mark.parametrize(
    "value, shown",
    [
        (1.5, "1.5 (float)"),
        (["b"], "['b'] (list)"),
        ({"a": 1}, "{'a': 1} (dict)"),
        (bson.Binary(b"\xff\xfe"), "(bytes)"),
    ],
)
def test_tags_that_are_not_strings_name_the_field_value_and_sample(planted, value, shown):
    first = planted.first()
    planted._sample_collection.update_one({"_id": first._id}, {"$set": {"tag_list": ["a", value]}})
    with pytest.raises(TypeError) as error:
        fp.find_failure_modes(planted, tags_field="tag_list", run_key="x")
    text = _one_line(error)
    assert "the field 'tag_list'" in text and shown in text and "sample 0" in text
    assert "must be strings" in text
    assert "x" not in planted.list_runs()


def test_an_int_reference_label_names_the_field_in_the_audit(planted):
    first = planted.first()
    planted._sample_collection.update_one({"_id": first._id}, {"$set": {"ground_truth.label": 7}})
    with pytest.raises(TypeError) as error:
        fp.evaluate_tags(planted)
    text = _one_line(error)
    assert "`reference_field`: the field 'ground_truth' holds 7 (int) on sample 0" in text


def test_patches_views_are_not_supported(make_dataset):
    dataset = add_planted(make_dataset())
    patches = dataset.to_patches("objects")
    for call in (
        lambda: fp.find_failure_modes(patches, run_key="p"),
        lambda: fp.evaluate_tags(patches),
        lambda: fp.find_regressions(patches, baseline_field="predictions", run_key="r"),
    ):
        with pytest.raises(ValueError) as error:
            call()
        assert "does not support patches views" in _one_line(error)
    assert dataset.list_runs() == []


def test_validating_on_data_without_the_evaluation_says_so(make_dataset):
    searched = add_planted(make_dataset())
    searched.evaluate_classifications("predictions", gt_field="ground_truth", eval_key="ev")
    results = fp.find_failure_modes(searched, eval_key="ev", run_key="er")
    holdout = add_planted(make_dataset())
    with pytest.raises(ValueError) as error:
        fp.validate_failure_modes(results, holdout)
    text = _one_line(error)
    assert f"Dataset '{holdout.name}' has no evaluation 'ev'" in text
    assert "eval_key='ev'" in text


def test_the_form_says_a_deleted_evaluation_is_gone(make_dataset):
    from fiftyone_prime.plugin.evaluation_form import evaluation_pickers

    dataset = add_planted(make_dataset())
    dataset.evaluate_classifications("predictions", gt_field="ground_truth", eval_key="ev")
    ctx = ExecutionContext(
        dict(
            dataset_name=dataset.name,
            view=dataset.view()._serialize(),
            params={"eval_key": "gone"},
        )
    )
    inputs = types.Object()
    chosen = evaluation_pickers(ctx, inputs, dataset, ["prime_tags"])
    assert chosen["valid"] is False
    assert "'gone' no longer exists" in inputs.properties["eval_key"].error_message


def test_the_panel_refuses_a_fraction_and_reads_a_list_of_classes(planted):
    from fiftyone_prime.plugin.panel import explore_params

    fp.find_failure_modes(planted, run_key="prime")
    with pytest.raises(ValueError, match=r"`min_size` must be a whole number; got 2\.7"):
        explore_params(planted, "prime", {"min_size": 2.7})
    with pytest.raises(ValueError, match="`min_drop` must be a number; got 'abc'"):
        explore_params(planted, "prime", {"min_drop": "abc"})
    assert explore_params(planted, "prime", {"min_size": "35"}).min_size == 35
    from fiftyone_prime.plugin.panel import explore_classes

    assert explore_classes(["cat", " dog "]) == ["cat", "dog"]
    assert explore_classes("cat, dog") == ["cat", "dog"]
    assert explore_classes("") is None and explore_classes(None) is None
