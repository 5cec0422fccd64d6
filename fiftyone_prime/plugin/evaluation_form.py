"""The find form's evaluation inputs: which evaluation, which units, which tags.

:func:`evaluation_pickers` adds an "Evaluation" dropdown (the dataset's
classification, detection, regression and segmentation evaluations, a
numeric field, or none: the label/prediction search), and for a chosen
evaluation the units (ground-truth or predicted objects for detections), the
score where there is one (a regression's error, a segmentation's accuracy,
precision or recall, a detection's IoU or right/wrong) and the tag fields
that fit those units (object attributes by their path, and image-level tag
fields); for a numeric field, the field, its direction and the groups. Every
choice is checked by the SDK's own validation, whose message shows on the
form.

The comparison form (``baseline=True``) adds the baseline's evaluation: two
classification evaluations, or two detection evaluations of the same ground
truth compared object by object (ground-truth objects only).
"""

from __future__ import annotations

from typing import Optional

import fiftyone as fo
import fiftyone.core.labels as fol
import fiftyone.operators.types as types

from fiftyone_prime.integration.reading import units as fpu

#: The dropdown value for "no evaluation" (search label vs prediction fields).
NO_EVALUATION = "__none__"
#: The dropdown value for "a numeric field": search where its mean is worst.
SCORE_FIELD = "__score_field__"
#: The score dropdown's value for right or wrong outcomes (no score), and the
#: group dropdown's for one group.
RIGHT_WRONG = "__right_wrong__"
ONE_GROUP = "__one_group__"

_UNIT_LABELS = {
    fpu.GT: "Ground-truth objects (wrong when missed)",
    fpu.PRED: "Predicted objects (wrong when false positives)",
    fpu.SAMPLES: "Samples",
}


def image_tag_fields(view) -> list[str]:
    """Image-level fields that can hold tags (as the label search offers)."""
    from . import forms

    labels = forms.label_fields(view, (fo.Classifications, fo.Classification, fo.Detections))
    return sorted(set(labels) | set(forms.string_list_fields(view)))


def evaluation_params(params) -> dict:
    """The SDK keywords of the form's evaluation (or score) choice (empty for none)."""
    eval_key = params.get("eval_key")
    if not eval_key or eval_key == NO_EVALUATION:
        return {}
    score = params.get("score_field")
    if eval_key == SCORE_FIELD:
        out = {"score_field": score or None, "higher_is_worse": params.get("higher_is_worse", True)}
        group = params.get("group_field")
        if group and group != ONE_GROUP:
            out["group_field"] = group
        return out
    out = {"eval_key": eval_key, "units": params.get("units") or None}
    if score and score != RIGHT_WRONG:
        out["score_field"] = score
    if params.get("baseline_eval_key"):
        out["baseline_eval_key"] = params["baseline_eval_key"]
    return out


def scores_searched(view, params) -> bool:
    """Whether the form's choice searches a score (its thresholds are then in
    the score's units)."""
    chosen = evaluation_params(params)
    return "score_field" in chosen or fpu.scored_evaluation(view, chosen.get("eval_key"))


#: Evaluation types whose units a search reads (right/wrong, or a score).
_EVALUATION_TYPES = (fpu.CLASSIFICATION, fpu.DETECTION, fpu.REGRESSION, fpu.SEGMENTATION)


def evaluation_keys(view) -> list[str]:
    """The dataset's evaluations whose units a search can read."""
    root = view._root_dataset
    keys = []
    for key in root.list_evaluations():
        config = root.get_evaluation_info(key).config
        if getattr(config, "type", None) in _EVALUATION_TYPES:
            keys.append(key)
    return sorted(keys)


def numeric_fields(view) -> list[str]:
    """The view's numeric (float or int) sample fields, candidates for a score."""
    schema = view.get_field_schema()
    return sorted(n for n, f in schema.items() if isinstance(f, (fo.FloatField, fo.IntField)))


def _score_choices(view, config, eval_key, units) -> dict:
    """The scores an evaluation offers, ``{value: label}`` (empty: none)."""
    if config.type == fpu.REGRESSION:
        return {eval_key: f"Each sample's error ('{eval_key}'; higher is worse)"}
    if config.type == fpu.SEGMENTATION:
        return {
            name: f"Each sample's {name} ('{eval_key}_{name}'; lower is worse)"
            for name in fpu.SEGMENTATION_SCORES
        }
    if config.type == fpu.DETECTION:
        field = config.gt_field if units == fpu.GT else config.pred_field
        list_path = f"{field}.{view.get_field(field).document_type._LABEL_LIST_FIELD}"
        return {
            RIGHT_WRONG: "Right or wrong (missed / false positive)",
            f"{list_path}.{eval_key}_iou": "IoU (lower is worse; unmatched objects score 0)",
        }
    return {}


def _score_pickers(inputs, view, params, image_tag_fields) -> dict:
    """The inputs of a search of a numeric field: the field, its direction,
    the groups and the tag fields."""
    fields = numeric_fields(view)
    score = params.get("score_field") if params.get("score_field") in fields else None
    inputs.enum(
        "score_field",
        fields,
        required=True,
        label="Score field",
        description="A number per sample (an error, a loss, a judge's score)",
        view=types.DropdownView(),
    )
    inputs.bool(
        "higher_is_worse",
        default=True,
        label="Higher is worse",
        description="Untick for an accuracy, an IoU or any score where lower is worse",
    )
    from . import forms

    groups = [ONE_GROUP, *forms.label_fields(view, fo.Classification)]
    group_view = types.DropdownView()
    for g in groups:
        group_view.add_choice(g, label="One group: every sample" if g == ONE_GROUP else g)
    inputs.enum("group_field", groups, default=ONE_GROUP, label="Groups", view=group_view)
    tags = _tag_fields_input(inputs, list(image_tag_fields), "Image-level fields")
    chosen = params.get("tags_field") or list(image_tag_fields)[:1]
    valid = score is not None
    try:
        kwargs = evaluation_params({**params, "score_field": score})
        spec = fpu.resolve_units(view, **kwargs) if valid else None
        if spec is not None:
            fpu.unit_tag_sources(view, spec, chosen)
    except (ValueError, TypeError) as e:
        tags.invalid = True
        tags.error_message = str(e)
        valid = False
    return {"eval_key": SCORE_FIELD, "units": None, "tags_field": chosen, "valid": valid}


def _tag_fields_input(inputs, tag_choices, description):
    return inputs.list(
        "tags_field",
        types.String(),
        required=True,
        label="Tag fields",
        default=tag_choices[:1],
        description=description,
        view=types.AutocompleteView(
            multiple=True, choices=[types.Choice(f, label=f) for f in tag_choices]
        ),
    )


def object_attribute_paths(view, list_path: str) -> list[str]:
    """Declared attributes of the objects of ``list_path`` that can hold tags."""
    field = view.get_field(list_path)
    inner = getattr(field, "field", None)
    schema = getattr(inner, "get_field_schema", None)
    if schema is None:
        return []
    paths = []
    for name, sub in schema().items():
        if name in ("id", "_id", "label", "bounding_box", "mask", "confidence", "index"):
            continue
        ok = (
            (isinstance(sub, fo.ListField) and isinstance(sub.field, fo.StringField))
            or isinstance(sub, (fo.StringField, fo.BooleanField))
            or (
                isinstance(sub, fo.EmbeddedDocumentField)
                and issubclass(sub.document_type, (fol.Classification, fol.Classifications))
            )
        )
        if ok:
            paths.append(f"{list_path}.{name}")
    return sorted(paths)


def evaluation_pickers(ctx, inputs, view, image_tag_fields, baseline=False) -> Optional[dict]:
    """Adds the evaluation, units and tag-field inputs.

    Args:
        ctx: the execution context
        inputs: the form
        view: the target view
        image_tag_fields: the image-level fields that can hold tags
        baseline (False): whether the form compares two models: the chosen
            evaluation is the new model's, and a second dropdown picks the
            baseline's (``baseline_eval_key``)

    Returns:
        ``None`` when no evaluation is chosen (the caller adds its own field
        pickers); otherwise ``{"eval_key", "units", "tags_field", "valid"}``
    """
    keys = evaluation_keys(view)
    params = ctx.params
    eval_key = params.get("eval_key") or NO_EVALUATION
    missing = eval_key not in (NO_EVALUATION, SCORE_FIELD) and eval_key not in keys
    scores = numeric_fields(view)
    if not keys and not scores and not missing:
        return None
    choices = [NO_EVALUATION, *([SCORE_FIELD] if scores else []), *keys]
    dropdown = types.DropdownView()
    dropdown.add_choice(NO_EVALUATION, label="None: compare label and prediction fields")
    if scores:
        dropdown.add_choice(SCORE_FIELD, label="A numeric field: where is its mean worst?")
    for key in keys:
        dropdown.add_choice(key, label=key)
    eval_prop = inputs.enum(
        "eval_key",
        choices,
        label="New model's evaluation" if baseline else "Evaluation",
        default=NO_EVALUATION,
        description="Read the units and outcomes (or scores) of an evaluation run, or "
        "search a numeric field",
        view=dropdown,
    )
    if eval_key == NO_EVALUATION:
        return None
    if eval_key == SCORE_FIELD and scores:
        return _score_pickers(inputs, view, params, image_tag_fields)
    base_prop = None
    if baseline:
        others = [k for k in keys if k != eval_key]
        base_prop = inputs.enum(
            "baseline_eval_key",
            others,
            required=True,
            label="Baseline's evaluation",
            default=others[0] if others else None,
            description="The evaluation of the baseline model, on the same ground truth",
            view=types.DropdownView(),
        )
    if missing:  # deleted since the form was filled in
        eval_prop.invalid = True
        eval_prop.error_message = (
            f"The evaluation '{eval_key}' no longer exists on dataset "
            f"'{view._root_dataset.name}'; pick another evaluation or None"
        )
        return {"eval_key": eval_key, "units": None, "tags_field": [], "valid": False}
    config = view._root_dataset.get_evaluation_info(eval_key).config
    detection = config.type == fpu.DETECTION
    unit_choices = ([fpu.GT] if baseline else [fpu.GT, fpu.PRED]) if detection else [fpu.SAMPLES]
    units_view = types.RadioGroup()
    for u in unit_choices:
        units_view.add_choice(u, label=_UNIT_LABELS[u])
    units_prop = inputs.enum(
        "units",
        unit_choices,
        label="Units",
        default=unit_choices[0],
        view=units_view,
    )
    units = params.get("units") if params.get("units") in unit_choices else unit_choices[0]
    score_choices = _score_choices(view, config, eval_key, units)
    score = None
    if score_choices:
        score = params.get("score_field")
        score = score if score in score_choices else next(iter(score_choices))
        score_view = types.RadioGroup()
        for value, label in score_choices.items():
            score_view.add_choice(value, label=label)
        inputs.enum(
            "score_field",
            list(score_choices),
            label="Score",
            default=next(iter(score_choices)),
            description="Search where the mean of this number is worst",
            view=score_view,
        )
    tag_choices = list(image_tag_fields)
    if detection:
        field = config.gt_field if units == fpu.GT else config.pred_field
        label_type = view.get_field(field).document_type
        list_path = f"{field}.{label_type._LABEL_LIST_FIELD}"
        tag_choices = object_attribute_paths(view, list_path) + tag_choices
    tags = _tag_fields_input(
        inputs,
        tag_choices,
        "Object attributes (e.g. ground_truth.detections.attrs) and image-level fields; "
        "objects inherit their image's tags",
    )
    chosen = params.get("tags_field") or tag_choices[:1]
    valid = True
    try:
        chosen_units = evaluation_params(
            {"eval_key": eval_key, "units": units, "score_field": score}
        )
        spec = fpu.resolve_units(view, **chosen_units)
        fpu.unit_tag_sources(view, spec, chosen)
        if base_prop is not None:
            _check_pair(view, params.get("baseline_eval_key"), eval_key, units)
    except (ValueError, TypeError) as e:
        target = tags if "tags_field" in str(e) else units_prop
        if base_prop is not None and "tags_field" not in str(e):
            target = base_prop
        target.invalid = True
        target.error_message = str(e)
        valid = False
    return {"eval_key": eval_key, "units": units, "tags_field": chosen, "valid": valid}


def _check_pair(view, baseline_eval_key, eval_key, units) -> None:
    """The SDK's check that two evaluations compare (same kind, ground truth
    and matching settings)."""
    from fiftyone_prime.integration.comparisons.regressions import object_units

    if not baseline_eval_key:
        raise ValueError("Pick the baseline's evaluation")
    object_units(view, baseline_eval_key, eval_key, units)
