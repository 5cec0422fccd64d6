"""open_clip models: pretrained by tag name, from a local checkpoint, or random."""

from __future__ import annotations

import logging
import os
from typing import Optional

from .base import ImageTextEncoder, resolve_device, resolve_precision

logger = logging.getLogger(__name__)

#: The pretrained tag used when a model name is given without one.
DEFAULT_PRETRAINED = {
    "ViT-B-32": "laion2b_s34b_b79k",
    "ViT-B-16": "laion2b_s34b_b88k",
    "ViT-L-14": "laion2b_s32b_b82k",
    "ViT-B-16-SigLIP": "webli",
    "ViT-B-16-SigLIP-256": "webli",
    "ViT-L-16-SigLIP-256": "webli",
    "ViT-SO400M-14-SigLIP": "webli",
}


def _import_open_clip():
    try:
        import open_clip
    except ImportError as e:
        raise ImportError(
            "The open_clip backend needs open_clip_torch: pip install 'fiftyone-prime[models]'"
        ) from e
    return open_clip


class OpenClipEncoder(ImageTextEncoder):
    """An open_clip model.

    Args:
        model_name ("ViT-B-32"): an open_clip architecture name
            (``open_clip.list_models()``), or a custom one registered with
            ``open_clip.add_model_config``
        pretrained ("default"): a pretrained tag (``open_clip.list_pretrained()``,
            downloaded on first use), the path of a local checkpoint file, or
            ``None`` for random weights (tests only: random weights produce
            meaningless tags). ``"default"`` picks the usual tag of the model
        device (None): ``"cuda"``, ``"cpu"``...; default: CUDA when available
        precision ("auto"): ``"fp32"``, ``"fp16"``, ``"bf16"`` autocast, or
            ``"auto"`` (fp16 on GPU, fp32 on CPU)
    """

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: Optional[str] = "default",
        device: Optional[str] = None,
        precision: str = "auto",
    ):
        open_clip = _import_open_clip()
        if pretrained == "default":
            pretrained = DEFAULT_PRETRAINED.get(model_name)
            if pretrained is None:
                raise ValueError(
                    f"No default pretrained tag for open_clip model '{model_name}'; pass "
                    "pretrained=<tag or checkpoint path> (see open_clip.list_pretrained())"
                )
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.precision_auto = precision == "auto"
        if model_name not in open_clip.list_models():
            raise ValueError(
                f"Unknown open_clip model '{model_name}'. Known models include "
                f"{open_clip.list_models()[:8]}..."
            )
        is_file = pretrained is not None and os.path.exists(os.path.expanduser(str(pretrained)))
        if pretrained is not None and not is_file and os.sep in str(pretrained):
            raise ValueError(f"Checkpoint file '{pretrained}' does not exist")
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                model_name,
                pretrained=os.path.expanduser(pretrained) if is_file else pretrained,
                device=self.device,
            )
        except Exception as e:
            if pretrained is None or is_file:
                raise
            raise RuntimeError(
                f"Could not load pretrained weights '{pretrained}' for open_clip model "
                f"'{model_name}' ({e}). Named weights are downloaded from the Hugging Face "
                "Hub on first use, which needs internet access. On an offline machine, copy "
                "the checkpoint file there and pass its path as pretrained='/path/to/file', "
                "or use model='properties', which needs no weights."
            ) from e
        if pretrained is None:
            logger.warning(
                "open_clip model '%s' has random weights: its tags are meaningless "
                "(use this for tests only)",
                model_name,
            )
        model.eval()
        self._model = model
        try:
            self._tokenizer = open_clip.get_tokenizer(model_name)
        except Exception as e:
            raise RuntimeError(
                f"Could not load the tokenizer of open_clip model '{model_name}' ({e}). SigLIP "
                "and other models with Hugging Face tokenizers fetch them from the Hub on first "
                "use; on an offline machine, copy the Hugging Face cache (~/.cache/huggingface) "
                "from a machine where the model was loaded, with HF_HUB_OFFLINE=1"
            ) from e
        self._transform = preprocess
        self._trimmable = (
            type(model).__name__ == "CLIP"
            and getattr(model, "attn_mask", None) is not None
            and getattr(model, "text_pool_type", None) == "argmax"
        )
        self.name = f"open_clip:{model_name}" + (
            f"@{os.path.basename(str(pretrained))}" if pretrained else "@random"
        )
        self.logit_scale = float(model.logit_scale.exp().item())
        bias = getattr(model, "logit_bias", None)
        self.logit_bias = float(bias.item()) if bias is not None else None
        self.cache_key = _weights_key(f"open_clip:{model_name}", pretrained, is_file)
        size = getattr(model.visual, "image_size", 224)
        self._image_size = size[0] if isinstance(size, (tuple, list)) else int(size)

    def _encode_images(self, pixels):
        return self._model.encode_image(pixels)

    def _encode_texts(self, texts):
        tokens = self._tokenizer(texts).to(self.device)
        if not self._trimmable:
            return self._model.encode_text(tokens)
        # The text tower is causal and pooled at the end-of-text token, which
        # has the largest id: positions after the longest text cannot change
        # any output, so the padding columns are dropped (prompts are ~10
        # tokens out of 77, which makes a vocabulary several times faster to
        # encode on CPU, with identical features).
        model = self._model
        length = int(tokens.argmax(dim=-1).max()) + 1
        tokens = tokens[:, :length]
        cast = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)
        x = x[torch_arange(x), tokens.argmax(dim=-1)]
        projection = model.text_projection
        if projection is None:
            return x
        return (
            projection(x)
            if callable(projection) and not hasattr(projection, "shape")
            else x @ projection
        )


def _weights_key(model: str, pretrained, is_file: bool) -> Optional[str]:
    """The weights' identity: a named tag, or a local file by path, size and
    modification time; ``None`` for random weights."""
    if pretrained is None:
        return None
    if not is_file:
        return f"{model}@{pretrained}"
    path = os.path.abspath(os.path.expanduser(str(pretrained)))
    stat = os.stat(path)
    return f"{model}@{path}:{stat.st_size}:{stat.st_mtime_ns}"


def torch_arange(x):
    import torch

    return torch.arange(x.shape[0], device=x.device)
