"""Decoding images for a model, in worker processes.

Encoders get a torch ``DataLoader``; taggers that need no torch (the
weight-free ``properties`` tagger) get :func:`image_batches`, which uses a
plain process pool, so they run where torch is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

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

    def __init__(
        self, filepaths: Sequence[str], transform: Callable, draft_size: Optional[int] = None
    ):
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
    """Stacks the images that loaded; keeps the indices and errors of the rest.

    numpy arrays are stacked with numpy, torch tensors with torch (imported
    only then), anything else is returned as a list.
    """
    import numpy as np

    ok = [(i, x) for i, x, err in items if err is None]
    failed = [(i, err) for i, x, err in items if err is not None]
    indices = [i for i, _ in ok]
    if ok and isinstance(ok[0][1], np.ndarray):
        batch = np.stack([x for _, x in ok])
    elif ok and type(ok[0][1]).__module__.startswith("torch"):
        import torch

        batch = torch.stack([x for _, x in ok])
    else:
        batch = [x for _, x in ok]
    return indices, batch, failed


def image_batches(
    filepaths: Sequence[str],
    transform: Callable,
    draft_size: Optional[int],
    *,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
):
    """Like :func:`image_loader`, without torch: a process pool decodes.

    Args:
        filepaths: the images
        transform: a picklable callable, PIL image -> numpy array
        draft_size (None): see :func:`load_image`
        batch_size (None): images per batch (32)
        num_workers (None): decoding processes (1); 0 decodes in this process

    Yields:
        ``(indices, stacked arrays, [(index, error)])`` per batch, in order
    """
    batch_size = batch_size or 32
    num_workers = 1 if num_workers is None else num_workers
    items = ((i, path, transform, draft_size) for i, path in enumerate(filepaths))
    if num_workers == 0:
        decoded = map(_decode, items)
        pool = None
    else:
        import multiprocessing

        # fork, as torch's DataLoader does on Linux: spawn would re-run an
        # unguarded user script in every worker
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        pool = context.Pool(num_workers)
        decoded = pool.imap(_decode, items, chunksize=max(1, batch_size // (2 * num_workers)))
    try:
        chunk = []
        for item in decoded:
            chunk.append(item)
            if len(chunk) == batch_size:
                yield collate(chunk)
                chunk = []
        if chunk:
            yield collate(chunk)
    finally:
        if pool is not None:
            pool.terminate()


def _decode(args):
    """``(index, path, transform, draft_size)`` -> ``(index, output or None, error or None)``."""
    index, path, transform, draft_size = args
    _, output, error = ImageFiles([path], transform, draft_size)[0]
    return index, output, error


def worker_init(_):
    """Keeps each decoding worker on one thread so workers do not fight the model."""
    import torch

    torch.set_num_threads(1)


def image_loader(
    filepaths: Sequence[str],
    transform: Callable,
    draft_size: Optional[int],
    *,
    batch_size: Optional[int],
    num_workers: Optional[int],
    on_gpu: bool,
    needs_torch: bool = True,
):
    """A DataLoader that decodes images in worker processes for a model.

    With ``needs_torch=False`` (a tagger whose transform returns numpy), the
    batches come from :func:`image_batches` instead and torch is not imported.

    Defaults: batches of 128 on GPU and 32 on CPU; as many workers as CPU
    cores (at most 8) on GPU and one on CPU, where the model needs the cores.
    Each batch is ``(indices, stacked images, [(index, error)])``.
    """
    import os

    if not needs_torch:
        return image_batches(
            filepaths, transform, draft_size, batch_size=batch_size, num_workers=num_workers
        )
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
