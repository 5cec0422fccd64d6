"""Operators for comparing two models and for checking saved failure modes.

``find_regressions`` is a form over :func:`fiftyone_prime.find_regressions`
and ``check_failure_modes`` a form over
:func:`fiftyone_prime.check_failure_modes`; both run immediately or
delegated.
"""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators.types as types

from fiftyone_prime.core.defaults import LABEL_FIELD, TAGS_FIELD
from fiftyone_prime.integration.comparisons.checks import check_failure_modes
from fiftyone_prime.integration.comparisons.regressions import (
    ALIASES_COLUMN,
    REGRESSION_COLUMNS,
    RUN_KEY,
    RegressionRun,
    _validate_new_key,
    regression_row,
    search_regressions,
)
from fiftyone_prime.integration.reading import units as fpu
from fiftyone_prime.integration.runs.classes import FailureModeRun
from fiftyone_prime.integration.runs.views import DEFAULT_MAX_VIEWS

from . import evaluation_form, forms
from .execution import FormOperator, as_list, call

#: The two prediction fields of a comparison, with the SDK's defaults.
PREDICTIONS = (
    forms.Picker(
        "baseline_field",
        "Baseline predictions",
        "predictions_v1",
        "baseline prediction",
        "The Classification field with the baseline model's predictions",
    ),
    forms.Picker(
        "pred_field",
        "New model's predictions",
        "predictions_v2",
        "new prediction",
        "The Classification field with the new model's predictions",
    ),
)


class FindRegressions(FormOperator):
    """Finds where a new model regressed against a baseline; saves the modes as views."""

    NAME = "find_regressions"
    LABEL = "PRIME: find regressions"
    DESCRIPTION = "Compare two models: the tag combinations where the new one lost accuracy"
    DELEGABLE = True

    def resolve_input(self, ctx):
        inputs = types.Object()
        view = ctx.target_view()
        # Two evaluation runs (classifications, or detections object by object), or two
        # label fields (one label per sample, or a multilabel classifier's).
        chosen = evaluation_form.evaluation_pickers(
            ctx, inputs, view, evaluation_form.image_tag_fields(view), baseline=True
        )
        if chosen is None:
            multilabel = forms.multilabel_choice(ctx, inputs, view)
            fields_ok = forms.field_pickers(ctx, inputs, view, PREDICTIONS, multilabel)
        else:
            fields_ok = chosen["valid"]
        if fields_ok and forms.new_run_key(ctx, inputs, RUN_KEY, validate=_validate_new_key):
            forms.search_knobs(ctx, inputs)
            forms.view_options(ctx, inputs)
            forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Find regressions"))

    def execute(self, ctx):
        p = ctx.params
        results = call(
            ctx,
            search_regressions,
            ctx.target_view(),
            forms.search_params(p),
            **forms.field_values(p, PREDICTIONS),
            **forms.saving_values(p, RUN_KEY),
            **(evaluation_form.evaluation_params(p) or forms.multilabel_values(p)),
            start="Reading fields and comparing",
            progress_label="Saving views",
        )
        return {
            "run_key": results.key,
            "num_regressions": len(results),
            "regressions": [regression_row(m) for m in results.regressions],
        }

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_regressions", label="Regression modes found")
        table = types.TableView()
        for header, _, _ in REGRESSION_COLUMNS:
            table.add_column(header, label=header)
        table.add_column(ALIASES_COLUMN, label=ALIASES_COLUMN)
        table.add_column("view", label="Saved view")
        outputs.list("regressions", types.Object(), label="Regression modes", view=table)
        return types.Property(outputs, view=types.View(label="PRIME comparison complete"))

    @forms.takes_search_params
    def __call__(
        self,
        sample_collection,
        *,
        baseline_field=PREDICTIONS[0].default,
        pred_field=PREDICTIONS[1].default,
        label_field=LABEL_FIELD,
        tags_field=TAGS_FIELD,
        run_key=RUN_KEY,
        baseline_eval_key=None,
        eval_key=None,
        units=None,
        save_views=True,
        max_views=DEFAULT_MAX_VIEWS,
        overwrite=False,
        delegate=False,
        confidence_thresh=None,
        **search,
    ):
        """Runs the operator from Python; the arguments are those of
        :func:`fiftyone_prime.find_regressions` (``**search``: ``min_size``,
        ``min_drop``, ``min_gain``, ``max_tags``, ``minimal``, ``alpha``,
        ``error_control``; ``units``: with two evaluations, as in
        :func:`fiftyone_prime.find_regressions`, and with ``confidence_thresh``
        for a multilabel classifier)."""
        if baseline_eval_key is not None or eval_key is not None:  # units: objects
            if confidence_thresh is not None:
                raise ValueError(
                    "`confidence_thresh` applies to multilabel classifiers only "
                    "(Classifications fields), not to evaluations"
                )
            chosen = dict(baseline_eval_key=baseline_eval_key, eval_key=eval_key, units=units)
            chosen = {k: v for k, v in chosen.items() if v is not None}
        else:  # units: a multilabel classifier's
            chosen = forms.multilabel_params(
                sample_collection,
                units,
                confidence_thresh,
                label_field=label_field,
                baseline_field=baseline_field,
                pred_field=pred_field,
            )
        params = dict(
            **chosen,
            baseline_field=baseline_field,
            pred_field=pred_field,
            label_field=label_field,
            tags_field=as_list(tags_field),
            run_key=run_key,
            save_views=save_views,
            max_views=max_views,
            overwrite=overwrite,
            delegate=delegate,
            **forms.search_values(search),
        )
        return self.run_from_python(sample_collection, params, delegate)


class CheckFailureModes(FormOperator):
    """Re-measures a run's saved failure modes on another model's predictions."""

    NAME = "check_failure_modes"
    LABEL = "PRIME: check failure modes"
    DESCRIPTION = "Re-measure a run's failure modes on another model: pass or fail"
    DELEGABLE = True

    def resolve_input(self, ctx):
        inputs = types.Object()
        root = ctx.dataset
        keys = sorted(root.list_runs(type=FailureModeRun) + root.list_runs(type=RegressionRun))
        if not keys:
            message = "This dataset has no failure-mode runs; run 'PRIME: find failure modes' first"
            forms.invalid(inputs.view("no_runs", types.Warning(label=message)), message)
            return types.Property(inputs, view=types.View(label="Check failure modes"))
        inputs.enum(
            "run_key", keys, required=True, label="Run", default=keys[0], view=forms.dropdown(keys)
        )
        key = ctx.params.get("run_key", keys[0])
        config = root.get_run_info(key if key in keys else keys[0]).config
        spec = getattr(config, "unit_spec", None) or {}
        multilabel = spec.get("eval_type") == fpu.MULTILABEL  # Classifications predictions
        fields = forms.label_fields(
            ctx.target_view(), fo.Classifications if multilabel else fo.Classification
        )
        inputs.enum(
            "pred_field",
            fields,
            required=True,
            label="Predictions to check",
            default=fields[0] if fields else None,
            view=forms.dropdown(fields),
        )
        inputs.float(
            "min_accuracy",
            min=0.0,
            max=1.0,
            label="Minimum accuracy",
            description="A mode passes when its accuracy is at least this (optional)",
        )
        inputs.float(
            "max_drop",
            min=0.0,
            max=1.0,
            label="Maximum drop",
            description="A mode passes when its accuracy is no more than this below its "
            "class's (default without a minimum accuracy: the run's min_drop)",
        )
        forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Check failure modes"))

    def execute(self, ctx):
        p = ctx.params
        results = call(
            ctx,
            check_failure_modes,
            ctx.target_view(),
            p["run_key"],
            pred_field=p["pred_field"],
            min_accuracy=p.get("min_accuracy"),
            max_drop=p.get("max_drop"),
            reload=False,  # writes nothing
        )
        out = results.to_dict()
        out["rows"] = [
            {
                "verdict": {True: "PASS", False: "FAIL", None: "N/A"}[c.passed],
                "class": str(c.group),
                "tags": " + ".join(c.tags),
                "size": c.size,
                "accuracy": "–" if c.size == 0 else f"{c.accuracy:.1%}",
                "reason": c.reason,
            }
            for c in results.checks
        ]
        del out["checks"]
        return out

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.bool("passed", label="Every check passed")
        outputs.int("num_failed", label="Checks failed")
        table = types.TableView()
        for key in ("verdict", "class", "tags", "size", "accuracy", "reason"):
            table.add_column(key, label=key)
        outputs.list("rows", types.Object(), label="Checks", view=table)
        return types.Property(outputs, view=types.View(label="PRIME checks"))

    def __call__(
        self,
        sample_collection,
        run_key,
        pred_field,
        *,
        min_accuracy=None,
        max_drop=None,
        delegate=False,
    ):
        """Runs the operator from Python; the arguments are those of
        :func:`fiftyone_prime.check_failure_modes`."""
        params = dict(
            run_key=run_key,
            pred_field=pred_field,
            min_accuracy=min_accuracy,
            max_drop=max_drop,
            delegate=delegate,
        )
        return self.run_from_python(sample_collection, params, delegate)


#: The operators of this module, for the plugin's registration.
OPERATORS = (FindRegressions, CheckFailureModes)
