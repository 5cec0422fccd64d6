"""Decoding images for a model, in DataLoader worker processes."""

from __future__ import annotations

from typing import Callable, Optional, Sequence


# PIL modes of high-bit-depth grayscale images (16-bit PNGs open as "I;16" or "I").
_WIDE_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def to_rgb(img):
    """Converts a PIL image to 8-bit RGB, scaling 16-bit grayscale to 0-255.

    PIL's own ``convert("RGB")`` clips 16-bit values at 255, so nearly every
    pixel of a 16-bit PNG would come out white.
    """
    if img.mode in _WIDE_GRAY_MODES:
        import numpy as np
        from PIL import Image

        values = np.clip(np.asarray(img, dtype=np.float64), 0, 65535)
        img = Image.fromarray(np.round(values / 257.0).astype(np.uint8), mode="L")
    return img.convert("RGB")


def load_image(path: str, draft_size: Optional[int] = None):
    """Opens an image as RGB, letting JPEG decode at reduced size when it can.

    Args:
        path: the image path
        draft_size (None): the smallest side the caller needs; JPEGs are then
            decoded at the smallest power-of-two reduction still at least
            twice that size, which is several times faster for large photos

    Raises:
        OSError: if the file is missing, truncated or not an image
    """
    from PIL import Image

    with Image.open(path) as img:
        if draft_size and img.format == "JPEG":
            img.draft("RGB", (2 * draft_size, 2 * draft_size))
        return to_rgb(img)


class ImageFiles:
    """A torch-style dataset of image files; failures are returned, not raised.

    Each item is ``(index, transformed image or None, error message or None)``.
    """

    def __init__(self, filepaths: Sequence[str], transform: Callable,
                 draft_size: Optional[int] = None):
        self.filepaths = list(filepaths)
        self.transform = transform
        self.draft_size = draft_size

    def __len__(self):
        return len(self.filepaths)

    def __getitem__(self, index):
        try:
            image = load_image(self.filepaths[index], self.draft_size)
            return index, self.transform(image), None
        except Exception as e:  # corrupt, truncated, missing: reported by the caller
            return index, None, f"{type(e).__name__}: {e}"


def collate(items):
    """Stacks the images that loaded; keeps the indices and errors of the rest."""
    import torch

    ok = [(i, x) for i, x, err in items if err is None]
    failed = [(i, err) for i, x, err in items if err is not None]
    indices = [i for i, _ in ok]
    if ok and isinstance(ok[0][1], torch.Tensor):
        batch = torch.stack([x for _, x in ok])
    else:
        batch = [x for _, x in ok]
    return indices, batch, failed


def worker_init(_):
    """Keeps each decoding worker on one thread so workers do not fight the model."""
    import torch

    torch.set_num_threads(1)


def image_loader(filepaths: Sequence[str], transform: Callable, draft_size: Optional[int], *,
                 batch_size: Optional[int], num_workers: Optional[int], on_gpu: bool):
    """A DataLoader that decodes images in worker processes for a model.

    Defaults: batches of 128 on GPU and 32 on CPU; as many workers as CPU
    cores (at most 8) on GPU and one on CPU, where the model needs the cores.
    Each batch is ``(indices, stacked images, [(index, error)])``.
    """
    import os

    import torch

    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1) if on_gpu else 1
    return torch.utils.data.DataLoader(
        ImageFiles(filepaths, transform, draft_size),
        batch_size=batch_size or (128 if on_gpu else 32),
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=on_gpu,
        worker_init_fn=worker_init if num_workers else None,
        prefetch_factor=4 if num_workers else None,
    )
