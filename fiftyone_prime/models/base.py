"""The interface every image-text encoder implements, and shared torch helpers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Optional

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def resolve_device(device: Optional[str] = None) -> str:
    """``None`` picks ``cuda`` when available, else ``cpu``."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"`device` '{device}' was requested but CUDA is not available here")
    return device


#: /proc/cpuinfo flags of CPUs that run bf16 matrix products natively.
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU runs bf16 natively (AMX or AVX512-BF16).

    Elsewhere (e.g. AVX2-only CPUs) torch emulates bf16, which is slower
    than fp32. Reads torch's CPU capability and the ``/proc/cpuinfo`` flags.
    """
    try:
        import torch

        capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    except Exception:
        capability = ""
    if "AMX" in capability:
        return True
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(flag in flags for flag in NATIVE_BF16_FLAGS)
    except OSError:
        pass
    return False


#: bf16 chosen by ``precision="auto"`` is kept only if, on the first batch,
#: at least this share of images get the same top tag as in fp32 ...
BF16_MIN_TOP1_AGREEMENT = 0.95
#: ... and no image-tag cosine similarity moves by more than this.
BF16_MAX_SIMILARITY_DIFF = 0.02


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` is fp16 autocast on GPU; on CPU, bf16 autocast where the CPU
    runs bf16 natively (:func:`cpu_has_native_bf16`), else fp32. A zero-shot
    tagger then checks bf16 against fp32 on its first batch (see
    :meth:`fiftyone_prime.models.zero_shot.ZeroShotTagger.tag_batch`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}; got {precision!r}")
    if precision == "auto":
        if device.startswith("cuda"):
            return "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return precision


def autocast(device: str, precision: str):
    """The autocast context for a precision (a no-op for fp32)."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=dtype)


class ImageTextEncoder:
    """A CLIP-like model: images and texts into one normalized embedding space.

    Subclasses set :attr:`name`, :attr:`device`, :attr:`precision`,
    :attr:`logit_scale`, :attr:`logit_bias` (sigmoid-trained models),
    :attr:`cache_key`, ``_transform`` and ``_image_size``, and implement
    :meth:`_encode_images` and :meth:`_encode_texts`.
    """

    name: str = "encoder"
    device: str = "cpu"
    precision: str = "fp32"
    #: whether ``precision`` was chosen by ``"auto"`` (and may be revised)
    precision_auto: bool = False
    #: the bf16-vs-fp32 check of ``"auto"`` on CPU, once made
    precision_check: Optional[dict] = None
    logit_scale: float = 100.0
    #: the learned bias of sigmoid-trained models (SigLIP): their image-text
    #: probability is ``sigmoid(logit_scale * cosine + logit_bias)``; ``None``
    #: for softmax-trained (CLIP) models
    logit_bias: Optional[float] = None
    #: identifies the weights for the on-disk text-feature cache (model, weights
    #: and their version); ``None`` (random or unidentifiable weights) keeps
    #: text features in memory only
    cache_key: Optional[str] = None

    _transform: Callable = None
    _image_size: int = 224

    @property
    def image_transform(self) -> Callable:
        """A picklable callable: PIL image -> ``(3, H, W)`` float tensor."""
        if self._transform is None:
            raise NotImplementedError("subclasses set self._transform")
        return self._transform

    @property
    def image_size(self) -> int:
        """The side of the square input images (used to decode JPEGs small)."""
        return self._image_size

    def encode_images(self, pixels):
        """Returns L2-normalized float32 embeddings of a ``(B, 3, H, W)`` batch."""
        import torch

        with torch.no_grad(), autocast(self.device, self.precision):
            features = self._encode_images(pixels.to(self.device, non_blocking=True))
        return torch.nn.functional.normalize(features.float(), dim=-1)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256):
        """Returns L2-normalized float32 embeddings of texts."""
        import torch

        out = []
        with torch.no_grad(), autocast(self.device, self.precision):
            for start in range(0, len(texts), batch_size):
                out.append(self._encode_texts(list(texts[start : start + batch_size])).float())
        return torch.nn.functional.normalize(torch.cat(out), dim=-1)

    def _encode_images(self, pixels):
        raise NotImplementedError

    def _encode_texts(self, texts):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, device={self.device!r}, precision={self.precision!r})"
