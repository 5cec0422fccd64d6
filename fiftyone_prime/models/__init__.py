"""Taggers and image-text encoders (open_clip, transformers, FiftyOne zoo
models, pixel properties).

torch, open_clip and transformers are imported only when a model is built.
"""

from __future__ import annotations

from typing import Optional, Union

#: The model a tagger uses when none is given.
DEFAULT_MODEL = "open_clip:ViT-B-32"


def load_encoder(
    model: Union[str, object] = DEFAULT_MODEL,
    *,
    pretrained: Optional[str] = "default",
    device: Optional[str] = None,
    precision: str = "auto",
):
    """Builds an image-text encoder from a model spec.

    Args:
        model ("open_clip:ViT-B-32"): ``"open_clip:<architecture>"``,
            ``"transformers:<model id or local directory>"``,
            ``"zoo:<FiftyOne zoo model name>"`` (e.g.
            ``"zoo:clip-vit-base32-torch"``, loaded from the zoo cache or
            downloaded), a loaded FiftyOne model that embeds images and
            prompts, or an
            :class:`fiftyone_prime.models.base.ImageTextEncoder` (returned as is)
        pretrained ("default"): for open_clip, a pretrained tag, a local
            checkpoint path, ``"default"`` (the usual tag of the architecture)
            or ``None`` (random weights, for tests)
        device (None): the torch device; CUDA when available by default
        precision ("auto"): fp16 autocast on GPU, fp32 on CPU; or ``"fp32"``,
            ``"fp16"``, ``"bf16"`` (FiftyOne models use FiftyOne's own choice)

    Returns:
        an :class:`fiftyone_prime.models.base.ImageTextEncoder`
    """
    from .base import ImageTextEncoder

    if isinstance(model, ImageTextEncoder):
        return model
    if not isinstance(model, str):
        from .fiftyone_zoo import FiftyOneModelEncoder, is_fiftyone_model

        if is_fiftyone_model(model):
            return FiftyOneModelEncoder(model)
    if not isinstance(model, str) or ":" not in model:
        raise ValueError(
            f"`model` must look like 'open_clip:ViT-B-32', 'transformers:<id or directory>' or "
            f"'zoo:<FiftyOne zoo model>', be a FiftyOne model that embeds images and prompts, "
            f"or be 'properties' for the weight-free tagger; got {model!r}"
        )
    backend, name = model.split(":", 1)
    if backend == "zoo":
        from .fiftyone_zoo import load_zoo_encoder

        return load_zoo_encoder(name, device=device)
    if backend == "open_clip":
        from .open_clip_encoder import OpenClipEncoder

        return OpenClipEncoder(name, pretrained=pretrained, device=device, precision=precision)
    if backend in ("transformers", "hf"):
        from .transformers_encoder import TransformersEncoder

        return TransformersEncoder(name, device=device, precision=precision)
    raise ValueError(f"Unknown model backend '{backend}'; use 'open_clip', 'transformers' or 'zoo'")


def load_tagger(
    model: Union[str, object] = DEFAULT_MODEL,
    *,
    vocabulary=None,
    pretrained: Optional[str] = "default",
    device: Optional[str] = None,
    precision: str = "auto",
    top_k: Optional[int] = None,
    thresholds=None,
    templates=None,
    property_thresholds: Optional[dict] = None,
    scoring: str = "auto",
    calibration: Optional[dict] = None,
):
    """Builds a tagger: ``"properties"`` or a zero-shot tagger over an encoder.

    See :func:`load_encoder` for the model arguments; ``vocabulary`` is a list
    of tags (required for zero-shot), ``thresholds`` a per-tag list, and
    ``top_k``, ``scoring`` and ``calibration`` are those of
    :class:`fiftyone_prime.models.zero_shot.ZeroShotTagger`.
    """
    if model == "properties":
        from .properties import ImagePropertyTagger

        return ImagePropertyTagger(property_thresholds)
    if hasattr(model, "tag_batch"):
        return model
    from .zero_shot import DEFAULT_TEMPLATES, ZeroShotTagger

    encoder = load_encoder(model, pretrained=pretrained, device=device, precision=precision)
    return ZeroShotTagger(
        encoder,
        vocabulary,
        templates=templates or DEFAULT_TEMPLATES,
        top_k=top_k,
        thresholds=thresholds,
        scoring=scoring,
        calibration=calibration,
    )
