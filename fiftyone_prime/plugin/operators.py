"""Operators over the fiftyone-prime SDK; each one unpacks its form, resolves
the target view and calls one SDK function."""

from __future__ import annotations

import fiftyone.core.utils as fou
import fiftyone.operators as foo
import fiftyone.operators.types as types

import fiftyone_prime as fp
from fiftyone_prime.core.types import DEFAULT_PARAMS
from fiftyone_prime.integration.rows import columns, format_p, mode_row
from fiftyone_prime.integration import fields as fpf
from fiftyone_prime.integration.views import DEFAULT_MAX_VIEWS

from . import forms

PLUGIN_NAME = "@fiftyone-prime/prime"


def _mode_rows(results) -> list[dict]:
    with_metrics = any(m.metrics for m in results.failure_modes)
    return [mode_row(m, with_metrics) for m in results.failure_modes]


def _execute(operator, sample_collection, params, delegate=False):
    """Runs an operator from Python through FiftyOne's operator machinery;
    parameters left as ``None`` take the form's defaults."""
    params = {k: v for k, v in params.items() if v is not None}
    return foo.execute_operator(operator.uri, dict(view=sample_collection.view()),
                                params=params, request_delegation=delegate)


def _invalid(prop, message: str) -> bool:
    """Marks a form property invalid with a one-line reason; returns False."""
    prop.invalid = True
    prop.error_message = message
    return False


def _tags_fields_valid(ctx, inputs, view) -> bool:
    """Checks the chosen tag fields exist and can hold tags, so a bad field is
    a one-line form error rather than a traceback from the search."""
    names = ctx.params.get("tags_fields")
    if names is None or not isinstance(names, list):
        return True  # the form's default, or FiftyOne's own list check
    prop = inputs.properties["tags_fields"]
    if not names:
        return _invalid(prop, "Pick at least one tag field")
    for name in names:
        try:
            fpf.tag_source(view, name)
        except (ValueError, TypeError) as e:
            return _invalid(prop, str(e))
    return True


def _run_key_is_text(ctx, inputs) -> bool:
    """Refuses a run key that is not a string (e.g. ``5`` from Python)."""
    key = ctx.params.get("run_key")
    if key is None or isinstance(key, str):
        return True
    prop = inputs.str("run_key", required=True, label="Run key")
    return _invalid(prop, f"The run key must be text (a Python identifier); got {key!r}")


def _max_views_input(ctx, inputs) -> None:
    """Adds the cap on saved views, with the SDK's default."""
    prop = inputs.int(
        "max_views", default=DEFAULT_MAX_VIEWS, min=0, label="Maximum saved views",
        description="Save views for at most this many failure modes (the largest drops); "
                    "all modes stay in the results",
    )
    value = ctx.params.get("max_views", DEFAULT_MAX_VIEWS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _invalid(prop, f"Maximum saved views must be a whole number >= 0; got {value!r}")


def _progress_callback(ctx, label):
    if not ctx.delegated:
        return None

    def report(pb):
        ctx.set_progress(progress=pb.progress, label=f"{label} ({pb.iteration}/{pb.total})")

    return fou.report_progress(report, dt=1.0)


class FindFailureModes(foo.Operator):
    """Finds PRIME failure modes on the target view and saves them as views."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="find_failure_modes",
            label="PRIME: find failure modes",
            description="Find tag combinations where the classifier's accuracy drops",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        view = ctx.target_view()
        if (forms.field_pickers(ctx, inputs, view) and _tags_fields_valid(ctx, inputs, view)
                and _run_key_is_text(ctx, inputs) and forms.new_run_key(ctx, inputs)):
            forms.search_knobs(inputs)
            inputs.bool("save_views", default=True, label="Save views",
                        description="Save one view per failure mode")
            _max_views_input(ctx, inputs)
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Find failure modes"))

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate", False)

    def execute(self, ctx):
        p = ctx.params
        if ctx.delegated:
            ctx.set_progress(progress=0.0, label="Reading fields and searching")
        results = fp.find_failure_modes(
            ctx.target_view(),
            label_field=p.get("label_field", "ground_truth"),
            pred_field=p.get("pred_field", "predictions"),
            tags_field=(p["tags_fields"] if p.get("tags_fields") is not None
                        else "prime_tags"),
            run_key=p.get("run_key", "prime"),
            **forms.search_params(p).to_dict(),
            save_views=p.get("save_views", True),
            max_views=p.get("max_views", DEFAULT_MAX_VIEWS),
            overwrite=p.get("overwrite", False),
            progress=_progress_callback(ctx, "Saving views"),
        )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        significance = results.significance or {}
        return {
            "run_key": results.key,
            "num_failure_modes": len(results),
            "num_not_significant": significance.get("num_not_significant", 0),
            "num_used": results.num_used,
            "failure_modes": _mode_rows(results),
        }

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_failure_modes", label="Failure modes found")
        outputs.int("num_not_significant", label="Left out as possible chance findings")
        table = types.TableView()
        for column in columns(with_metrics=False):
            table.add_column(column.key, label=column.label)
        table.add_column("view", label="Saved view")
        outputs.list("failure_modes", types.Object(), label="Failure modes", view=table)
        return types.Property(outputs, view=types.View(label="PRIME search complete"))

    def __call__(self, sample_collection, *, label_field="ground_truth",
                 pred_field="predictions", tags_field="prime_tags", run_key="prime",
                 min_size=DEFAULT_PARAMS.min_size, min_drop=DEFAULT_PARAMS.min_drop,
                 min_gain=DEFAULT_PARAMS.min_gain, max_tags=DEFAULT_PARAMS.max_tags,
                 minimal=DEFAULT_PARAMS.minimal, alpha=DEFAULT_PARAMS.alpha,
                 save_views=True, max_views=DEFAULT_MAX_VIEWS, overwrite=False,
                 delegate=False):
        """Runs the operator from Python, through FiftyOne's operator machinery.

        Returns:
            an :class:`fiftyone.operators.executor.ExecutionResult`
        """
        tags_fields = [tags_field] if isinstance(tags_field, str) else list(tags_field)
        params = dict(
            label_field=label_field, pred_field=pred_field, tags_fields=tags_fields,
            run_key=run_key, min_size=min_size, min_drop=min_drop, min_gain=min_gain,
            max_tags=max_tags, minimal=minimal, significant_only=alpha is not None,
            alpha=alpha, save_views=save_views, max_views=max_views, overwrite=overwrite,
            delegate=delegate,
        )
        return _execute(self, sample_collection, params, delegate)


class LoadFailureMode(foo.Operator):
    """Loads the saved view of one failure mode in the App."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="load_failure_mode",
            label="PRIME: load failure mode",
            description="Open the saved view of a failure mode",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        run_key = forms.existing_run_key(ctx, inputs)
        if run_key is not None:
            results = fp.load_failure_modes(ctx.dataset, run_key)
            modes = [m for m in results.sorted("drop") if m.view_name]
            if not modes:
                prop = inputs.view("no_modes", types.Warning(
                    label=f"Run '{run_key}' has no failure modes with saved views"))
                prop.invalid = True
            else:
                choices = types.DropdownView()
                for m in modes:
                    choices.add_choice(
                        m.view_name,
                        label=f"{m.group}: {' + '.join(m.tags)}",
                        description=(f"{m.accuracy:.1%} vs {m.group_accuracy:.1%} for the class, "
                                     f"{m.size} samples, adjusted p {format_p(m.adjusted_p_value)}"),
                    )
                inputs.enum("view_name", choices.values(), required=True,
                            default=choices.values()[0], label="Failure mode", view=choices)
        return types.Property(inputs, view=types.View(label="Load failure mode"))

    def execute(self, ctx):
        name = ctx.params["view_name"]
        if not ctx.dataset.has_saved_view(name):
            raise ValueError(f"The saved view '{name}' no longer exists on this dataset")
        ctx.ops.set_view(name=name)
        return {"view_name": name}

    def __call__(self, sample_collection, run_key, view_name):
        """Runs the operator from Python; returns the execution result."""
        return _execute(self, sample_collection, dict(run_key=run_key, view_name=view_name))


class DeleteFailureModes(foo.Operator):
    """Deletes a failure-mode run and exactly the saved views it created."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_failure_modes",
            label="PRIME: delete failure modes",
            description="Delete a failure-mode run and the views it saved",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        run_key = forms.existing_run_key(ctx, inputs)
        if run_key is not None:
            results = fp.load_failure_modes(ctx.dataset, run_key)
            inputs.view("confirm", types.Warning(
                label=f"This deletes run '{run_key}' and its {len(results.view_names)} saved "
                      "views. Views you saved yourself are kept."))
        return types.Property(inputs, view=types.View(label="Delete failure modes"))

    def execute(self, ctx):
        run_key = ctx.params["run_key"]
        fp.delete_failure_modes(ctx.dataset, run_key)
        ctx.trigger("reload_dataset")
        return {"deleted": run_key}

    def __call__(self, sample_collection, run_key):
        """Runs the operator from Python; returns the execution result."""
        return _execute(self, sample_collection, dict(run_key=run_key))


class TagSamples(foo.Operator):
    """Tags the target view's images with concepts (CLIP zero-shot or pixel properties)."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="tag_samples",
            label="PRIME: tag samples",
            description="Tag images with concepts (CLIP zero-shot or pixel properties)",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        ctx.target_view()
        if forms.tagger_choice(ctx, inputs):
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Tag samples"))

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate", False)

    def execute(self, ctx):
        p = ctx.params
        model, pretrained = forms.model_spec({"backend": "properties", **p})
        vocabulary = forms.vocabulary_param(p)
        summary = fp.compute_tags(
            ctx.target_view(),
            model=model,
            pretrained=pretrained,
            vocabulary=vocabulary,
            tags_field=p.get("tags_field", "prime_tags"),
            top_k=p.get("top_k", 5),
            skip_existing=p.get("skip_existing", False),
            overwrite=p.get("overwrite", False),
            embeddings_field=p.get("embeddings_field") or None,
            progress=_progress_callback(ctx, "Tagging"),
        )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {
            "tagger": summary.tagger,
            "tags_field": summary.tags_field,
            "num_tagged": summary.num_tagged,
            "num_failed": summary.num_failed,
            "num_skipped_existing": summary.num_skipped_existing,
            "images_per_second": round(summary.images_per_second, 1),
        }

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("tagger", label="Tagger")
        outputs.int("num_tagged", label="Samples tagged")
        outputs.int("num_failed", label="Unreadable images skipped")
        outputs.int("num_skipped_existing", label="Samples that already had tags")
        return types.Property(outputs, view=types.View(label="Tagging complete"))

    def __call__(self, sample_collection, *, backend="properties", architecture="ViT-B-32",
                 pretrained=None, hf_model=None, vocabulary=None, tags_field="prime_tags",
                 top_k=5, skip_existing=False, overwrite=False, embeddings_field=None,
                 delegate=False):
        """Runs the operator from Python; returns the execution result."""
        params = dict(backend=backend, architecture=architecture, pretrained=pretrained,
                      hf_model=hf_model, tags_field=tags_field, top_k=top_k,
                      skip_existing=skip_existing, overwrite=overwrite,
                      embeddings_field=embeddings_field, delegate=delegate)
        if vocabulary is None:
            params["vocabulary_source"] = "default"
        elif isinstance(vocabulary, str):
            params.update(vocabulary_source="file", vocabulary_file=vocabulary)
        else:
            params.update(vocabulary_source="list", vocabulary_list="\n".join(vocabulary))
        return _execute(self, sample_collection, params, delegate)


class ComputeFailureModeMetrics(foo.Operator):
    """Scores a run's failure modes with a CLIP model (similarity, coherency, AUROC)."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="compute_failure_mode_metrics",
            label="PRIME: compute failure-mode metrics",
            description="Score how well each failure mode's caption describes its images",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        if forms.existing_run_key(ctx, inputs) is not None and forms.clip_model_choice(ctx, inputs):
            inputs.str("caption_template", default="a photo of a {cls} with {tags}",
                       required=True, label="Caption template",
                       description="The caption of a failure mode, with {cls} and {tags}")
            inputs.str("embeddings_field", label="Embeddings field",
                       description="Optional: reuse image embeddings stored by the same model")
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Compute failure-mode metrics"))

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate", False)

    def execute(self, ctx):
        p = ctx.params
        model, pretrained = forms.model_spec(p)
        results = fp.compute_failure_mode_metrics(
            ctx.dataset,
            p["run_key"],
            model=model,
            pretrained=pretrained,
            caption_template=p.get("caption_template", "a photo of a {cls} with {tags}"),
            embeddings_field=p.get("embeddings_field") or None,
            progress=_progress_callback(ctx, "Encoding images"),
        )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {"run_key": results.key, "num_scored": sum(bool(m.metrics) for m in results.failure_modes),
                "model": (results.metrics_info or {}).get("model")}

    def __call__(self, sample_collection, run_key, *, backend="open_clip", architecture="ViT-B-32",
                 pretrained="default", hf_model=None, caption_template="a photo of a {cls} with {tags}",
                 embeddings_field=None, delegate=False):
        """Runs the operator from Python; returns the execution result."""
        params = dict(run_key=run_key, backend=backend, architecture=architecture,
                      pretrained=pretrained, hf_model=hf_model, caption_template=caption_template,
                      embeddings_field=embeddings_field, delegate=delegate)
        return _execute(self, sample_collection, params, delegate)
