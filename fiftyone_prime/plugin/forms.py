"""Form pieces shared by the operators, and the one place each form value is
turned into an SDK argument.

Form values carry the SDK's parameter names (``tags_field``, ``model``,
``pretrained``, ``min_size``...) and the SDK's defaults, imported from where
they are defined. A form check that the SDK also makes calls the SDK's check,
so the reason shown in the App is the SDK's one-line message.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple, Optional

import fiftyone as fo
import fiftyone.operators.types as types

from fiftyone_prime.core.captions import DEFAULT_CAPTION_TEMPLATE
from fiftyone_prime.core.defaults import (
    LABEL_FIELD,
    MAX_TAGS_LIMIT,
    PRED_FIELD,
    RUN_KEY,
    TAGS_FIELD,
)
from fiftyone_prime.core.types import DEFAULT_PARAMS, ScoreParams, SearchParams
from fiftyone_prime.core.validation import ERROR_CONTROLS
from fiftyone_prime.integration.reading import fields as fpf
from fiftyone_prime.integration.reading import units as fpu
from fiftyone_prime.integration.runs.rows import format_p
from fiftyone_prime.integration.runs.run_store import (
    list_failure_mode_runs,
    load_failure_modes,
    validate_max_views,
    validate_new_run_key,
)
from fiftyone_prime.integration.runs.views import DEFAULT_MAX_VIEWS
from fiftyone_prime.models import DEFAULT_MODEL

#: Model choices suggested in the forms (any other spec can be typed in).
MODEL_SUGGESTIONS = {
    DEFAULT_MODEL: "open_clip CLIP zero-shot (pretrained tag or local checkpoint)",
    "transformers:openai/clip-vit-base-patch32": "transformers CLIP (model id or local directory)",
    "zoo:clip-vit-base32-torch": "FiftyOne zoo CLIP ViT-B/32 (zoo cache; downloaded when online)",
    "zoo:open-clip-torch": "FiftyOne zoo open_clip (downloads its weights when loaded)",
    "properties": "Image properties (no weights: dark, blurry, small object...)",
}


def invalid(prop, message: str) -> bool:
    """Marks a form property invalid with a one-line reason; returns False."""
    prop.invalid = True
    prop.error_message = message
    return False


def label_fields(view, classes) -> list[str]:
    """Top-level fields of ``view`` holding one of the given label classes."""
    schema = view.get_field_schema(embedded_doc_type=classes)
    return sorted(schema.keys())


def string_list_fields(view) -> list[str]:
    """Top-level list-of-strings fields (such as ``tags``)."""
    return sorted(
        name
        for name, field in view.get_field_schema().items()
        if isinstance(field, fo.ListField) and isinstance(field.field, fo.StringField)
    )


def dropdown(choices, labels=None) -> types.DropdownView:
    view = types.DropdownView()
    for value in choices:
        view.add_choice(value, label=(labels or {}).get(value, value))
    return view


def preferred_dropdown(inputs, name: str, fields: list, preferred: str, **kwargs):
    """Adds a required dropdown of ``fields`` that defaults to ``preferred``
    where it is one of them, else to the first; ``kwargs`` (``label``,
    ``description``) go to ``inputs.enum``."""
    return inputs.enum(
        name,
        fields,
        default=preferred if preferred in fields else fields[0],
        required=True,
        view=dropdown(fields),
        **kwargs,
    )


class Picker(NamedTuple):
    """A Classification field picker of :func:`field_pickers`."""

    name: str  # the form value, the SDK's argument
    label: str
    default: str  # the SDK's default field name
    noun: str  # in messages: "the ground-truth and {noun} fields must differ"
    description: str


_GROUND_TRUTH = Picker(
    "label_field",
    "Ground-truth field",
    LABEL_FIELD,
    "ground-truth",
    "The Classification field whose labels are the classes searched",
)

#: The one prediction field of a failure-mode search.
PREDICTIONS = (
    Picker(
        "pred_field",
        "Prediction field",
        PRED_FIELD,
        "prediction",
        "The Classification field with the classifier's predictions",
    ),
)


def field_pickers(ctx, inputs, view, predictions=PREDICTIONS, multilabel=False) -> bool:
    """Adds the ground-truth, prediction and tag field pickers, each offering
    only the fields that fit; False if any is impossible.

    Args:
        ctx: the operator's context
        inputs: the form
        view: the target view
        predictions (:data:`PREDICTIONS`): the prediction pickers (a
            comparison has two: the baseline's and the new model's)
        multilabel (False): whether the pickers offer ``Classifications``
            fields (a multilabel classifier, see :func:`multilabel_choice`)
            instead of ``Classification`` fields
    """
    kind = "Classifications" if multilabel else "Classification"
    classification_fields = label_fields(
        view, fo.Classifications if multilabel else fo.Classification
    )
    tag_fields = sorted(
        set(label_fields(view, (fo.Classifications, fo.Classification, fo.Detections)))
        | set(string_list_fields(view))
    )
    if len(classification_fields) <= len(predictions) or not tag_fields:
        nouns = " and ".join(f"a {p.noun}" for p in predictions)
        message = (
            f"A search needs a ground-truth {kind} field, {nouns} {kind} "
            "field, each a different field, and a tags field (Classifications, "
            "Classification, Detections or a list of strings). Run 'PRIME: tag samples' to "
            "create tags."
        )
        prop = inputs.view(
            "no_fields",
            types.Error(label="This dataset lacks the fields a search needs", description=message),
        )
        return invalid(prop, message)

    pickers = (_GROUND_TRUTH, *predictions)
    # The SDK's default field where the dataset has it, else a field no
    # other picker defaults to (there are enough: checked above).
    defaults = [p.default for p in pickers if p.default in classification_fields]
    spare = iter(f for f in classification_fields if f not in defaults)
    props = [
        inputs.enum(
            p.name,
            classification_fields,
            required=True,
            label=p.label,
            default=p.default if p.default in classification_fields else next(spare),
            description=p.description,
            view=dropdown(classification_fields),
        )
        for p in pickers
    ]
    tags = inputs.list(
        "tags_field",
        types.String(),
        required=True,
        label="Tag fields",
        default=[TAGS_FIELD if TAGS_FIELD in tag_fields else tag_fields[0]],
        description="The field(s) whose labels serve as tags",
        view=types.DropdownView(
            multiple=True, choices=[types.Choice(f, label=f) for f in tag_fields]
        ),
    )
    chosen = [ctx.params.get(p.name) or prop.default for p, prop in zip(pickers, props)]
    if len(set(chosen)) < len(chosen):
        nouns = ", ".join(p.noun for p in pickers[:-1]) + f" and {pickers[-1].noun}"
        return invalid(props[-1], f"The {nouns} fields must differ")
    return _tags_fields_valid(ctx.params.get("tags_field"), tags, view)


#: A multilabel search's units, as the forms offer them.
MULTILABEL_UNITS = {
    fpu.GT: "Misses: classes present in the ground truth, wrong when not predicted",
    fpu.PRED: "False alarms: classes predicted, wrong when absent from the ground truth",
}


def multilabel_choice(ctx, inputs, view) -> bool:
    """Adds the switch to a multilabel classifier (``Classifications``
    fields; on by default where the view has fewer than two
    ``Classification`` fields) where the view has two ``Classifications``
    fields, and when it is on the units (:data:`MULTILABEL_UNITS`) and the
    confidence threshold; returns whether it is on."""
    if len(label_fields(view, fo.Classifications)) < 2:
        return False
    default = len(label_fields(view, fo.Classification)) < 2
    inputs.bool(
        "multilabel",
        default=default,
        label="Multilabel classifier",
        description="Compare Classifications fields: a unit is a (sample, class) pair",
    )
    if not ctx.params.get("multilabel", default):
        return False
    radio = types.RadioGroup()
    for value, label in MULTILABEL_UNITS.items():
        radio.add_choice(value, label=label)
    inputs.enum("units", list(MULTILABEL_UNITS), default=fpu.GT, label="Units", view=radio)
    inputs.float(
        "confidence_thresh",
        label="Confidence threshold",
        description="A prediction counts when it is at least this confident (optional: "
        "without one every prediction counts)",
    )
    return True


def multilabel_values(params) -> dict:
    """The SDK's ``units`` and ``confidence_thresh`` from
    :func:`multilabel_choice` (empty when it is off)."""
    if not params.get("multilabel"):
        return {}
    return {
        "units": params.get("units") or fpu.GT,
        "confidence_thresh": params.get("confidence_thresh"),
    }


def multilabel_params(samples, units, confidence_thresh, **fields) -> dict:
    """The form values of :func:`multilabel_choice` for an operator called
    from Python with the SDK's keywords: on when the fields are
    ``Classifications`` (``fields``: by role, as the SDK names them)."""
    if not fpu.is_multilabel(samples, **fields):
        if units is not None or confidence_thresh is not None:
            raise ValueError(
                "`units` and `confidence_thresh` apply here to multilabel classifiers only "
                f"(Classifications fields); {fields} are not"
            )
        return {}
    return {"multilabel": True, "units": units or fpu.GT, "confidence_thresh": confidence_thresh}


def field_values(params, predictions=PREDICTIONS) -> dict:
    """The SDK's field arguments from :func:`field_pickers`' values (absent
    ones take the SDK's defaults)."""
    values = {p.name: params.get(p.name, p.default) for p in (_GROUND_TRUTH, *predictions)}
    values["tags_field"] = params.get("tags_field", TAGS_FIELD)
    return values


def _tags_fields_valid(names, prop, view) -> bool:
    """The chosen tag fields exist and can hold tags (the SDK's own check)."""
    if names is None:
        return True  # the form's default
    if not isinstance(names, list):
        names = [names]
    if not names:
        return invalid(prop, "Pick at least one tag field")
    try:
        fpf.tag_sources(view, names)
    except (ValueError, TypeError) as e:
        return invalid(prop, str(e))
    return True


#: The form's switch for ``alpha=None`` is on when the default alpha is set.
_SIGNIFICANT_ONLY = DEFAULT_PARAMS.alpha is not None


#: The threshold inputs of :func:`search_knobs`: the :class:`SearchParams`
#: name (its default is the form's), the input kind, label, description and
#: bounds.
_THRESHOLDS = (
    (
        "min_size",
        "int",
        "Minimum size",
        "The least number of samples in a failure mode (PRIME's s)",
        {"min": 1},
    ),
    (
        "min_drop",
        "float",
        "Minimum drop",
        "The least accuracy drop against the class's accuracy (PRIME's a)",
        {"min": 0.0, "max": 1.0},
    ),
    (
        "min_gain",
        "float",
        "Minimum gain",
        "The least accuracy gain from removing any tag subset (PRIME's b)",
        {"min": 0.0, "max": 1.0},
    ),
    (
        "max_tags",
        "int",
        "Maximum tags",
        "The largest number of tags in a failure mode",
        {"min": 1, "max": MAX_TAGS_LIMIT},
    ),
    (
        "minimal",
        "bool",
        "Minimal sets only",
        "Leave out sets that contain a smaller failure mode",
        {},
    ),
)


def search_knobs(ctx, inputs, scored: bool = False) -> None:
    """Adds the search parameters with the project's defaults, checked by
    :class:`SearchParams` itself (the reason shows on the form). ``scored``:
    a search of a score, whose ``min_drop`` and ``min_gain`` are in the
    score's units (unbounded above)."""
    for name, kind, label, description, bounds in _THRESHOLDS:
        if scored and name in ("min_drop", "min_gain"):
            bounds = {"min": 0.0}
            description = description.replace("accuracy", "score") + ", in the score's units"
        getattr(inputs, kind)(
            name,
            default=getattr(DEFAULT_PARAMS, name),
            label=label,
            description=description,
            **bounds,
        )
    inputs.bool(
        "significant_only",
        default=_SIGNIFICANT_ONLY,
        label="Significant modes only",
        description="Leave out failure modes that could be chance findings (adjusted "
        "p-value above the level below); untick to see every mode "
        "of the definition, as the PRIME paper does",
    )
    alpha = inputs.float(
        "alpha",
        default=DEFAULT_PARAMS.alpha,
        min=0.0,
        max=1.0,
        label="Significance level",
        description="The error rate the reported modes keep to (see the next option)",
    )
    controls = list(ERROR_CONTROLS)
    inputs.enum(
        "error_control",
        controls,
        default=DEFAULT_PARAMS.error_control,
        label="Error control",
        description="fdr: the expected share of reported modes that are noise (default); "
        "fdr_by: the same under any dependence between tags; fwer: the chance that any "
        "reported mode is noise",
        view=dropdown(controls),
    )
    try:
        search_params(ctx.params, scored)
    except (TypeError, ValueError) as e:
        name = next((n for n in SearchParams.names() if f"`{n}`" in str(e)), "alpha")
        invalid(inputs.properties.get(name, alpha), str(e))


def search_params(params, scored: bool = False) -> SearchParams:
    """The :class:`SearchParams` from the form's values (absent ones take the
    defaults), validated once, before the run starts. ``significant_only``
    is the form's switch for ``alpha=None``.

    This is where an operator's search parameters are built: the operator
    passes the object on to
    :func:`fiftyone_prime.integration.failure_modes.search.search_failure_modes`, which
    hands it to the core search and the run config unchanged. ``scored``:
    :class:`ScoreParams` (thresholds in a score's units)."""
    values = {name: params[name] for name in SearchParams.names() if params.get(name) is not None}
    if not params.get("significant_only", _SIGNIFICANT_ONLY):
        values["alpha"] = None
    return (ScoreParams if scored else SearchParams).from_dict(values)


def takes_search_params(method):
    """Decorates an operator's ``__call__(..., **search)``: its signature (what
    ``help()``, IDEs and ``inspect`` show) gets the search parameters as
    keyword-only arguments with the SDK's defaults, from
    :class:`SearchParams`, so they are written nowhere else."""
    signature = inspect.signature(method)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
        for name, value in DEFAULT_PARAMS.to_dict().items()
    ]
    method.__signature__ = signature.replace(parameters=kept + added)
    return method


def search_values(search: dict) -> dict:
    """The form's values for the search parameters an operator's ``__call__``
    got as keywords (:class:`SearchParams`' names, as the SDK function takes
    them); ``alpha=None`` unticks "Significant modes only".

    Raises:
        TypeError: a keyword that is no search parameter
    """
    unknown = sorted(set(search) - set(SearchParams.names()))
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {', '.join(unknown)}; the search parameters are "
            f"{', '.join(SearchParams.names())}"
        )
    values = dict(search)
    if "alpha" in values:
        values["significant_only"] = values["alpha"] is not None
    return values


def saving_values(params, run_key: str = RUN_KEY) -> dict:
    """The SDK's ``run_key``, ``overwrite``, ``save_views`` and ``max_views``
    from the values of :func:`new_run_key` and :func:`view_options`."""
    return {
        "run_key": params.get("run_key", run_key),
        "overwrite": params.get("overwrite", False),
        "save_views": params.get("save_views", True),
        "max_views": params.get("max_views", DEFAULT_MAX_VIEWS),
    }


def view_options(ctx, inputs) -> None:
    """Adds whether to save views, and the cap on how many."""
    inputs.bool(
        "save_views", default=True, label="Save views", description="Save one view per failure mode"
    )
    prop = inputs.int(
        "max_views",
        default=DEFAULT_MAX_VIEWS,
        min=0,
        label="Maximum saved views",
        description="Save views for at most this many failure modes (the largest drops); "
        "all modes stay in the results",
    )
    try:
        validate_max_views(ctx.params.get("max_views", DEFAULT_MAX_VIEWS))
    except ValueError as e:
        invalid(prop, str(e))


def new_run_key(ctx, inputs, default=RUN_KEY, validate=validate_new_run_key) -> bool:
    """Adds the run key input, checked by the SDK's own run-key check
    (``validate(dataset, key, overwrite)``: that of the run kind)."""
    prop = inputs.str(
        "run_key",
        default=default,
        required=True,
        label="Run key",
        description="The key under which the run is stored (letters, digits, underscores)",
    )
    inputs.bool(
        "overwrite",
        default=False,
        label="Overwrite",
        description="Replace an existing run with this key, and the views it saved",
    )
    key = ctx.params.get("run_key", default)
    if not isinstance(key, str):
        return invalid(prop, f"The run key must be text (a Python identifier); got {key!r}")
    try:
        validate(ctx.dataset, key, ctx.params.get("overwrite", False))
    except ValueError as e:
        return invalid(prop, str(e))
    return True


def existing_run_key(ctx, inputs) -> Optional[str]:
    """Adds a picker of the dataset's failure-mode runs; returns the chosen key."""
    keys = list_failure_mode_runs(ctx.dataset)
    if not keys:
        prop = inputs.view(
            "no_runs",
            types.Warning(
                label="This dataset has no failure-mode runs",
                description="Run 'PRIME: find failure modes' first",
            ),
        )
        invalid(
            prop, "This dataset has no failure-mode runs; run 'PRIME: find failure modes' first"
        )
        return None
    inputs.enum("run_key", keys, required=True, label="Run", default=keys[0], view=dropdown(keys))
    return ctx.params.get("run_key", keys[0])


def saved_mode_choice(ctx, inputs) -> Optional[tuple[str, str]]:
    """Adds the run picker (:func:`existing_run_key`) and a picker of the
    run's failure modes that have saved views, largest drop first.

    Returns:
        ``(run_key, view_name)`` as chosen, or ``None`` when there is none
    """
    run_key = existing_run_key(ctx, inputs)
    if run_key is None:
        return None
    modes = [m for m in load_failure_modes(ctx.dataset, run_key).sorted("drop") if m.view_name]
    if not modes:
        message = f"Run '{run_key}' has no failure modes with saved views"
        invalid(inputs.view("no_modes", types.Warning(label=message)), message)
        return None
    choices = types.DropdownView()
    for m in modes:
        choices.add_choice(
            m.view_name,
            label=f"{m.group}: {' + '.join(m.tags)}",
            description=(
                f"{m.accuracy:.1%} vs {m.group_accuracy:.1%} for the class, {m.size} samples, "
                f"adjusted p {format_p(m.adjusted_p_value)}"
            ),
        )
    inputs.enum(
        "view_name",
        choices.values(),
        required=True,
        default=choices.values()[0],
        label="Failure mode",
        view=choices,
    )
    return run_key, ctx.params.get("view_name") or choices.values()[0]


def delegation(ctx, inputs) -> None:
    """Adds the choice between running now and scheduling a delegated run."""
    inputs.bool(
        "delegate",
        default=False,
        label="Delegate execution?",
        description="Schedule the run in the background (for large datasets)",
        view=types.CheckboxView(),
    )
    if ctx.params.get("delegate", False):
        inputs.view(
            "notice",
            types.Notice(label="Run 'fiftyone delegated launch' to execute scheduled runs"),
        )


def model_choice(ctx, inputs, *, allow_properties: bool) -> str:
    """Adds the ``model`` spec and, for open_clip, its ``pretrained`` weights;
    returns the chosen spec."""
    suggestions = {
        k: v for k, v in MODEL_SUGGESTIONS.items() if allow_properties or k != "properties"
    }
    inputs.str(
        "model",
        default=DEFAULT_MODEL,
        required=True,
        label="Model",
        description="open_clip:<architecture>, transformers:<model id or local directory>, "
        "zoo:<FiftyOne zoo model>" + (", or properties (no weights)" if allow_properties else ""),
        view=types.AutocompleteView(
            choices=[types.Choice(k, label=k, description=v) for k, v in suggestions.items()]
        ),
    )
    model = ctx.params.get("model") or DEFAULT_MODEL
    if model.startswith("open_clip:"):
        inputs.str(
            "pretrained",
            default="default",
            required=True,
            label="Pretrained weights",
            description="A pretrained tag (downloaded on first use) or a local checkpoint path",
        )
    return model


def model_params(params) -> dict:
    """``model`` and ``pretrained`` arguments from the form's values."""
    model = params.get("model") or DEFAULT_MODEL
    pretrained = params.get("pretrained") or "default"
    if not model.startswith("open_clip:"):
        pretrained = None
    elif pretrained == "none":
        pretrained = None  # random weights
    return {"model": model, "pretrained": pretrained}


def caption_template_input(inputs) -> None:
    inputs.str(
        "caption_template",
        default=DEFAULT_CAPTION_TEMPLATE,
        required=True,
        label="Caption template",
        description="The caption of a failure mode, with {cls} and {tags}",
    )
