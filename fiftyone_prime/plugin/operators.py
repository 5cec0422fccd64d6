"""Operators over the fiftyone-prime SDK: each one unpacks its form, resolves
the target view and calls one SDK function, imported here from the module
that defines it."""

from __future__ import annotations

import fiftyone.operators.types as types

from fiftyone_prime.core.captions import DEFAULT_CAPTION_TEMPLATE
from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD, RUN_KEY, SCORINGS, TAGS_FIELD
from fiftyone_prime.integration.failure_modes.metrics import compute_failure_mode_metrics
from fiftyone_prime.integration.failure_modes.search import search_failure_modes
from fiftyone_prime.integration.runs.rows import (
    COLUMNS,
    SCORE_COLUMNS,
    columns,
    mode_row,
)
from fiftyone_prime.integration.runs.run_store import delete_failure_modes, load_failure_modes
from fiftyone_prime.integration.runs.views import DEFAULT_MAX_VIEWS
from fiftyone_prime.integration.tagging.images import compute_tags
from fiftyone_prime.models import DEFAULT_MODEL

from . import evaluation_form, form_checks, forms, vocab_files, workers
from .execution import FormOperator, as_list, call

PLUGIN_NAME = "@fiftyone-prime/prime"


def _mode_rows(results) -> list[dict]:
    with_metrics = any(m.metrics for m in results.failure_modes)
    return [mode_row(m, with_metrics) for m in results.failure_modes]


class FindFailureModes(FormOperator):
    """Finds PRIME failure modes on the target view and saves them as views."""

    NAME = "find_failure_modes"
    LABEL = "PRIME: find failure modes"
    DESCRIPTION = "Find tag combinations where the classifier's accuracy drops"
    DELEGABLE = True

    def resolve_input(self, ctx):
        inputs = types.Object()
        view = ctx.target_view()
        # An evaluation run's units (samples, or gt/pred objects) or the label fields.
        chosen = evaluation_form.evaluation_pickers(
            ctx, inputs, view, evaluation_form.image_tag_fields(view)
        )
        if chosen is None:  # label fields: one label per sample, or a multilabel classifier
            multilabel = forms.multilabel_choice(ctx, inputs, view)
            fields_ok = forms.field_pickers(ctx, inputs, view, multilabel=multilabel)
        else:
            fields_ok = chosen["valid"]
        if fields_ok and forms.new_run_key(ctx, inputs):
            scored = evaluation_form.scores_searched(view, ctx.params)
            forms.search_knobs(ctx, inputs, scored)
            forms.view_options(ctx, inputs)
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Find failure modes"))

    def execute(self, ctx):
        p = ctx.params
        view = ctx.target_view()
        results = call(
            ctx,
            search_failure_modes,
            view,
            forms.search_params(p, evaluation_form.scores_searched(view, p)),
            **forms.field_values(p),
            **forms.saving_values(p),
            **(evaluation_form.evaluation_params(p) or forms.multilabel_values(p)),
            start="Reading fields and searching",
            progress_label="Saving views",
        )
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
        scored = evaluation_form.scores_searched(ctx.target_view(), ctx.params)
        for column in columns(with_metrics=False, base=SCORE_COLUMNS if scored else COLUMNS):
            table.add_column(column.key, label=column.label)
        table.add_column("view", label="Saved view")
        outputs.list("failure_modes", types.Object(), label="Failure modes", view=table)
        return types.Property(outputs, view=types.View(label="PRIME search complete"))

    @forms.takes_search_params
    def __call__(
        self,
        sample_collection,
        *,
        label_field=LABEL_FIELD,
        pred_field=PRED_FIELD,
        tags_field=TAGS_FIELD,
        run_key=RUN_KEY,
        save_views=True,
        max_views=DEFAULT_MAX_VIEWS,
        overwrite=False,
        delegate=False,
        units=None,
        confidence_thresh=None,
        **search,
    ):
        """Runs the operator from Python, through FiftyOne's operator machinery;
        the arguments are those of :func:`fiftyone_prime.find_failure_modes`
        (``**search``: ``min_size``, ``min_drop``, ``min_gain``,
        ``max_tags``, ``minimal``, ``alpha``, ``error_control``;
        ``units`` and ``confidence_thresh`` for a multilabel classifier).

        Returns:
            an :class:`fiftyone.operators.executor.ExecutionResult`
        """
        params = dict(
            label_field=label_field,
            pred_field=pred_field,
            tags_field=as_list(tags_field),
            run_key=run_key,
            save_views=save_views,
            max_views=max_views,
            overwrite=overwrite,
            delegate=delegate,
            **forms.search_values(search),
            **forms.multilabel_params(
                sample_collection,
                units,
                confidence_thresh,
                label_field=label_field,
                pred_field=pred_field,
            ),
        )
        return self.run_from_python(sample_collection, params, delegate)


class LoadFailureMode(FormOperator):
    """Loads the saved view of one failure mode in the App."""

    NAME = "load_failure_mode"
    LABEL = "PRIME: load failure mode"
    DESCRIPTION = "Open the saved view of a failure mode"

    def resolve_input(self, ctx):
        inputs = types.Object()
        forms.saved_mode_choice(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Load failure mode"))

    def execute(self, ctx):
        name = ctx.params["view_name"]
        if not ctx.dataset.has_saved_view(name):
            raise ValueError(f"The saved view '{name}' no longer exists on this dataset")
        ctx.ops.set_view(name=name)
        return {"view_name": name}

    def __call__(self, sample_collection, run_key, view_name):
        """Runs the operator from Python; returns the execution result."""
        return self.run_from_python(sample_collection, dict(run_key=run_key, view_name=view_name))


class DeleteFailureModes(FormOperator):
    """Deletes a failure-mode run and exactly the saved views it created."""

    NAME = "delete_failure_modes"
    LABEL = "PRIME: delete failure modes"
    DESCRIPTION = "Delete a failure-mode run and the views it saved"

    def resolve_input(self, ctx):
        inputs = types.Object()
        run_key = forms.existing_run_key(ctx, inputs)
        if run_key is not None:
            results = load_failure_modes(ctx.dataset, run_key)
            inputs.view(
                "confirm",
                types.Warning(
                    label=f"This deletes run '{run_key}' and its {len(results.view_names)} saved "
                    "views. Views you saved yourself are kept."
                ),
            )
        return types.Property(inputs, view=types.View(label="Delete failure modes"))

    def execute(self, ctx):
        run_key = ctx.params["run_key"]
        call(ctx, delete_failure_modes, ctx.dataset, run_key)
        return {"deleted": run_key}

    def __call__(self, sample_collection, run_key):
        """Runs the operator from Python; returns the execution result."""
        return self.run_from_python(sample_collection, dict(run_key=run_key))


class TagSamples(FormOperator):
    """Tags the target view's images with concepts (CLIP zero-shot or pixel properties)."""

    NAME = "tag_samples"
    LABEL = "PRIME: tag samples"
    DESCRIPTION = "Tag images with concepts (CLIP zero-shot or pixel properties)"
    DELEGABLE = True

    def resolve_input(self, ctx):
        inputs = types.Object()
        model = forms.model_choice(ctx, inputs, allow_properties=True)
        if model != "properties":
            vocab_files.vocabulary_choice(ctx, inputs)
            inputs.enum(
                "scoring",
                list(SCORINGS),
                default="auto",
                label="Scoring",
                description="auto: each tag's own probability for SigLIP-like models, a "
                "per-tag calibrated threshold for CLIP; softmax: version 0.1's top-k",
                view=forms.dropdown(list(SCORINGS)),
            )
            inputs.int(
                "top_k",
                min=1,
                label="Most tags per image",
                description="Optional cap on the tags kept per image (softmax keeps 5 without it)",
            )
            inputs.str(
                "embeddings_field",
                label="Embeddings field",
                description="Optional: also store each image's embedding here",
            )
        inputs.str(
            "tags_field",
            default=TAGS_FIELD,
            required=True,
            label="Tags field",
            **form_checks.tags_field_error(ctx),
        )
        inputs.bool(
            "skip_existing",
            default=False,
            label="Skip samples that have tags",
            description="Continue an interrupted run",
        )
        inputs.bool("overwrite", default=False, label="Re-tag samples that have tags")
        if workers.sharding_inputs(ctx, inputs, model) == 1:
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Tag samples"))

    def resolve_delegation(self, ctx):
        # A split job is queued immediately, as N delegated operations.
        return ctx.params.get("delegate", False) and (ctx.params.get("num_shards") or 1) == 1

    def execute(self, ctx):
        p = ctx.params
        kwargs = dict(
            **forms.model_params(p),
            vocabulary=vocab_files.vocabulary_param(ctx),
            tags_field=p.get("tags_field", TAGS_FIELD),
            top_k=p.get("top_k") or None,
            scoring=p.get("scoring") or "auto",
            overwrite=p.get("overwrite", False),
            embeddings_field=p.get("embeddings_field") or None,
        )
        if (p.get("num_shards") or 1) > 1:
            return workers.queue_from_form(ctx, kwargs)
        summary = call(
            ctx,
            compute_tags,
            ctx.target_view(),
            **kwargs,
            skip_existing=p.get("skip_existing", False),
            progress_label="Tagging",
        )
        return {
            "tagger": summary.tagger,
            "tags_field": summary.tags_field,
            "num_tagged": summary.num_tagged,
            "num_failed": summary.num_failed,
            "num_skipped_existing": summary.num_skipped_existing,
            "images_per_second": round(summary.images_per_second, 1),
        }

    def resolve_output(self, ctx):
        if (ctx.params.get("num_shards") or 1) > 1:
            return workers.queued_output()
        outputs = types.Object()
        outputs.str("tagger", label="Tagger")
        outputs.int("num_tagged", label="Samples tagged")
        outputs.int("num_failed", label="Unreadable images skipped")
        outputs.int("num_skipped_existing", label="Samples that already had tags")
        return types.Property(outputs, view=types.View(label="Tagging complete"))

    def __call__(
        self,
        sample_collection,
        *,
        model=DEFAULT_MODEL,
        pretrained="default",
        vocabulary=None,
        tags_field=TAGS_FIELD,
        top_k=None,
        scoring="auto",
        skip_existing=False,
        overwrite=False,
        embeddings_field=None,
        delegate=False,
        num_shards=1,
        search_after=False,
        run_key=RUN_KEY,
        label_field=LABEL_FIELD,
        pred_field=PRED_FIELD,
        overwrite_run=False,
        metrics_after=False,
    ):
        """Runs the operator from Python; the arguments are those of
        :func:`fiftyone_prime.compute_tags`, and with ``num_shards > 1`` those
        of :func:`fiftyone_prime.queue_tagging` (``search_after`` queues the
        search with ``run_key``, ``label_field``, ``pred_field`` and
        ``overwrite_run``). Returns the execution result."""
        params = dict(
            model=model,
            pretrained=pretrained,
            tags_field=tags_field,
            top_k=top_k,
            scoring=scoring,
            skip_existing=skip_existing,
            overwrite=overwrite,
            embeddings_field=embeddings_field,
            delegate=delegate,
            num_shards=num_shards,
            search_after=search_after,
            run_key=run_key,
            label_field=label_field,
            pred_field=pred_field,
            overwrite_run=overwrite_run,
            metrics_after=metrics_after,
        )
        if vocabulary is None:
            params["vocabulary_source"] = "default"
        elif isinstance(vocabulary, str):
            params.update(vocabulary_source="file", vocabulary=vocabulary)
        else:
            params.update(vocabulary_source="list", vocabulary="\n".join(vocabulary))
        return self.run_from_python(sample_collection, params, delegate and num_shards == 1)


class ComputeFailureModeMetrics(FormOperator):
    """Scores a run's failure modes with a CLIP model (similarity, coherency, AUROC)."""

    NAME = "compute_failure_mode_metrics"
    LABEL = "PRIME: compute failure-mode metrics"
    DESCRIPTION = "Score how well each failure mode's caption describes its images"
    DELEGABLE = True

    def resolve_input(self, ctx):
        inputs = types.Object()
        if forms.existing_run_key(ctx, inputs) is not None:
            forms.model_choice(ctx, inputs, allow_properties=False)
            forms.caption_template_input(inputs)
            inputs.str(
                "embeddings_field",
                label="Embeddings field",
                description="Optional: reuse image embeddings stored by the same model",
            )
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Compute failure-mode metrics"))

    def execute(self, ctx):
        p = ctx.params
        results = call(
            ctx,
            compute_failure_mode_metrics,
            ctx.dataset,
            p["run_key"],
            **forms.model_params(p),
            caption_template=p.get("caption_template", DEFAULT_CAPTION_TEMPLATE),
            embeddings_field=p.get("embeddings_field") or None,
            progress_label="Encoding images",
        )
        return {
            "run_key": results.key,
            "num_scored": sum(bool(m.metrics) for m in results.failure_modes),
            "model": (results.metrics_info or {}).get("model"),
        }

    def __call__(
        self,
        sample_collection,
        run_key,
        *,
        model=DEFAULT_MODEL,
        pretrained="default",
        caption_template=DEFAULT_CAPTION_TEMPLATE,
        embeddings_field=None,
        delegate=False,
    ):
        """Runs the operator from Python; the arguments are those of
        :func:`fiftyone_prime.compute_failure_mode_metrics`. Returns the
        execution result."""
        params = dict(
            run_key=run_key,
            model=model,
            pretrained=pretrained,
            caption_template=caption_template,
            embeddings_field=embeddings_field,
            delegate=delegate,
        )
        return self.run_from_python(sample_collection, params, delegate)
