"""FiftyOne models as PRIME encoders: zoo models by name, or loaded model objects.

FiftyOne's CLIP-like models (``clip-vit-base32-torch``, ``open-clip-torch``,
the zero-shot transformers models...) embed images (``embed_all``, through
their embeddings layer) and prompts (``embed_prompts``). :class:`FiftyOneModelEncoder`
adapts one to :class:`ImageTextEncoder`: FiftyOne loads the model (and its
weights, from the zoo cache ``fo.config.model_zoo_dir``), and its own
transforms and forward pass embed the images; PRIME decodes the images in its
batches and feeds the transformed tensors to the model.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Optional

from .base import ImageTextEncoder

logger = logging.getLogger(__name__)

#: The prefix of zoo model specs: ``"zoo:clip-vit-base32-torch"``.
ZOO_PREFIX = "zoo:"


def is_fiftyone_model(model) -> bool:
    """Whether ``model`` looks like a FiftyOne model that embeds images and prompts."""
    return hasattr(model, "embed_prompts") and hasattr(model, "embed_all")


def load_zoo_encoder(name: str, device: Optional[str] = None) -> FiftyOneModelEncoder:
    """Loads a FiftyOne zoo model by name, from the zoo cache or by download.

    Raises:
        ValueError: if the zoo has no such model, or it cannot embed prompts
        RuntimeError: if its weights are not in the zoo cache and cannot be
            downloaded (or loaded), with what to do about it
    """
    import fiftyone as fo
    import fiftyone.zoo.models as fozm

    try:
        zoo_model = fozm.get_zoo_model(name)
    except Exception as e:
        raise ValueError(
            f"'{name}' is not a FiftyOne zoo model ({e}). List them with `fiftyone zoo models "
            "list`; CLIP-like ones include clip-vit-base32-torch and open-clip-torch"
        ) from e
    offline_help = (
        f"Download it where there is internet access (`fiftyone zoo models download {name}`) "
        f"and copy the zoo folder ({fo.config.model_zoo_dir}, set by "
        "FIFTYONE_MODEL_ZOO_DIR) here; or pass a local checkpoint with "
        "model='open_clip:<architecture>' and pretrained='/path/to/file'; or use "
        "model='properties', which needs no weights"
    )
    if zoo_model.manager is not None and not fozm.is_zoo_model_downloaded(name):
        try:
            fozm.download_zoo_model(name)
        except Exception as e:
            raise RuntimeError(
                f"The weights of zoo model '{name}' are not in the zoo cache "
                f"({fo.config.model_zoo_dir}) and could not be downloaded "
                f"({type(e).__name__}: {e}). {offline_help}"
            ) from e
    kwargs = {} if device is None else {"device": device}
    try:
        model = fozm.load_zoo_model(name, download_if_necessary=False, **kwargs)
    except Exception as e:
        raise RuntimeError(
            f"Could not load zoo model '{name}' ({type(e).__name__}: {e}). Zoo models whose "
            "weights FiftyOne does not manage (e.g. open-clip-torch, Hugging Face models) "
            f"download them when loaded, which needs internet access. {offline_help}"
        ) from e
    return FiftyOneModelEncoder(model, name=f"{ZOO_PREFIX}{name}")


@contextlib.contextmanager
def _bare_prompts(model):
    """FiftyOne's CLIP wrappers put ``config.text_prompt`` ("A photo of") before
    every prompt; PRIME's prompts are whole sentences, so it is emptied."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "text_prompt"):
        yield
        return
    old = config.text_prompt
    config.text_prompt = ""
    try:
        yield
    finally:
        config.text_prompt = old


@contextlib.contextmanager
def _no_preprocess(model):
    """The batches are already transformed (as FiftyOne's ``apply_model`` does)."""
    if not hasattr(model, "preprocess"):
        yield
        return
    old = model.preprocess
    model.preprocess = False
    try:
        yield
    finally:
        model.preprocess = old


class FiftyOneModelEncoder(ImageTextEncoder):
    """A FiftyOne model that embeds images and prompts, as an encoder.

    Args:
        model: a :class:`fiftyone.core.models.Model` with embeddings
            (``has_embeddings``) that can embed prompts (``can_embed_prompts``)
            and a ``transforms`` function, e.g. from
            ``fiftyone.zoo.load_zoo_model("clip-vit-base32-torch")``
        name (None): the name shown in summaries

    The model's device and precision are FiftyOne's choice (autocast on GPU);
    ``precision`` arguments of PRIME do not apply to it.
    """

    def __init__(self, model, name: Optional[str] = None):
        if not (
            getattr(model, "can_embed_prompts", False) and getattr(model, "has_embeddings", False)
        ):
            raise ValueError(
                f"The FiftyOne model {type(model).__name__} does not embed both images and "
                "prompts; PRIME needs a CLIP-like model (e.g. zoo models clip-vit-base32-torch "
                "or open-clip-torch)"
            )
        transforms = getattr(model, "transforms", None)
        if transforms is None:
            raise ValueError(
                f"The FiftyOne model {type(model).__name__} has no `transforms`; PRIME feeds it "
                "transformed image batches"
            )
        self.fiftyone_model = model
        self.name = name or f"fiftyone:{type(model).__name__}"
        self.device = str(getattr(model, "device", None) or "cpu")
        self.precision = "fp16" if getattr(model, "using_half_precision", False) else "fp32"
        self._transform = transforms
        size = getattr(getattr(model, "config", None), "image_size", None)
        self._image_size = int(size[0] if isinstance(size, (list, tuple)) else size or 224)
        scale = getattr(getattr(model, "_model", None), "logit_scale", None)
        try:
            self.logit_scale = float(scale.exp().item()) if scale is not None else 100.0
        except Exception:  # not a tensor: keep CLIP's usual scale
            self.logit_scale = 100.0
        bias = getattr(getattr(model, "_model", None), "logit_bias", None)  # SigLIP
        try:
            self.logit_bias = float(bias.reshape(-1)[0].item()) if bias is not None else None
        except Exception:
            self.logit_bias = None

    def encode_images(self, pixels):
        import numpy as np
        import torch

        with _no_preprocess(self.fiftyone_model):
            features = self.fiftyone_model.embed_all(pixels)
        features = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        return torch.nn.functional.normalize(features.reshape(len(features), -1), dim=-1)

    def encode_texts(self, texts, batch_size: int = 256):
        import numpy as np
        import torch

        out = []
        with _bare_prompts(self.fiftyone_model):
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start : start + batch_size])
                out.append(np.asarray(self.fiftyone_model.embed_prompts(chunk), dtype=np.float32))
        return torch.nn.functional.normalize(torch.from_numpy(np.concatenate(out)), dim=-1)
