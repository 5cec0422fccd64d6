"""Hugging Face transformers CLIP and SigLIP models, by model id or local directory."""

from __future__ import annotations

import logging
import os
from typing import Optional

from .base import ImageTextEncoder, resolve_device, resolve_precision

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "openai/clip-vit-base-patch32"


class _PixelTransform:
    """Picklable PIL -> tensor transform around a transformers image processor."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, image):
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


class TransformersEncoder(ImageTextEncoder):
    """A transformers CLIP-like model (``CLIPModel``, ``SiglipModel``, ...).

    Args:
        model (``"openai/clip-vit-base-patch32"``): a Hugging Face model id
            (downloaded on first use) or a local directory written by
            ``save_pretrained`` holding the model, its tokenizer and its image
            processor
        device (None): ``"cuda"``, ``"cpu"``...; default: CUDA when available
        precision ("auto"): ``"fp32"``, ``"fp16"``, ``"bf16"`` or ``"auto"``
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, device: Optional[str] = None, precision: str = "auto"
    ):
        try:
            import transformers
        except ImportError as e:
            raise ImportError(
                "The transformers backend needs transformers: pip install 'fiftyone-prime[models]'"
            ) from e
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.precision_auto = precision == "auto"
        local = os.path.isdir(os.path.expanduser(model))
        source = os.path.expanduser(model) if local else model
        try:
            self._model = transformers.AutoModel.from_pretrained(source).to(self.device).eval()
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(source)
            processor = transformers.AutoImageProcessor.from_pretrained(source)
        except Exception as e:
            where = (
                f"the local directory '{source}'" if local else f"the Hugging Face Hub ('{source}')"
            )
            raise RuntimeError(
                f"Could not load the transformers model from {where} ({e}). Model ids are "
                "downloaded on first use, which needs internet access. On an offline machine, "
                "copy a directory written by save_pretrained() (model, tokenizer and image "
                "processor) and pass its path, or use model='properties', which needs no weights."
            ) from e
        if not hasattr(self._model, "get_image_features"):
            raise ValueError(
                f"'{source}' is a {type(self._model).__name__}, not a CLIP-like model with "
                "get_image_features()/get_text_features()"
            )
        self._transform = _PixelTransform(processor)
        self._pad = "max_length" if "siglip" in type(self._model).__name__.lower() else True
        self.name = f"transformers:{source}"
        scale = getattr(self._model, "logit_scale", None)
        self.logit_scale = float(scale.exp().item()) if scale is not None else 100.0
        bias = getattr(self._model, "logit_bias", None)  # SiglipModel
        self.logit_bias = float(bias.reshape(-1)[0].item()) if bias is not None else None
        self.cache_key = _weights_key(self._model, source, local)
        size = getattr(self._model.config, "vision_config", None)
        self._image_size = int(getattr(size, "image_size", 224))

    def _encode_images(self, pixels):
        return _as_tensor(self._model.get_image_features(pixel_values=pixels))

    def _encode_texts(self, texts):
        tokens = self._tokenizer(texts, padding=self._pad, truncation=True, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items()}
        return _as_tensor(self._model.get_text_features(**tokens))


def _weights_key(model, source: str, local: bool) -> str:
    """A Hub model by id and commit; a local directory by path and the sizes
    and modification times of its files."""
    if not local:
        commit = getattr(model.config, "_commit_hash", None)
        return f"transformers:{source}@{commit or 'latest'}"
    files = []
    for name in sorted(os.listdir(source)):
        path = os.path.join(source, name)
        if os.path.isfile(path):
            stat = os.stat(path)
            files.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return f"transformers:{os.path.abspath(source)}@" + ",".join(files)


def _as_tensor(output):
    # Newer transformers may return a ModelOutput instead of a tensor.
    if hasattr(output, "pooler_output") and not hasattr(output, "shape"):
        return output.pooler_output
    return output
