"""Compare two models: where did the new one regress, and do old failure modes still fail?

1. find_regressions: the tag combinations, per class, where the new model's
   accuracy fell against the baseline's by more than on the class (both
   accuracies side by side, an exact test, saved views with both fields).
2. check_failure_modes: the baseline's failure modes, saved as a run, become
   checks for the new model (a CI gate: `fiftyone-prime check` exits 1 when
   one fails).

    python examples/model_comparison.py --dataset my-dataset \
        --baseline-field resnet50 --new-field vit_b16 --tags-field prime_tags
    python examples/model_comparison.py --demo
"""

import argparse

import numpy as np
from _demo import make_demo_dataset

import fiftyone as fo

import fiftyone_prime as fp

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
group = parser.add_mutually_exclusive_group(required=True)
group.add_argument("--dataset", help="your FiftyOne dataset")
group.add_argument("--demo", action="store_true", help="a small generated dataset")
parser.add_argument("--label-field", default="ground_truth")
parser.add_argument("--baseline-field", default="predictions")
parser.add_argument("--new-field", default="predictions_v2")
parser.add_argument("--tags-field", default="objects")
args = parser.parse_args()

if args.demo:
    dataset = make_demo_dataset()
    # A "new model": better almost everywhere (it fixes the baseline's
    # failure modes), but wrong on most bird images with a person and a tree.
    # (The demo data and this model are seeded: the outcome is reproducible.)
    rng = np.random.default_rng(1)
    labels = dataset.values(f"{args.label_field}.label")
    objects = dataset.values(f"{args.tags_field}.detections.label")
    new = []
    for label, present in zip(labels, objects):
        hard = label == "bird" and {"person", "tree"} <= set(present or [])
        right = rng.random() < (0.3 if hard else 0.99)
        new.append(fo.Classification(label=label if right else "cat" if label != "cat" else "dog"))
    dataset.set_values(args.new_field, new)
    print(f"Generated the demo dataset '{dataset.name}' with two models' predictions")
else:
    dataset = fo.load_dataset(args.dataset)

try:
    # 1. Where did the new model regress?
    results = fp.find_regressions(
        dataset,
        baseline_field=args.baseline_field,
        pred_field=args.new_field,
        label_field=args.label_field,
        tags_field=args.tags_field,
        run_key="comparison",
        overwrite=True,
    )
    print(results.summary())
    for mode in results.regressions:
        print(
            f"Regression: {mode.group}: {' + '.join(mode.tags)}: accuracy "
            f"{mode.baseline_accuracy:.0%} -> {mode.accuracy:.0%} on {mode.size} images "
            f"(class {mode.group_baseline_accuracy:.0%} -> {mode.group_accuracy:.0%}); "
            f"view '{mode.view_name}'"
        )

    # 2. The baseline's failure modes as checks for the new model.
    fp.find_failure_modes(
        dataset,
        label_field=args.label_field,
        pred_field=args.baseline_field,
        tags_field=args.tags_field,
        run_key="baseline_modes",
        overwrite=True,
    )
    checks = fp.check_failure_modes(dataset, "baseline_modes", pred_field=args.new_field)
    print(checks.table())
    print(
        f"CI gate: fiftyone-prime check {dataset.name} --run-key baseline_modes "
        f"--pred-field {args.new_field}  (exit {0 if checks.passed else 1})"
    )
finally:
    if args.demo and fo.dataset_exists(dataset.name):
        fo.delete_dataset(dataset.name)
