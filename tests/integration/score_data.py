"""Generated datasets with one planted score mode: a regression evaluation
(each sample's error), a segmentation evaluation and a detection
evaluation's IoUs, with known answers.

Regression: 600 samples, each tagged with each of ``TAGS`` independently
(seeded); a sample carrying both ``snow`` and ``night`` (the planted pair) is
predicted 3 off, every other sample 0.5 off or less, so its squared error is
about 9 against at most 0.25. Single tags and other pairs stay far below the
pair's mean: with ``PLANTED_PARAMS`` the pair is the one mode.
"""

import numpy as np

import fiftyone as fo
from fiftyone import ViewField as F

TAGS = ("snow", "night", "fog", "rain", "blur", "dark")
PLANTED_PAIR = ("night", "snow")
CLASSES = ("cat", "dog")

#: Thresholds in the score's units (squared error) under which the planted
#: pair is the only mode: its mean is about 9 against about 0.9 for the
#: group, single tags reach about 3.
PLANTED_PARAMS = dict(min_size=20, min_drop=3.0, min_gain=1.0, max_tags=2)


def planted_tags(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    has = rng.random((n, len(TAGS))) < 0.35
    return [[t for t, h in zip(TAGS, row) if h] for row in has]


def regression_samples(n: int = 600, seed: int = 0) -> list:
    """Samples with a ``Regression`` ground truth and prediction, tags in
    ``prime_tags`` and a class in ``cls`` (alternating)."""
    rng = np.random.default_rng(seed + 1)
    samples = []
    for i, tags in enumerate(planted_tags(n, seed)):
        gt = float(rng.normal())
        off = 3.0 if set(PLANTED_PAIR) <= set(tags) else float(rng.uniform(-0.5, 0.5))
        samples.append(
            fo.Sample(
                filepath=f"/tmp/prime-score-{i}.jpg",
                prime_tags=tags,
                gt=fo.Regression(value=gt),
                pred=fo.Regression(value=gt + off),
                cls=fo.Classification(label=CLASSES[i % 2]),
            )
        )
    return samples


def regression_dataset(dataset, eval_key: str = "reg"):
    """``dataset`` with the planted regression samples, evaluated under
    ``eval_key`` (``evaluate_regressions``: squared error per sample)."""
    dataset.add_samples(regression_samples())
    dataset.evaluate_regressions("pred", gt_field="gt", eval_key=eval_key)
    return dataset


def planted_ids(dataset) -> set:
    """The ids of the samples carrying the planted pair."""
    view = dataset.match(F("prime_tags").contains(list(PLANTED_PAIR), all=True))
    return set(view.values("id"))


#: Thresholds (IoU, accuracy: in [0, 1]) under which the planted pair is the
#: one mode of the detection and segmentation datasets: its mean is about
#: 0.3 worse than its group's, a single tag's about 0.1.
PLANTED_UNIT_PARAMS = dict(min_size=20, min_drop=0.18, min_gain=0.05, max_tags=2)


def detection_samples(n: int = 400, seed: int = 0) -> list:
    """One ground-truth car per image, tagged in its ``attrs``; the
    prediction overlaps it with IoU about 0.55 for the planted pair, about
    0.9 otherwise; one image in twenty has no prediction (a miss, which
    scores IoU 0)."""
    rng = np.random.default_rng(seed + 2)
    samples = []
    w, h = 0.3, 0.3
    for i, tags in enumerate(planted_tags(n, seed)):
        iou = 0.55 if set(PLANTED_PAIR) <= set(tags) else 0.9
        iou = float(np.clip(iou + rng.uniform(-0.05, 0.05), 0.51, 0.99))
        dx = w * (1 - iou) / (1 + iou)  # a shift along x by dx gives that IoU
        gt = fo.Detection(label="car", bounding_box=[0.1, 0.1, w, h], attrs=list(tags))
        preds = [] if i % 20 == 7 else [
            fo.Detection(label="car", bounding_box=[0.1 + dx, 0.1, w, h], confidence=0.9)
        ]  # fmt: skip
        samples.append(
            fo.Sample(
                filepath=f"/tmp/prime-det-{i}.jpg",
                ground_truth=fo.Detections(detections=[gt]),
                predictions=fo.Detections(detections=preds),
            )
        )
    return samples


def detection_dataset(dataset, eval_key: str = "eval"):
    """``dataset`` with :func:`detection_samples`, evaluated under
    ``eval_key`` (``evaluate_detections``, IoU 0.5: every prediction is
    matched; FiftyOne writes ``<eval_key>_iou`` on matched objects)."""
    dataset.add_samples(detection_samples())
    dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key=eval_key, iou=0.5)
    return dataset


def segmentation_samples(n: int = 400, seed: int = 0) -> list:
    """16x16 masks; the prediction gets about half the pixels wrong on
    samples with the planted pair, about a tenth otherwise."""
    rng = np.random.default_rng(seed + 3)
    samples = []
    for i, tags in enumerate(planted_tags(n, seed)):
        gt = rng.integers(0, 3, size=(16, 16)).astype(np.uint8)
        wrong_rate = 0.5 if set(PLANTED_PAIR) <= set(tags) else 0.1
        wrong = rng.random((16, 16)) < wrong_rate
        pred = np.where(wrong, (gt + 1) % 3, gt).astype(np.uint8)
        samples.append(
            fo.Sample(
                filepath=f"/tmp/prime-seg-{i}.jpg",
                prime_tags=tags,
                gt=fo.Segmentation(mask=gt),
                pred=fo.Segmentation(mask=pred),
            )
        )
    return samples


def segmentation_dataset(dataset, eval_key: str = "seg"):
    """``dataset`` with :func:`segmentation_samples`, evaluated under
    ``eval_key`` (``evaluate_segmentations``: each sample's pixel accuracy,
    precision and recall)."""
    dataset.add_samples(segmentation_samples())
    dataset.evaluate_segmentations("pred", gt_field="gt", eval_key=eval_key)
    return dataset
