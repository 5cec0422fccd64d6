"""Operators for comparing two models and for checking saved failure modes.

``find_regressions`` is a form over :func:`fiftyone_prime.find_regressions`
and ``check_failure_modes`` a form over
:func:`fiftyone_prime.check_failure_modes`; both run immediately or
delegated.
"""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.operators.types as types

from fiftyone_prime.core.types import DEFAULT_PARAMS
from fiftyone_prime.integration.comparisons.checks import check_failure_modes
from fiftyone_prime.integration.comparisons.regressions import (
    REGRESSION_COLUMNS,
    RUN_KEY,
    RegressionRun,
    _validate_new_key,
    regression_row,
    search_regressions,
)
from fiftyone_prime.integration.runs.classes import FailureModeRun
from fiftyone_prime.integration.runs.views import DEFAULT_MAX_VIEWS

from . import forms


def _as_list(value):
    return [value] if isinstance(value, str) else list(value)


def _execute(operator, sample_collection, params, delegate=False):
    params = {k: v for k, v in params.items() if v is not None}
    return foo.execute_operator(
        operator.uri,
        dict(view=sample_collection.view()),
        params=params,
        request_delegation=delegate,
    )


def _classification_fields(view) -> list[str]:
    return forms.label_fields(view, fo.Classification)


class FindRegressions(foo.Operator):
    """Finds where a new model regressed against a baseline; saves the modes as views."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="find_regressions",
            label="PRIME: find regressions",
            description="Compare two models: the tag combinations where the new one lost accuracy",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        view = ctx.target_view()
        fields = _classification_fields(view)
        if len(fields) < 3:
            message = (
                "A comparison needs a ground-truth Classification field and two prediction "
                "Classification fields (the baseline's and the new model's)"
            )
            prop = inputs.view("no_fields", types.Error(label=message))
            forms.invalid(prop, message)
            return types.Property(inputs, view=types.View(label="Find regressions"))

        def default(name, i):
            return name if name in fields else fields[min(i, len(fields) - 1)]

        for name, label, fallback, i in (
            ("label_field", "Ground-truth field", "ground_truth", 0),
            ("baseline_field", "Baseline predictions", "predictions_v1", 1),
            ("pred_field", "New model's predictions", "predictions_v2", 2),
        ):
            inputs.enum(
                name,
                fields,
                required=True,
                label=label,
                default=default(fallback, i),
                view=forms.dropdown(fields),
            )
        p = ctx.params
        chosen = [p.get(n) for n in ("label_field", "baseline_field", "pred_field")]
        if all(chosen) and len(set(chosen)) < 3:
            forms.invalid(
                inputs.properties["pred_field"],
                "The ground-truth, baseline and new prediction fields must differ",
            )
        tag_fields = sorted(
            set(forms.label_fields(view, (fo.Classifications, fo.Classification, fo.Detections)))
            | set(forms.string_list_fields(view))
        )
        inputs.list(
            "tags_field",
            types.String(),
            required=True,
            label="Tag fields",
            default=[
                "prime_tags" if "prime_tags" in tag_fields else (tag_fields or ["prime_tags"])[0]
            ],
            view=types.DropdownView(
                multiple=True, choices=[types.Choice(f, label=f) for f in tag_fields]
            ),
        )
        key = inputs.str("run_key", default=RUN_KEY, required=True, label="Run key")
        inputs.bool("overwrite", default=False, label="Overwrite")
        try:
            _validate_new_key(ctx.dataset, p.get("run_key", RUN_KEY), p.get("overwrite", False))
        except ValueError as e:
            forms.invalid(key, str(e))
        forms.search_knobs(ctx, inputs)
        forms.view_options(ctx, inputs)
        forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Find regressions"))

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate", False)

    def execute(self, ctx):
        p = ctx.params
        results = search_regressions(
            ctx.target_view(),
            forms.search_params(p),
            baseline_field=p.get("baseline_field", "predictions_v1"),
            pred_field=p.get("pred_field", "predictions_v2"),
            label_field=p.get("label_field", "ground_truth"),
            tags_field=p.get("tags_field", "prime_tags"),
            run_key=p.get("run_key", RUN_KEY),
            save_views=p.get("save_views", True),
            max_views=p.get("max_views", DEFAULT_MAX_VIEWS),
            overwrite=p.get("overwrite", False),
        )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
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
        table.add_column("view", label="Saved view")
        outputs.list("regressions", types.Object(), label="Regression modes", view=table)
        return types.Property(outputs, view=types.View(label="PRIME comparison complete"))

    def __call__(
        self,
        sample_collection,
        *,
        baseline_field="predictions_v1",
        pred_field="predictions_v2",
        label_field="ground_truth",
        tags_field="prime_tags",
        run_key=RUN_KEY,
        min_size=DEFAULT_PARAMS.min_size,
        min_drop=DEFAULT_PARAMS.min_drop,
        min_gain=DEFAULT_PARAMS.min_gain,
        max_tags=DEFAULT_PARAMS.max_tags,
        minimal=DEFAULT_PARAMS.minimal,
        alpha=DEFAULT_PARAMS.alpha,
        error_control=DEFAULT_PARAMS.error_control,
        save_views=True,
        max_views=DEFAULT_MAX_VIEWS,
        overwrite=False,
        delegate=False,
    ):
        """Runs the operator from Python; the arguments are those of
        :func:`fiftyone_prime.find_regressions`."""
        params = dict(
            baseline_field=baseline_field,
            pred_field=pred_field,
            label_field=label_field,
            tags_field=_as_list(tags_field),
            run_key=run_key,
            min_size=min_size,
            min_drop=min_drop,
            min_gain=min_gain,
            max_tags=max_tags,
            minimal=minimal,
            significant_only=alpha is not None,
            alpha=alpha,
            error_control=error_control,
            save_views=save_views,
            max_views=max_views,
            overwrite=overwrite,
            delegate=delegate,
        )
        return _execute(self, sample_collection, params, delegate)


class CheckFailureModes(foo.Operator):
    """Re-measures a run's saved failure modes on another model's predictions."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="check_failure_modes",
            label="PRIME: check failure modes",
            description="Re-measure a run's failure modes on another model: pass or fail",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

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
        fields = _classification_fields(ctx.target_view())
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

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate", False)

    def execute(self, ctx):
        p = ctx.params
        results = check_failure_modes(
            ctx.target_view(),
            p["run_key"],
            pred_field=p["pred_field"],
            min_accuracy=p.get("min_accuracy"),
            max_drop=p.get("max_drop"),
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
        return _execute(self, sample_collection, params, delegate)


#: The operators of this module, for the plugin's registration.
OPERATORS = (FindRegressions, CheckFailureModes)
