"""What a stored run reads: the inputs of a failure-mode run, from its config.

A run over label and prediction fields reads them with
:func:`fiftyone_prime.integration.reading.fields.read_inputs` (or the fast
reader, :func:`read_run_inputs`); a run over evaluation units reads its
units with :func:`read_run_units`, objects' images as crops. Which one reads
a run is its kind's choice (``RunKind.read_inputs``): re-measuring on other
data, held-out validation and the CLIP metrics ask the run's kind.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from . import fields as fpf
from . import units as fpu
from .crops import crop_box
from .reader import read_inputs_fast

logger = logging.getLogger(__name__)


def read_run_inputs(samples, config, extra_paths: Sequence[str] = ()) -> fpf.SearchInputs:
    """:func:`fiftyone_prime.integration.reading.fields.read_inputs` with the
    fields of a failure-mode run's config (through the fast reader when no
    other paths are asked for): how the failure-mode run kind reads its runs
    (see ``RunKind.read_inputs``; runs over evaluation units are read by
    :func:`read_run_units`)."""
    fpf.check_sample_collection(samples, "Re-measuring a run")
    if not extra_paths:
        return read_inputs_fast(samples, config.label_field, config.pred_field, config.tags_fields)
    return fpf.read_inputs(
        samples, config.label_field, config.pred_field, config.tags_fields, extra_paths
    )


def run_tag_sources(samples, config) -> list:
    """The tag sources of a stored run, validated against ``samples``."""
    return fpu.unit_tag_sources(
        samples, fpu.UnitSpec.from_dict(config.unit_spec), config.tags_fields
    )


def read_run_units(samples, config, extra_paths: Sequence[str] = ()) -> fpu.UnitInputs:
    """Reads the units of a stored evaluation run from ``samples`` (to
    re-measure its modes on other data, or to score them with CLIP).

    For object units, ``"filepath"`` is each object's crop (a PNG written
    on first use to a temporary folder that goes away with the returned
    inputs), so whatever encodes "the unit's image" encodes the crop; any
    other path but ``"id"`` (an image embeddings field) reads as missing,
    since an image's embedding is not its object's.
    """
    fpf.check_sample_collection(samples, "Re-measuring a run")
    spec = fpu.UnitSpec.from_dict(config.unit_spec)
    root = samples._root_dataset
    if spec.eval_key is not None and spec.eval_key not in root.list_evaluations():
        raise ValueError(
            f"Dataset '{root.name}' has no evaluation '{spec.eval_key}', whose outcomes the "
            f"run read; evaluate it first under the same key (e.g. "
            f"dataset.evaluate_{spec.eval_type or 'classification'}s(..., "
            f"eval_key='{spec.eval_key}'))"
        )
    sources = run_tag_sources(samples, config)
    if not spec.is_objects or spec.is_multilabel:  # a multilabel unit's image is its sample's
        return fpu.read_units(samples, spec, sources, extra_paths)
    sample_paths = [p for p in extra_paths if p in ("id", "filepath")]
    object_paths = ["id", "bounding_box"] if "filepath" in extra_paths else []
    inputs = fpu.read_units(samples, spec, sources, sample_paths, object_paths)
    if "filepath" in extra_paths:
        inputs.extra["filepath"] = CropFiles(
            inputs.extra["filepath"],
            inputs.object_extra["bounding_box"],
            inputs.object_extra["id"],
        )
    for path in extra_paths:
        if path not in inputs.extra:
            inputs.extra[path] = np.full(inputs.num_used, None, dtype=object)
    return inputs


class CropFiles:
    """Per unit, the path of its object's crop, written on first access.

    Args:
        image_paths: per unit, its image's path
        boxes: per unit, its relative ``[x, y, w, h]`` box
        object_ids: per unit, its object's id (the crop's file name)
    """

    def __init__(self, image_paths, boxes, object_ids):
        import tempfile

        self._images = image_paths
        self._boxes = boxes
        self._ids = object_ids
        self._dir = tempfile.TemporaryDirectory(prefix="prime-crops-")

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, r):
        import os

        from PIL import Image

        target = os.path.join(self._dir.name, f"{self._ids[r]}.png")
        if not os.path.exists(target):
            try:
                with Image.open(self._images[r]) as img:
                    img = img.convert("RGB")
                    img.crop(crop_box(self._boxes[r], *img.size)).save(target)
            except OSError as e:  # the loader reports the unreadable file
                logger.warning(
                    "Cannot crop object %s of '%s': %s", self._ids[r], self._images[r], e
                )
                return self._images[r] + ".unreadable"
        return target
