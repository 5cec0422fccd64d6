"""Where is the error largest? Failure modes of a regression model's error.

With ``--demo``, generates a regression dataset (no images needed) whose
model is far off on samples tagged both ``snow`` and ``night``, evaluates it
with FiftyOne's ``evaluate_regressions`` (each sample's squared error, in a
field named by the evaluation key), and finds the tag combinations whose
mean error is worst, through the evaluation (``eval_key=``) and through the
error field itself (``score_field=``), grouped by a class field. Each mode's
saved view holds exactly its samples.

    python examples/scores.py --demo
    python examples/scores.py --dataset my-dataset --eval-key eval --min-drop 1.0
    python examples/scores.py --dataset my-dataset --score-field loss --lower-is-worse
"""

import argparse
import uuid

import numpy as np

import fiftyone as fo
from fiftyone import ViewField as F

import fiftyone_prime as fp

TAGS = ("snow", "night", "fog", "rain", "blur", "dark")
CLASSES = ("indoor", "outdoor")


def make_regression_dataset(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        tags = [t for t in TAGS if rng.random() < 0.35]
        gt = float(rng.normal())
        off = 3.0 if {"snow", "night"} <= set(tags) else float(rng.normal(scale=0.3))
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/scores-demo/{i:05d}.jpg",
                prime_tags=tags,
                ground_truth=fo.Regression(value=gt),
                predictions=fo.Regression(value=gt + off + float(rng.normal(scale=0.2))),
                scene=fo.Classification(label=CLASSES[i % 2]),
            )
        )
    dataset = fo.Dataset(f"prime-demo-scores-{uuid.uuid4().hex[:8]}")
    dataset.add_samples(samples, progress=False)
    return dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--dataset", help="your dataset")
    group.add_argument("--demo", action="store_true", help="generate a regression dataset")
    parser.add_argument("--eval-key", default=None, help="a regression or segmentation evaluation")
    parser.add_argument("--score-field", default=None, help="or any numeric sample field")
    parser.add_argument("--lower-is-worse", action="store_true")
    parser.add_argument("--tags-field", default="prime_tags")
    parser.add_argument("--min-drop", type=float, default=2.0, help="in the score's units")
    parser.add_argument("--min-gain", type=float, default=0.5, help="in the score's units")
    parser.add_argument("--keep", action="store_true", help="keep the demo dataset")
    args = parser.parse_args()
    fo.config.show_progress_bars = False

    if args.demo:
        dataset = make_regression_dataset()
        dataset.evaluate_regressions("predictions", gt_field="ground_truth", eval_key="eval")
        print(f"Generated '{dataset.name}': {len(dataset)} samples, evaluation 'eval'")
        args.eval_key = args.eval_key or "eval"
    else:
        dataset = fo.load_dataset(args.dataset)
    thresholds = dict(min_size=20, min_drop=args.min_drop, min_gain=args.min_gain, max_tags=2)
    try:
        if args.eval_key or not args.score_field:
            results = fp.find_failure_modes(
                dataset,
                eval_key=args.eval_key,
                tags_field=args.tags_field,
                run_key="error_modes",
                overwrite=True,
                **thresholds,
            )
        else:
            results = fp.find_failure_modes(
                dataset,
                score_field=args.score_field,
                higher_is_worse=not args.lower_is_worse,
                tags_field=args.tags_field,
                run_key="error_modes",
                overwrite=True,
                **thresholds,
            )
        print(results.summary())
        for mode in results.failure_modes:
            view = results.load_view(mode)
            print(
                f"Score mode: {' + '.join(mode.tags)}: mean {mode.mean:.2f} vs "
                f"{mode.group_mean:.2f}, {len(view)} samples in its view, size {mode.size}"
            )
        if args.demo:  # the same field, grouped by scene
            by_scene = fp.find_failure_modes(
                dataset,
                score_field="eval",
                group_field="scene",
                tags_field=args.tags_field,
                run_key="error_by_scene",
                overwrite=True,
                **thresholds,
            )
            for mode in by_scene.failure_modes:
                planted = dataset.match(
                    (F("scene.label") == mode.group)
                    & F("prime_tags").contains(list(mode.tags), all=True)
                )
                same = set(by_scene.load_view(mode).values("id")) == set(planted.values("id"))
                print(
                    f"In {mode.group}: {' + '.join(mode.tags)}: view holds exactly its "
                    f"samples: {same}"
                )
    finally:
        if args.demo and not args.keep:
            dataset.delete()
        elif args.demo:
            dataset.persistent = True


if __name__ == "__main__":
    main()
