"""Failure modes of an object detector, read from a FiftyOne detection evaluation.

With ``--demo``, generates a detection dataset (no images needed: boxes and
metadata only) and a simulated detector with planted failures:

-   it misses most ``person`` objects annotated as ``night`` + ``occluded``
    (object attributes), and most ``car`` objects that are small (a geometry
    tag computed by ``compute_object_tags``);
-   it fires false ``dog`` boxes at the image border.

A second detector (``predictions_v2``) mostly agrees with the first and finds
some of what it misses, but misses most of the ``car`` objects annotated as
``night`` + ``rain`` that the first finds.

Then it evaluates the detectors with FiftyOne's ``evaluate_detections``,
finds the object-level failure modes of the ground truth (misses) and of the
predictions (false positives), compares the two detectors object by object
(where did the second get worse?), and shows that each mode's saved view
holds exactly its objects.

    python examples/detection.py --demo
    python examples/detection.py --dataset my-dataset --eval-key eval \\
        --tags-field ground_truth.detections.attrs
"""

import argparse
import uuid

import numpy as np

import fiftyone as fo

import fiftyone_prime as fp

CLASSES = ("car", "person", "dog")
ATTRS = ("night", "occluded", "rain", "truncated")


def make_detection_dataset(n_images=600, seed=0):
    rng = np.random.default_rng(seed)
    rng_v2 = np.random.default_rng(seed + 1)  # the second detector's own draws
    samples = []
    for i in range(n_images):
        gts, preds, preds_v2 = [], [], []
        for _ in range(rng.integers(2, 7)):
            label = str(rng.choice(CLASSES))
            w, h = rng.uniform(0.03, 0.3, 2)
            if label == "car" and rng.random() < 0.3:
                w, h = rng.uniform(0.01, 0.04, 2)  # small cars
            x, y = rng.uniform(0.05, 0.95 - w), rng.uniform(0.05, 0.95 - h)
            attrs = [a for a in ATTRS if rng.random() < 0.3]
            box = [float(x), float(y), float(w), float(h)]
            gts.append(fo.Detection(label=label, bounding_box=box, attrs=attrs))
            p_found = 0.9
            if label == "person" and {"night", "occluded"} <= set(attrs):
                p_found = 0.2
            if label == "car" and w * h * 640 * 480 < 32**2:
                p_found = 0.25
            found = rng.random() < p_found
            if found:
                preds.append(fo.Detection(label=label, bounding_box=box, confidence=0.9))
            # v2 mostly agrees with v1, finds some of what v1 misses, and misses most
            # cars at night in the rain that v1 finds.
            p_v2 = 0.95 if found else 0.3
            if found and label == "car" and {"night", "rain"} <= set(attrs):
                p_v2 = 0.2
            if rng_v2.random() < p_v2:
                preds_v2.append(fo.Detection(label=label, bounding_box=box, confidence=0.9))
        for _ in range(rng.integers(0, 3)):  # confident detections of real objects
            if gts:
                gt = gts[rng.integers(len(gts))]
                if not any(p.bounding_box == gt.bounding_box for p in preds):
                    for found in (preds, preds_v2):
                        found.append(
                            fo.Detection(
                                label=gt.label, bounding_box=gt.bounding_box, confidence=0.6
                            )
                        )
        if rng.random() < 0.35:  # a false dog at the border
            for found in (preds, preds_v2):
                found.append(
                    fo.Detection(label="dog", bounding_box=[0.0, 0.4, 0.15, 0.2], confidence=0.5)
                )
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/detection-demo/{i:05d}.jpg",
                metadata=fo.ImageMetadata(width=640, height=480),
                ground_truth=fo.Detections(detections=gts),
                predictions=fo.Detections(detections=preds),
                predictions_v2=fo.Detections(detections=preds_v2),
            )
        )
    dataset = fo.Dataset(f"prime-demo-det-{uuid.uuid4().hex[:8]}")
    dataset.add_samples(samples, progress=False)
    return dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--dataset", help="your dataset, with a detection evaluation")
    group.add_argument("--demo", action="store_true", help="generate a detection dataset")
    parser.add_argument("--eval-key", default="eval")
    parser.add_argument("--tags-field", nargs="+", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the demo dataset")
    args = parser.parse_args()
    fo.config.show_progress_bars = False

    if args.demo:
        dataset = make_detection_dataset()
        print(f"Generated '{dataset.name}': {dataset.count('ground_truth.detections')} objects")
        tagged = fp.compute_object_tags(dataset, "ground_truth")
        fp.compute_object_tags(dataset, "predictions")
        print(f"Geometry tags on {tagged.num_objects_tagged} ground-truth objects")
        dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key="eval")
        dataset.evaluate_detections("predictions_v2", gt_field="ground_truth", eval_key="eval_v2")
    else:
        dataset = fo.load_dataset(args.dataset)
    try:
        tags = args.tags_field or [
            "ground_truth.detections.attrs",
            "ground_truth.detections.prime_tags",
        ]
        misses = fp.find_failure_modes(
            dataset,
            eval_key=args.eval_key,
            units="gt",
            tags_field=tags,
            run_key="misses",
            overwrite=True,
        )
        print(misses.summary())
        for mode in misses.failure_modes:
            view = misses.load_view(mode)
            print(
                f"Missed-object mode {mode.group}: {' + '.join(mode.tags)}: "
                f"{view.count('ground_truth.detections')} objects in its view, size {mode.size}"
            )
        if args.demo:
            false_positives = fp.find_failure_modes(
                dataset,
                eval_key="eval",
                units="pred",
                tags_field="predictions.detections.prime_tags",
                run_key="false_positives",
                overwrite=True,
            )
            print(false_positives.summary())
            for mode in false_positives.failure_modes:
                view = false_positives.load_view(mode)
                print(
                    f"False-positive mode {mode.group}: {' + '.join(mode.tags)}: "
                    f"{view.count('predictions.detections')} objects in its view, "
                    f"size {mode.size}"
                )
            # Where did the second detector get worse? Object by object, on the same ground truth.
            regressions = fp.find_regressions(
                dataset,
                baseline_eval_key="eval",
                eval_key="eval_v2",
                units="gt",
                tags_field=tags,
                run_key="v1_vs_v2",
                overwrite=True,
            )
            print(regressions.summary())
            for mode in regressions.regressions:
                view = regressions.load_view(mode)
                print(
                    f"Regression mode {mode.group}: {' + '.join(mode.tags)}: "
                    f"{view.count('ground_truth.detections')} objects in its view, "
                    f"size {mode.size}"
                )
    finally:
        if args.demo and not args.keep:
            dataset.delete()
        elif args.demo:
            dataset.persistent = True
            print(f"Kept the demo dataset: fiftyone app launch {dataset.name}")


if __name__ == "__main__":
    main()
