"""The operators, executed through FiftyOne's real operator machinery."""

import pytest
import yaml

import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionContext, ExecutionError, ExecutionRunState
from fiftyone.operators.registry import OperatorRegistry

import fiftyone_prime as fp
from tests.fo_env import REPO_ROOT
from tests.helpers import summary
from tests.integration.planted import PLANTED_MODES

PLUGIN = "@fiftyone-prime/prime"
FIND = f"{PLUGIN}/find_failure_modes"
LOAD = f"{PLUGIN}/load_failure_mode"
DELETE = f"{PLUGIN}/delete_failure_modes"


def resolve_inputs(uri, dataset, params):
    registry = OperatorRegistry()
    operator = registry.get_operator(uri)
    ctx = ExecutionContext(
        dict(dataset_name=dataset.name, view=dataset.view()._serialize(), params=params),
        operator_uri=uri,
    )
    return operator.resolve_input(ctx).type.properties


def test_every_registered_operator_is_listed_in_the_manifest():
    manifest = yaml.safe_load((REPO_ROOT / "fiftyone.yml").read_text())
    registered = {op.uri for op in foo.list_operators() if op.plugin_name == PLUGIN}
    listed = manifest["operators"] + manifest["panels"]
    assert registered == {f"{PLUGIN}/{name}" for name in listed}
    assert registered == {
        FIND,
        LOAD,
        DELETE,
        f"{PLUGIN}/tag_samples",
        f"{PLUGIN}/compute_failure_mode_metrics",
        f"{PLUGIN}/prime_failure_modes",
        f"{PLUGIN}/prime_failure_modes_count",
        f"{PLUGIN}/prime_max_drop",
        f"{PLUGIN}/tagging_status",
        f"{PLUGIN}/requeue_tagging",
        f"{PLUGIN}/tag_shard",
        f"{PLUGIN}/search_after_tagging",
        f"{PLUGIN}/evaluate_tags",
        f"{PLUGIN}/find_regressions",
        f"{PLUGIN}/check_failure_modes",
        f"{PLUGIN}/test_hypotheses",
        f"{PLUGIN}/find_more_like",
        f"{PLUGIN}/propose_hypotheses",
    }


def test_find_form_offers_only_fitting_fields(planted):
    props = resolve_inputs(FIND, planted, {})
    assert props["label_field"].type.values == ["ground_truth", "predictions"]
    tag_choices = [c.value for c in props["tags_field"].view.choices]
    assert tag_choices == [
        "ground_truth",
        "objects",
        "predictions",
        "prime_tags",
        "tag_list",
        "tags",
    ]
    assert props["tags_field"].default == ["prime_tags"]
    assert props["min_size"].default == 30 and props["max_tags"].default == 3


def test_find_form_validates_the_run_key(planted):
    props = resolve_inputs(FIND, planted, {"run_key": "not valid"})
    assert props["run_key"].invalid and "identifier" in props["run_key"].error_message
    fp.find_failure_modes(planted, run_key="prime")
    props = resolve_inputs(FIND, planted, {"run_key": "prime"})
    assert props["run_key"].invalid and "overwrite=True" in props["run_key"].error_message
    props = resolve_inputs(FIND, planted, {"run_key": "prime", "overwrite": True})
    assert not props["run_key"].invalid


def test_find_runs_immediately_through_execute_operator(planted):
    result = foo.execute_operator(
        FIND,
        dict(view=planted.view()),
        params={
            "label_field": "ground_truth",
            "pred_field": "predictions",
            "tags_field": ["prime_tags"],
            "run_key": "ops",
        },
    )
    assert result.result["num_failure_modes"] == 2
    assert [r["tags"] for r in result.result["failure_modes"]] == ["night + snow", "blur"]
    assert summary(fp.load_failure_modes(planted, "ops")) == PLANTED_MODES
    assert planted.list_saved_views() == ["ops cat: night + snow", "ops dog: blur"]


def test_find_builds_search_params_once_from_the_form(planted, monkeypatch):
    from fiftyone_prime.plugin import forms
    from tests.integration.failure_modes.test_failure_modes import record_params_walk

    walk = record_params_walk(monkeypatch)
    from_form = []
    search_params = forms.search_params

    def recording(params, scored=False):
        built = search_params(params, scored)
        from_form.append((built, walk["built"]))
        return built

    monkeypatch.setattr(forms, "search_params", recording)
    result = foo.get_operator(FIND)(planted, run_key="walk", min_size=35, max_tags=2, alpha=None)
    assert result.result["num_failure_modes"] == 2
    [(params, built)] = walk["reached"]
    # The object the core searches is the one execute() built from the form
    # (the form's own check built others while resolving its inputs).
    assert from_form[-1] == (params, built) and from_form[-1][0] is params
    assert (params.min_size, params.max_tags, params.alpha) == (35, 2, None)
    assert fp.load_failure_modes(planted, "walk").config.search_params == params.to_dict()


def test_find_form_caps_max_tags_at_the_project_limit(planted):
    from fiftyone_prime.core.defaults import MAX_TAGS_LIMIT

    props = resolve_inputs(FIND, planted, {})
    assert props["max_tags"].type.max == MAX_TAGS_LIMIT


def test_find_via_call_on_a_view(planted):
    op = foo.get_operator(FIND)
    view = planted.limit(200)  # the 200 cat samples come first
    result = op(view, run_key="cats", tags_field="tag_list")
    assert result.result["num_failure_modes"] == 1
    assert len(planted.load_run_view("cats")) == 200


def test_find_errors_change_nothing(planted):
    op = foo.get_operator(FIND)
    with pytest.raises(ExecutionError, match=r"label_field\. Reason: Invalid enum value"):
        op(planted, label_field="tag_list")
    assert planted.list_runs() == [] and planted.list_saved_views() == []
    op(planted, run_key="prime", max_tags=1)
    with pytest.raises(ExecutionError, match="run_key"):
        op(planted, run_key="prime")
    assert len(fp.load_failure_modes(planted, "prime")) == 1


def test_find_delegated_is_queued_then_executed(planted):
    op = foo.get_operator(FIND)
    queued = op(planted, run_key="later", delegate=True)
    assert queued.delegated
    service = DelegatedOperationService()
    ops = service.list_operations(operator=FIND, dataset_name=planted.name)
    assert [o.run_state for o in ops] == [ExecutionRunState.QUEUED]
    assert "later" not in planted.list_runs()

    service.execute_queued_operations(operator=FIND, dataset_name=planted.name)
    done = service.get(ops[0].id)
    assert done.run_state == ExecutionRunState.COMPLETED, done.result
    assert done.result.result["num_failure_modes"] == 2
    planted.reload()
    assert summary(fp.load_failure_modes(planted, "later")) == PLANTED_MODES
    assert done.status is not None and done.status.label.startswith("Saving views")


def test_load_failure_mode_sets_the_saved_view(planted):
    fp.find_failure_modes(planted, run_key="prime")
    props = resolve_inputs(LOAD, planted, {"run_key": "prime"})
    assert props["view_name"].type.values == ["prime cat: night + snow", "prime dog: blur"]
    result = foo.get_operator(LOAD)(planted, "prime", "prime dog: blur")
    assert result.result == {"view_name": "prime dog: blur"}
    with pytest.raises(ExecutionError, match=r"view_name\. Reason: Invalid enum value"):
        foo.get_operator(LOAD)(planted, "prime", "gone")


def test_load_and_delete_forms_without_runs_say_so(planted):
    for uri in (LOAD, DELETE):
        props = resolve_inputs(uri, planted, {})
        assert props["no_runs"].invalid


def test_delete_failure_modes_removes_the_run_and_its_views(planted):
    fp.find_failure_modes(planted, run_key="prime")
    planted.save_view("mine", planted.limit(2))
    result = foo.get_operator(DELETE)(planted, "prime")
    assert result.result == {"deleted": "prime"}
    planted.reload()
    assert fp.list_failure_mode_runs(planted) == []
    assert planted.list_saved_views() == ["mine"]


TAG = f"{PLUGIN}/tag_samples"


IMAGE_DATASET = {"size": 16, "count": 12}  # the conftest's image_dataset


def test_tag_form_has_the_sdks_names_and_defaults(image_dataset):
    from fiftyone_prime.models import DEFAULT_MODEL

    props = resolve_inputs(TAG, image_dataset, {})
    assert props["model"].default == DEFAULT_MODEL and props["pretrained"].default == "default"
    assert props["tags_field"].default == "prime_tags" and "vocabulary_source" in props
    props = resolve_inputs(TAG, image_dataset, {"model": "properties"})
    assert "pretrained" not in props and "vocabulary_source" not in props
    props = resolve_inputs(TAG, image_dataset, {"vocabulary_source": "list"})
    assert "vocabulary" in props


def test_tag_samples_immediately_and_delegated(image_dataset):
    op = foo.get_operator(TAG)
    result = op(image_dataset.limit(6), model="properties", tags_field="props")
    assert result.result["num_tagged"] == 6 and result.result["tagger"] == "properties"
    queued = op(
        image_dataset, model="properties", tags_field="props", skip_existing=True, delegate=True
    )
    assert queued.delegated
    service = DelegatedOperationService()
    service.execute_queued_operations(operator=TAG, dataset_name=image_dataset.name)
    (done,) = service.list_operations(operator=TAG, dataset_name=image_dataset.name)
    assert done.run_state == ExecutionRunState.COMPLETED, done.result
    assert done.result.result["num_tagged"] == 6
    assert done.result.result["num_skipped_existing"] == 6
    image_dataset.reload()
    assert image_dataset.exists("props").count() == 12


@pytest.mark.slow  # a CLIP model from a checkpoint file, through the operator, end to end
def test_metrics_operator_with_a_local_checkpoint(make_dataset, tmp_path):
    import torch

    from fiftyone_prime.models import DEFAULT_MODEL, load_encoder
    from tests.integration.planted import planted_with_images
    from tests.tiny_models import register_tiny_open_clip

    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pt"
    torch.save(
        load_encoder(f"open_clip:{name}", pretrained=None, device="cpu")._model.state_dict(),
        checkpoint,
    )
    dataset = planted_with_images(make_dataset, tmp_path, size=(16, 16), persistent=True)
    fp.find_failure_modes(dataset)
    props = resolve_inputs(f"{PLUGIN}/compute_failure_mode_metrics", dataset, {})
    assert props["run_key"].default == "prime" and props["model"].default == DEFAULT_MODEL
    result = foo.get_operator(f"{PLUGIN}/compute_failure_mode_metrics")(
        dataset, "prime", model=f"open_clip:{name}", pretrained=str(checkpoint)
    )
    assert result.result["num_scored"] == 2
    assert result.result["model"] == f"open_clip:{name}@tiny.pt"
    assert all("auroc" in m.metrics for m in fp.load_failure_modes(dataset, "prime").failure_modes)


def test_find_form_defaults_are_the_sdks_and_include_significance(planted):
    from fiftyone_prime.core import DEFAULT_PARAMS

    props = resolve_inputs(FIND, planted, {})
    for name, value in DEFAULT_PARAMS.to_dict().items():
        assert props[name].default == value, name
    assert props["significant_only"].default is True


def test_find_operator_can_keep_every_mode_and_shows_p_values(planted):
    result = foo.execute_operator(
        FIND,
        dict(view=planted.view()),
        params={
            "label_field": "ground_truth",
            "pred_field": "predictions",
            "tags_field": ["prime_tags"],
            "run_key": "all",
            "significant_only": False,
            "min_size": 5,
        },
    )
    results = fp.load_failure_modes(planted, "all")
    assert results.config.params.alpha is None and results.config.params.min_size == 5
    rows = result.result["failure_modes"]
    assert len(rows) == len(results) >= 2
    assert [r["adjusted_p_value"] for r in rows] == [
        fp_format_p(m.adjusted_p_value) for m in results.failure_modes
    ]
    assert rows[0]["accuracy_ci"] == "12.7–41.2%"
    with pytest.raises(ExecutionError, match="alpha"):
        foo.execute_operator(
            FIND,
            dict(view=planted.view()),
            params={
                "label_field": "ground_truth",
                "pred_field": "predictions",
                "tags_field": ["prime_tags"],
                "run_key": "bad",
                "alpha": 2.0,
            },
        )
    assert "bad" not in planted.list_runs()


def fp_format_p(p):
    from fiftyone_prime.integration.runs.rows import format_p

    return format_p(p)
