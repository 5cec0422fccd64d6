"""A multilabel classifier (Classifications in and out): where does it miss classes, and where
does it see classes that are not there?

A unit is a (sample, class) pair, grouped by class:

- units="gt" (the default): each class present in the ground truth, wrong
  when the model does not predict it (a miss);
- units="pred": each class the model predicts, wrong when it is absent (a
  false alarm).

A prediction counts when its confidence is at least --confidence-thresh.
Each mode's saved view holds its samples with every label field filtered to
the mode's class. The same units serve find_regressions (two models) and
check_failure_modes.

    python examples/multilabel.py --dataset my-dataset --label-field ground_truth \
        --pred-field predictions --baseline-field predictions_v1 --tags-field scene
    python examples/multilabel.py --demo
"""

import argparse

from _demo import make_multilabel_demo_dataset

import fiftyone as fo

import fiftyone_prime as fp

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
group = parser.add_mutually_exclusive_group(required=True)
group.add_argument("--dataset", help="your FiftyOne dataset")
group.add_argument("--demo", action="store_true", help="a small generated dataset")
parser.add_argument("--label-field", default="ground_truth", help="ground truth (Classifications)")
parser.add_argument("--pred-field", default="predictions", help="predictions (Classifications)")
parser.add_argument(
    "--baseline-field", default="predictions_v1", help="another model's Classifications"
)
parser.add_argument("--tags-field", default="scene", help="the image tags")
parser.add_argument("--confidence-thresh", type=float, default=0.5)
args = parser.parse_args()

if args.demo:
    dataset = make_multilabel_demo_dataset()
    print(f"Generated the multilabel demo dataset '{dataset.name}' ({len(dataset)} samples)")
else:
    dataset = fo.load_dataset(args.dataset)

common = dict(
    label_field=args.label_field,
    tags_field=args.tags_field,
    confidence_thresh=args.confidence_thresh,
    overwrite=True,
)
try:
    # 1. Misses: classes present but not predicted.
    misses = fp.find_failure_modes(
        dataset, pred_field=args.pred_field, units="gt", run_key="misses", **common
    )
    print(misses.summary())
    for mode in misses.failure_modes:
        print(
            f"Missed {mode.group} on {' + '.join(mode.tags)}: found {mode.accuracy:.0%} of "
            f"{mode.size} vs {mode.group_accuracy:.0%} overall; view '{mode.view_name}'"
        )

    # 2. False alarms: classes predicted but absent.
    alarms = fp.find_failure_modes(
        dataset, pred_field=args.pred_field, units="pred", run_key="false_alarms", **common
    )
    for mode in alarms.failure_modes:
        print(
            f"False alarms of {mode.group} on {' + '.join(mode.tags)}: right {mode.accuracy:.0%} "
            f"of {mode.size} predictions vs {mode.group_accuracy:.0%} overall"
        )

    # 3. Against another model: where did this one get worse?
    regressions = fp.find_regressions(
        dataset,
        baseline_field=args.baseline_field,
        pred_field=args.pred_field,
        run_key="multilabel_comparison",
        **common,
    )
    for mode in regressions.regressions:
        print(
            f"Regression: {mode.group}: {' + '.join(mode.tags)}: found "
            f"{mode.baseline_accuracy:.0%} -> {mode.accuracy:.0%} of {mode.size}"
        )

    # 4. This model's misses as checks for the other one (a CI gate).
    checks = fp.check_failure_modes(dataset, "misses", pred_field=args.baseline_field)
    print(checks.table())
finally:
    if args.demo and fo.dataset_exists(dataset.name):
        fo.delete_dataset(dataset.name)
