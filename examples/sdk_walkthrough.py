"""The SDK on your own dataset: failure modes from labels you already have.

Tags need not come from CLIP: any label field works, e.g. a detector's
Detections (each detected object's label is a tag), classifications, or a
list of strings. This script finds the failure modes, prints them, opens one
as a view, writes the HTML report, and tags the images with the weight-free
image properties for a second search.

    python examples/sdk_walkthrough.py --dataset my-dataset \
        --label-field ground_truth --pred-field predictions --tags-field detections
    python examples/sdk_walkthrough.py --demo     # a small generated dataset
"""

import tempfile

from _demo import dataset_from_args

import fiftyone_prime as fp

dataset, args, cleanup = dataset_from_args(__doc__.splitlines()[0])
try:
    # 1. Failure modes from the detector's objects: minimal sets of detected
    #    object labels where the classifier's accuracy drops.
    results = fp.find_failure_modes(
        dataset,
        label_field=args.label_field,
        pred_field=args.pred_field,
        tags_field=args.tags_field,
        run_key="walkthrough",
        overwrite=True,
    )
    print(results.summary())

    # 2. Each failure mode is a saved view; open the worst one.
    if len(results):
        worst = results.failure_modes[0]
        view = dataset.load_saved_view(worst.view_name)
        print(
            f"\nWorst mode: {worst.group} with {worst.tags}: {len(view)} samples, "
            f"accuracy {worst.accuracy:.1%} vs {worst.group_accuracy:.1%} for the class"
        )

    # 3. A self-contained HTML report (thumbnails, table, chart).
    report = fp.export_report(dataset, "walkthrough", tempfile.mkdtemp(prefix="prime-report-"))
    print(f"Report: {report}")

    # 4. No CLIP weights? The image-property tagger needs none (numpy + Pillow).
    summary = fp.compute_tags(
        dataset, model="properties", tags_field="prime_properties", skip_existing=True
    )
    print(f"Tagged {summary.num_tagged} images with image properties")
    both = fp.find_failure_modes(
        dataset,
        label_field=args.label_field,
        pred_field=args.pred_field,
        tags_field=[args.tags_field, "prime_properties"],
        run_key="walkthrough_props",
        overwrite=True,
    )
    print(f"With objects and image properties together: {len(both)} failure modes")
    print("Runs on the dataset:", fp.list_failure_mode_runs(dataset))
finally:
    cleanup()
