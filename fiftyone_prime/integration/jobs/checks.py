"""Queue-time checks of a job: everything its parts would otherwise find out
only when they run (a bad model name, an unknown or out-of-range argument, a
missing field), so that a job that cannot succeed is never queued.

Each check raises one error whose message names the parameter.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import numbers
from typing import Optional

from fiftyone_prime.core.defaults import MAX_COUNT as _MAX_COUNT

logger = logging.getLogger(__name__)

#: Model backends a worker can load by name (see :func:`fiftyone_prime.models.load_encoder`).
MODEL_BACKENDS = ("open_clip", "transformers", "hf", "zoo")

#: The largest whole number a job accepts for a count (batch size, workers,
#: top-k); anything larger is a typo, and would not fit in a BSON integer.
MAX_COUNT = _MAX_COUNT


def check_keywords(func, kwargs: dict, what: str, *, not_allowed=()) -> None:
    """Raises unless every key of ``kwargs`` is a keyword argument of ``func``.

    Raises:
        TypeError: naming the unknown keys and the known ones
    """
    known = {
        name
        for name, p in inspect.signature(func).parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    } - {"samples", *not_allowed}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        hints = [
            f"'{u}' -> '{m[0]}'"
            for u in unknown
            if (m := difflib.get_close_matches(u, sorted(known), n=1))
        ]
        raise TypeError(
            f"{what} takes no {unknown}"
            + (f" (did you mean {', '.join(hints)}?)" if hints else "")
            + f"; it takes {sorted(known)}"
        )


def check_count(name: str, value, *, minimum: int = 1, optional: bool = True) -> None:
    """Raises unless ``value`` is a whole number in ``[minimum, MAX_COUNT]``
    (or None when ``optional``)."""
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not minimum <= value <= MAX_COUNT
    ):
        raise ValueError(
            f"`{name}` must be a whole number from {minimum} to {MAX_COUNT}"
            + (" or None" if optional else "")
            + f"; got {_short(value)}"
        )


def _check_known(name: str, known, missing: str) -> None:
    """Raises ``missing '<name>'`` with the closest of ``known`` unless
    ``name`` is one of them."""
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        raise ValueError(f"{missing} '{name}'" + (f" (close: {close})" if close else ""))


def check_model(model, pretrained=None, *, role: str = "model", allow_properties: bool = True):
    """Raises unless a worker can resolve the model spec ``model`` by name.

    Checks the spec's form and backend; an open_clip architecture against
    ``open_clip.list_models()`` and a zoo name against FiftyOne's zoo, when
    those can be imported here. Weights are not loaded (the workers do that),
    and a local checkpoint path that does not exist on this machine is only
    warned about (the workers may see another filesystem).

    Raises:
        ValueError: naming ``role``
    """
    if model == "properties" and allow_properties:
        return
    forms = "'open_clip:<architecture>', 'transformers:<id or directory>', 'zoo:<name>'"
    if allow_properties:
        forms += " or 'properties'"
    if not isinstance(model, str):
        raise TypeError(f"`{role}` must be a model spec string ({forms}); got {_short(model)}")
    backend, _, name = model.partition(":")
    if not _ or backend not in MODEL_BACKENDS or not name.strip():
        raise ValueError(f"`{role}` must look like {forms}; got {_short(model)}")
    if backend == "open_clip":
        try:
            import open_clip
        except ImportError:  # pragma: no cover - the workers may have it
            logger.info("open_clip is not installed here; `%s` is checked by the workers", role)
            return
        _check_known(name, open_clip.list_models(), f"`{role}`: open_clip has no architecture")
        if isinstance(pretrained, str) and _looks_like_path(pretrained):
            import os

            if not os.path.exists(pretrained):
                logger.warning(
                    "`pretrained`: '%s' does not exist on this machine; each worker must have it",
                    pretrained,
                )
    elif backend == "zoo":
        import fiftyone.zoo as foz

        _check_known(name, foz.list_zoo_models(), f"`{role}`: FiftyOne's zoo has no model")


def check_tagging_kwargs(kwargs: dict) -> None:
    """Checks the ``compute_tags`` arguments a job carries, by value."""
    check_model(kwargs.get("model", "open_clip:ViT-B-32"), kwargs.get("pretrained"))
    check_count("batch_size", kwargs.get("batch_size"))
    check_count("num_workers", kwargs.get("num_workers"), minimum=0)
    check_count("top_k", kwargs.get("top_k"))
    precision = kwargs.get("precision", "auto")
    if precision not in ("auto", "fp32", "fp16", "bf16"):
        raise ValueError(
            f"`precision` must be one of 'auto', 'fp32', 'fp16', 'bf16'; got {_short(precision)}"
        )
    threshold = kwargs.get("threshold")
    if threshold is not None and not isinstance(threshold, dict):
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(
                f"`threshold` must be a number, a dict or None; got {_short(threshold)}"
            )
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"`threshold` must be within [0, 1]; got {threshold!r}")
    templates = kwargs.get("templates")
    if templates is not None:
        if isinstance(templates, str) or not all(
            isinstance(t, str) and "{}" in t for t in templates
        ):
            raise ValueError(
                "`templates` must be a list of strings each holding '{}' for the tag; "
                f"got {_short(templates)}"
            )
    for name in ("device", "label_field"):
        value = kwargs.get(name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a string or None; got {_short(value)}")


def check_search_fields(samples, search: dict) -> None:
    """Checks that the follow-up search's label and prediction fields exist."""
    from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD
    from fiftyone_prime.integration.reading.fields import validate_classification_field

    for name, default in (("label_field", LABEL_FIELD), ("pred_field", PRED_FIELD)):
        validate_classification_field(samples, search.get(name, default), f"search['{name}']")


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.endswith((".bin", ".pt", ".pth", ".safetensors"))


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_num_shards(num_shards, total: int, maximum: int) -> Optional[int]:
    """The number of slices to cut: ``num_shards`` capped by the number of
    samples; raises for anything that is not a whole number in
    ``[1, maximum]``."""
    if isinstance(num_shards, bool) or not isinstance(num_shards, numbers.Integral):
        raise ValueError(f"`num_shards` must be a whole number >= 1; got {_short(num_shards)}")
    if not 1 <= num_shards <= maximum:
        raise ValueError(
            f"`num_shards` must be from 1 to {maximum} (one delegated operation each); "
            f"got {_short(num_shards)}"
        )
    if num_shards > total:
        logger.info(
            "num_shards=%d exceeds the %d samples; queuing %d slices", num_shards, total, total
        )
    return min(int(num_shards), total)
