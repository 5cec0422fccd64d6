"""Report thumbnails of objects: crops of the view's objects, errors first."""

import os

import numpy as np
from PIL import Image

import fiftyone as fo

from fiftyone_prime.integration.reading import units as fpu
from fiftyone_prime.integration.reading.crops import crop_box, crop_thumbnails


def test_crop_box_is_clipped_and_never_empty():
    assert crop_box([0.5, 0.5, 0.25, 0.25], 100, 40) == (50, 20, 75, 30)
    assert crop_box([-0.1, 0.9, 0.0, 0.5], 100, 40) == (0, 36, 1, 40)


def test_crop_thumbnails_of_evaluated_objects(make_dataset, tmp_path):
    path = tmp_path / "img.png"
    Image.fromarray(np.full((40, 80, 3), 128, np.uint8)).save(path)
    boxes = [[0.0, 0.0, 0.4, 0.5], [0.5, 0.0, 0.4, 0.5], [0.5, 0.5, 0.4, 0.5]]
    dataset = make_dataset()
    dataset.add_sample(
        fo.Sample(
            filepath=str(path),
            ground_truth=fo.Detections(
                detections=[fo.Detection(label="a", bounding_box=b) for b in boxes]
            ),
            predictions=fo.Detections(
                detections=[fo.Detection(label="a", bounding_box=boxes[1], confidence=0.9)]
            ),
        )
    )
    dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key="eval")
    spec = fpu.resolve_units(dataset, eval_key="eval")
    out = tmp_path / "report"
    os.makedirs(out / "images")
    thumbs = crop_thumbnails(dataset, spec, str(out), max_images=10, size=16)
    assert [ok for _, ok, _ in thumbs] == [False, False, True]
    assert all(caption == "missed" for _, _, caption in thumbs)
    for rel, _, _ in thumbs:
        with Image.open(out / rel) as img:
            assert max(img.size) <= 16
