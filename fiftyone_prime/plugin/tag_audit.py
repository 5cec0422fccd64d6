"""The tag-audit operator: a form over :func:`fiftyone_prime.evaluate_tags`."""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators.types as types

from fiftyone_prime.core.defaults import LABEL_FIELD, TAGS_FIELD
from fiftyone_prime.integration.tagging.tag_audit import (
    AUDIT_KEY,
    COLUMNS,
    DEFAULT_TARGET_PRECISION,
    evaluate_tags,
)

from . import forms
from .execution import FormOperator, call


def audit_rows(results) -> list[dict]:
    """The audit's rows for a table view: numbers rounded, lists joined."""
    rows = []
    for row in results.table():
        out = {}
        for key, _ in COLUMNS:
            value = row[key]
            if isinstance(value, float):
                value = round(value, 3)
            elif isinstance(value, list):
                value = ", ".join(value)
            out[key] = value
        rows.append(out)
    return rows


class EvaluateTags(FormOperator):
    """Measures a tags field against reference labels (precision, recall,
    support and a suggested threshold per tag) and stores the audit as a run."""

    NAME = "evaluate_tags"
    LABEL = "PRIME: evaluate tags"
    DESCRIPTION = "Measure tags against labels the dataset already has"
    DELEGABLE = True

    def resolve_input(self, ctx):
        inputs = types.Object()
        view = ctx.target_view()
        tag_fields = forms.label_fields(view, fo.Classifications)
        ref_fields = forms.label_fields(
            view, (fo.Classification, fo.Classifications, fo.Detections)
        )
        if not tag_fields or not ref_fields:
            inputs.view(
                "missing",
                types.Warning(
                    label="Nothing to evaluate",
                    description="The view needs a Classifications field of tags and a "
                    "Classification, Classifications or Detections field of reference labels",
                ),
            )
            return types.Property(inputs)
        forms.preferred_dropdown(inputs, "tags_field", tag_fields, TAGS_FIELD, label="Tags field")
        forms.preferred_dropdown(
            inputs,
            "reference_field",
            ref_fields,
            LABEL_FIELD,
            label="Reference labels",
            description="Image labels, or detections whose classes count as present",
        )
        prop = inputs.float(
            "target_precision",
            default=DEFAULT_TARGET_PRECISION,
            label="Target precision",
            description="Suggested thresholds keep each tag at least this precise",
        )
        target = ctx.params.get("target_precision", DEFAULT_TARGET_PRECISION)
        if not isinstance(target, (int, float)) or not 0 < target <= 1:
            forms.invalid(prop, f"The target precision must be in (0, 1]; got {target!r}")
        inputs.str("audit_key", default=AUDIT_KEY, label="Audit key")
        forms.delegation(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Evaluate tags"))

    def execute(self, ctx):
        p = ctx.params
        results = call(
            ctx,
            evaluate_tags,
            ctx.target_view(),
            p.get("tags_field", TAGS_FIELD),
            p.get("reference_field", LABEL_FIELD),
            audit_key=p.get("audit_key") or AUDIT_KEY,
            target_precision=float(p.get("target_precision", DEFAULT_TARGET_PRECISION)),
            reload=False,  # an audit run: no field or view the App shows
        )
        return {
            "audit_key": results.key,
            "num_evaluated": results.num_evaluated,
            "num_tags": len(results),
            "classes_without_tag": ", ".join(results.classes_without_tag),
            "tags": audit_rows(results),
        }

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_evaluated", label="Samples evaluated")
        outputs.int("num_tags", label="Tags that name a reference class")
        outputs.str("classes_without_tag", label="Reference classes no tag names")
        table = types.TableView()
        for key, label in COLUMNS:
            table.add_column(key, label=label)
        outputs.list("tags", types.Object(), label="Tags", view=table)
        return types.Property(outputs, view=types.View(label="Tag audit"))
