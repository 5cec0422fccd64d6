"""Object crops: the pixel box of an object, and report thumbnails of the
objects of a failure mode (errors first), for runs whose units are objects."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)


def crop_box(bounding_box, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel box ``(left, top, right, bottom)`` of a relative
    ``[x, y, w, h]`` box, clipped to the image and at least one pixel wide."""
    x, y, w, h = bounding_box
    left = int(max(0.0, x) * width)
    top = int(max(0.0, y) * height)
    right = max(left + 1, int(min(1.0, x + w) * width))
    bottom = max(top + 1, int(min(1.0, y + h) * height))
    return left, top, right, bottom


def crop_thumbnails(view, spec, out_dir: str, max_images: int, size: int) -> list:
    """Thumbnails of the objects in a failure mode's view (which holds exactly
    the mode's objects), wrong ones first.

    Args:
        view: the mode's saved view
        spec: the run's :class:`fiftyone_prime.integration.reading.units.UnitSpec`
        out_dir: the report folder (thumbnails go to ``images/``)
        max_images: the most thumbnails
        size: their long side in pixels

    Returns:
        ``(relative path, right, caption)`` per thumbnail, as the report's
        image thumbnails
    """
    from PIL import Image

    from . import units as fpu

    paths, objects = view.values(["filepath", spec.list_path])
    outcome = spec.eval_key if spec.correct_field is None else None
    wrong_word = "missed" if spec.units == fpu.GT else "false positive"
    items = []
    for path, dets in zip(paths, objects):
        for det in dets or []:
            if outcome is not None:
                right = det.get_attribute_value(outcome, None) == "tp"
            elif isinstance(spec.correct_field, str):
                attr = spec.correct_field[len(spec.list_path) + 1 :]
                right = bool(det.get_attribute_value(attr, False))
            else:
                right = None  # an expression: shown without a verdict
            items.append((right is not False, path, det, right))
    items.sort(key=lambda item: item[0])
    thumbs = []
    for _, path, det, right in items[:max_images]:
        name = f"{det.id}.jpg"
        target = os.path.join(out_dir, "images", name)
        if not os.path.exists(target):
            try:
                with Image.open(path) as img:
                    img = img.convert("RGB")
                    img = img.crop(crop_box(det.bounding_box, *img.size))
                    img.thumbnail((size, size))
                    img.save(target, quality=88)
            except Exception as e:  # a missing image must not stop the report
                logger.warning("Skipping the crop of object %s of '%s': %s", det.id, path, e)
                continue
        thumbs.append((f"images/{name}", right is not False, wrong_word))
    return thumbs
