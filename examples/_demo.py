"""A small generated dataset for trying the examples (and for running them in CI).

Every example takes ``--dataset NAME`` (your own dataset) or ``--demo`` (this
one). The demo is an image classifier's predictions on 900 generated images
of three classes, with a "detector's" ``Detections`` in ``objects`` and two
planted failure modes: ``dog`` images with both ``snow`` and ``car``
detections, and ``cat`` images with a ``tree``, are mostly misclassified.
"""

import os
import tempfile
import uuid

import numpy as np

from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD

CLASSES = ("bird", "cat", "dog")
OBJECTS = ("car", "person", "snow", "tree")


def make_demo_dataset(name=None, per_class=300, seed=0, persistent=True):
    """Creates the demo dataset (with small PNG images) and returns it."""
    from PIL import Image

    import fiftyone as fo

    rng = np.random.default_rng(seed)
    name = name or f"prime-demo-{uuid.uuid4().hex[:8]}"
    image_dir = tempfile.mkdtemp(prefix="prime-demo-images-")
    samples = []
    for label in CLASSES:
        for i in range(per_class):
            present = [o for o in OBJECTS if rng.random() < 0.4]
            if label == "dog" and {"snow", "car"} <= set(present):
                p_correct = 0.1
            elif label == "cat" and "tree" in present:
                p_correct = 0.3
            else:
                p_correct = 0.92
            pred = (
                label
                if rng.random() < p_correct
                else rng.choice([c for c in CLASSES if c != label])
            )
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            path = os.path.join(image_dir, f"{label}-{i:04d}.png")
            Image.fromarray(pixels).save(path)
            detections = [
                fo.Detection(
                    label=o,
                    bounding_box=[*rng.uniform(0, 0.5, 2), 0.3, 0.3],
                    confidence=float(rng.uniform(0.5, 1.0)),
                )
                for o in present
            ]
            samples.append(
                fo.Sample(
                    filepath=path,
                    ground_truth=fo.Classification(label=label),
                    predictions=fo.Classification(label=str(pred)),
                    objects=fo.Detections(detections=detections),
                )
            )
    dataset = fo.Dataset(name)
    dataset.persistent = persistent
    dataset.add_samples(samples, progress=False)
    return dataset


def dataset_from_args(description):
    """Parses ``--dataset NAME`` / ``--demo`` (and ``--keep``); returns
    ``(dataset, args, cleanup)``: ``cleanup()`` deletes a demo dataset unless
    ``--keep`` was given."""
    import argparse

    import fiftyone as fo

    parser = argparse.ArgumentParser(description=description)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--dataset", help="the name of your FiftyOne dataset")
    group.add_argument(
        "--demo", action="store_true", help="use a small generated dataset (examples/_demo.py)"
    )
    parser.add_argument(
        "--label-field",
        default=LABEL_FIELD,
        help=f"the ground-truth Classification field (default: {LABEL_FIELD})",
    )
    parser.add_argument(
        "--pred-field",
        default=PRED_FIELD,
        help=f"the predicted Classification field (default: {PRED_FIELD})",
    )
    parser.add_argument(
        "--tags-field",
        default="objects",
        help="the field whose labels are the tags, e.g. a detector's Detections (default: objects)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the demo dataset")
    args = parser.parse_args()
    if args.demo:
        dataset = make_demo_dataset()
        print(f"Generated the demo dataset '{dataset.name}' ({len(dataset)} samples)")

        def cleanup():
            if args.keep:
                print(f"Kept the demo dataset: fiftyone app launch {dataset.name}")
            elif fo.dataset_exists(dataset.name):
                fo.delete_dataset(dataset.name)
    else:
        dataset = fo.load_dataset(args.dataset)

        def cleanup():
            pass

    return dataset, args, cleanup


#: The multilabel demo's classes and image tags (:func:`make_multilabel_demo_dataset`).
MULTILABEL_CLASSES = ("bicycle", "car", "dog", "person")
SCENE_TAGS = ("beach", "crowd", "indoor", "night", "rain", "snow", "street")


def make_multilabel_demo_dataset(name=None, n=1200, seed=0, persistent=True):
    """A multilabel classifier's demo: each sample lists some of
    :data:`MULTILABEL_CLASSES` in ``ground_truth`` (``Classifications``) and
    carries :data:`SCENE_TAGS` in ``scene``. Two models predict every class
    with a confidence (a class counts as predicted at 0.5): ``predictions_v1``
    finds present classes 95% of the time with 3% false alarms;
    ``predictions`` does too, except that it misses ``person`` on most
    images tagged {night, crowd} and calls ``dog`` on most dog-free images
    tagged {indoor, rain}. No images are written (the filepaths are
    placeholders): a search reads labels and tags only."""
    import fiftyone as fo

    rng = np.random.default_rng(seed)

    def predict(present, tags, planted):
        out = []
        for c in MULTILABEL_CLASSES:
            if c in present:
                p = 0.15 if planted and c == "person" and {"night", "crowd"} <= tags else 0.95
            else:
                p = 0.7 if planted and c == "dog" and {"indoor", "rain"} <= tags else 0.03
            hit = rng.random() < p
            conf = rng.uniform(0.6, 1.0) if hit else rng.uniform(0.0, 0.4)
            out.append(fo.Classification(label=c, confidence=float(conf)))
        return fo.Classifications(classifications=out)

    samples = []
    for i in range(n):
        present = {c for c in MULTILABEL_CLASSES if rng.random() < 0.5}
        tags = {t for t in SCENE_TAGS if rng.random() < 0.3}
        samples.append(
            fo.Sample(
                filepath=f"/tmp/prime-multilabel-demo/{i:05d}.jpg",
                ground_truth=fo.Classifications(
                    classifications=[fo.Classification(label=c) for c in sorted(present)]
                ),
                scene=fo.Classifications(
                    classifications=[fo.Classification(label=t) for t in sorted(tags)]
                ),
                predictions=predict(present, tags, planted=True),
                predictions_v1=predict(present, tags, planted=False),
            )
        )
    dataset = fo.Dataset(name or f"prime-demo-multilabel-{uuid.uuid4().hex[:8]}")
    dataset.persistent = persistent
    dataset.add_samples(samples, progress=False)
    return dataset
