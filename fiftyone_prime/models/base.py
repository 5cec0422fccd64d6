"""The interface every image-text encoder implements, and shared torch helpers."""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Optional, Sequence

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


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` is fp16 autocast on GPU and fp32 on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}; got {precision!r}")
    if precision == "auto":
        return "fp16" if device.startswith("cuda") else "fp32"
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
    :attr:`logit_scale`, ``_transform`` and ``_image_size``, and implement
    :meth:`_encode_images` and :meth:`_encode_texts`.
    """

    name: str = "encoder"
    device: str = "cpu"
    precision: str = "fp32"
    logit_scale: float = 100.0

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
