"""Form pieces shared by the operators: field pickers, run pickers, knobs."""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators.types as types

import fiftyone_prime as fp
from fiftyone_prime.core.types import DEFAULT_PARAMS, SearchParams


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


def field_pickers(ctx, inputs, view) -> bool:
    """Adds the label, prediction and tag field pickers; False if any is impossible."""
    classification_fields = label_fields(view, fo.Classification)
    tag_fields = sorted(
        set(label_fields(view, (fo.Classifications, fo.Classification, fo.Detections)))
        | set(string_list_fields(view))
    )
    if len(classification_fields) < 1 or not tag_fields:
        prop = inputs.view(
            "no_fields",
            types.Error(
                label="This dataset lacks the fields a search needs",
                description=(
                    "A search needs a ground-truth Classification field, a prediction "
                    "Classification field, and a tags field (Classifications, Classification, "
                    "Detections or a list of strings). Run 'Tag samples' to create tags."
                ),
            ),
        )
        prop.invalid = True
        return False

    def default(name, choices):
        return name if name in choices else choices[0]

    inputs.enum(
        "label_field", classification_fields, required=True, label="Ground-truth field",
        default=default("ground_truth", classification_fields),
        description="The Classification field whose labels are the classes searched",
        view=dropdown(classification_fields),
    )
    inputs.enum(
        "pred_field", classification_fields, required=True, label="Prediction field",
        default=default("predictions", classification_fields),
        description="The Classification field with the classifier's predictions",
        view=dropdown(classification_fields),
    )
    inputs.list(
        "tags_fields", types.String(), required=True, label="Tag fields",
        default=[default("prime_tags", tag_fields)],
        description="The field(s) whose labels serve as tags",
        view=types.DropdownView(multiple=True, choices=[types.Choice(f, label=f) for f in tag_fields]),
    )
    params = ctx.params
    if params.get("label_field") and params.get("label_field") == params.get("pred_field"):
        prop = inputs.view(
            "same_fields",
            types.Warning(label="The ground-truth and prediction fields are the same field"),
        )
        prop.invalid = True
        return False
    return True


def search_knobs(inputs) -> None:
    """Adds the search thresholds with the project's defaults."""
    inputs.int(
        "min_size", default=DEFAULT_PARAMS.min_size, min=1, label="Minimum size",
        description="The least number of samples in a failure mode (PRIME's s)",
    )
    inputs.float(
        "min_drop", default=DEFAULT_PARAMS.min_drop, min=0.0, max=1.0, label="Minimum drop",
        description="The least accuracy drop against the class's accuracy (PRIME's a)",
    )
    inputs.float(
        "min_gain", default=DEFAULT_PARAMS.min_gain, min=0.0, max=1.0, label="Minimum gain",
        description="The least accuracy gain from removing any tag subset (PRIME's b)",
    )
    inputs.int(
        "max_tags", default=DEFAULT_PARAMS.max_tags, min=1, max=5, label="Maximum tags",
        description="The largest number of tags in a failure mode",
    )
    inputs.bool(
        "minimal", default=DEFAULT_PARAMS.minimal, label="Minimal sets only",
        description="Leave out sets that contain a smaller failure mode",
    )
    inputs.bool(
        "significant_only", default=DEFAULT_PARAMS.alpha is not None,
        label="Significant modes only",
        description="Leave out failure modes that could be chance findings (family-wise "
                    "adjusted p-value above the level below); untick to see every mode "
                    "of the definition, as the PRIME paper does",
    )
    inputs.float(
        "alpha", default=DEFAULT_PARAMS.alpha, min=0.0, max=1.0, label="Significance level",
        description="The family-wise error rate: the chance that any reported mode is noise",
    )


def search_params(params) -> SearchParams:
    """The :class:`SearchParams` from the form's values (absent ones take the
    defaults); validated here, once, before the run starts."""
    values = {name: params[name] for name in SearchParams.names()
              if params.get(name) is not None}
    if not params.get("significant_only", True):
        values["alpha"] = None
    return SearchParams.from_dict(values)


def new_run_key(ctx, inputs, default="prime") -> bool:
    """Adds the run key input, validated against the dataset's runs."""
    prop = inputs.str(
        "run_key", default=default, required=True, label="Run key",
        description="The key under which the run is stored (letters, digits, underscores)",
    )
    inputs.bool(
        "overwrite", default=False, label="Overwrite",
        description="Replace an existing run with this key, and the views it saved",
    )
    key = ctx.params.get("run_key", default)
    if key is None:
        return False
    if not key.isidentifier():
        prop.invalid = True
        prop.error_message = "Run keys must be valid Python identifiers"
        return False
    if key in ctx.dataset.list_runs() and not ctx.params.get("overwrite", False):
        prop.invalid = True
        prop.error_message = f"A run with key '{key}' exists; tick Overwrite or choose another key"
        return False
    return True


def existing_run_key(ctx, inputs) -> str | None:
    """Adds a picker of the dataset's failure-mode runs; returns the chosen key."""
    keys = fp.list_failure_mode_runs(ctx.dataset)
    if not keys:
        prop = inputs.view(
            "no_runs",
            types.Warning(
                label="This dataset has no failure-mode runs",
                description="Run 'Find failure modes' first",
            ),
        )
        prop.invalid = True
        return None
    inputs.enum("run_key", keys, required=True, label="Run", default=keys[0],
                view=dropdown(keys))
    return ctx.params.get("run_key", keys[0])


def delegation(ctx, inputs) -> None:
    """Adds the choice between running now and scheduling a delegated run."""
    inputs.bool(
        "delegate", default=False, label="Delegate execution?",
        description="Schedule the run in the background (for large datasets)",
        view=types.CheckboxView(),
    )
    if ctx.params.get("delegate", False):
        inputs.view(
            "notice",
            types.Notice(label="Run 'fiftyone delegated launch' to execute scheduled runs"),
        )


def tagger_choice(ctx, inputs) -> bool:
    """Adds the tagger backend, its model, the vocabulary and the output field."""
    backends = {
        "properties": "Image properties (no weights: dark, blurry, small object...)",
        "open_clip": "open_clip CLIP zero-shot (pretrained tag or local checkpoint)",
        "transformers": "transformers CLIP/SigLIP zero-shot (model id or local directory)",
    }
    inputs.enum("backend", list(backends), default="properties", required=True,
                label="Tagger", view=dropdown(list(backends), backends))
    backend = ctx.params.get("backend", "properties")
    if backend == "open_clip":
        inputs.str("architecture", default="ViT-B-32", required=True, label="Architecture",
                   description="An open_clip model name, e.g. ViT-B-32")
        inputs.str("pretrained", default="default", required=True, label="Pretrained weights",
                   description="A pretrained tag (downloaded on first use) or a checkpoint path")
    elif backend == "transformers":
        inputs.str("hf_model", required=True, label="Model",
                   description="A Hugging Face model id or a local save_pretrained directory")
    if backend != "properties":
        sources = {"default": "Default vocabulary (shipped)", "list": "My tags",
                   "file": "A text file, one tag per line"}
        inputs.enum("vocabulary_source", list(sources), default="default", label="Vocabulary",
                    view=dropdown(list(sources), sources))
        source = ctx.params.get("vocabulary_source", "default")
        if source == "list":
            inputs.str("vocabulary_list", required=True, label="Tags",
                       description="One tag per line, or comma separated",
                       view=types.TextFieldView(multiline=True))
        elif source == "file":
            inputs.str("vocabulary_file", required=True, label="Vocabulary file")
        inputs.int("top_k", default=5, min=1, label="Tags per image",
                   description="The most tags kept per image")
        inputs.str("embeddings_field", label="Embeddings field",
                   description="Optional: also store each image's embedding here")
    default_field = "prime_properties" if backend == "properties" else "prime_tags"
    inputs.str("tags_field", default=default_field, required=True, label="Tags field")
    inputs.bool("skip_existing", default=False, label="Skip samples that have tags",
                description="Continue an interrupted run")
    inputs.bool("overwrite", default=False, label="Re-tag samples that have tags")
    return True


def vocabulary_param(params):
    """The vocabulary argument of compute_tags from the form's values."""
    source = params.get("vocabulary_source", "default")
    if source == "list":
        text = params.get("vocabulary_list", "")
        return [t.strip() for t in text.replace(",", "\n").splitlines() if t.strip()]
    if source == "file":
        return params.get("vocabulary_file")
    return None


def clip_model_choice(ctx, inputs) -> bool:
    """Adds the CLIP backend and its model (no weight-free option: metrics need CLIP)."""
    backends = {"open_clip": "open_clip (pretrained tag or local checkpoint)",
                "transformers": "transformers CLIP/SigLIP (model id or local directory)"}
    inputs.enum("backend", list(backends), default="open_clip", required=True, label="Model",
                view=dropdown(list(backends), backends))
    if ctx.params.get("backend", "open_clip") == "open_clip":
        inputs.str("architecture", default="ViT-B-32", required=True, label="Architecture")
        inputs.str("pretrained", default="default", required=True, label="Pretrained weights",
                   description="A pretrained tag (downloaded on first use) or a checkpoint path")
    else:
        inputs.str("hf_model", required=True, label="Model",
                   description="A Hugging Face model id or a local save_pretrained directory")
    return True


def model_spec(params) -> tuple:
    """``(model, pretrained)`` arguments from the form's values."""
    backend = params.get("backend", "open_clip")
    if backend == "properties":
        return "properties", None
    if backend == "open_clip":
        pretrained = params.get("pretrained") or "default"
        if pretrained == "none":
            pretrained = None
        return f"open_clip:{params.get('architecture', 'ViT-B-32')}", pretrained
    return f"transformers:{params['hf_model']}", None
