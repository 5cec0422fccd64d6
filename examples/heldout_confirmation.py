"""Find failure modes on one split and confirm them on held-out data.

A search tests many tag sets, so a mode found on the same data it is judged
on may not hold on new data. Split the data (or use your own validation
split), search on one part, and confirm each mode on the other with
validate_failure_modes: its drop there, whether the definition still holds,
and a held-out test. The report then fills its held-out columns.

    python examples/heldout_confirmation.py --dataset my-dataset --tags-field detections
    python examples/heldout_confirmation.py --demo
"""

import tempfile

from _demo import dataset_from_args

import fiftyone_prime as fp

dataset, args, cleanup = dataset_from_args(__doc__.splitlines()[0])
try:
    # A reproducible random half each (use your own split field if you have one).
    find_on = dataset.take(len(dataset) // 2, seed=51)
    confirm_on = dataset.exclude(find_on.values("id"))
    print(f"Searching {len(find_on)} samples, confirming on {len(confirm_on)}")

    results = fp.find_failure_modes(
        find_on,
        label_field=args.label_field,
        pred_field=args.pred_field,
        tags_field=args.tags_field,
        run_key="heldout",
        overwrite=True,
        min_size=20,
    )
    validation = fp.validate_failure_modes(results, confirm_on)
    print(
        f"{validation['num_confirmed']} of {len(validation['modes'])} failure modes confirmed "
        f"on held-out data ({validation['procedure']}, alpha={validation['alpha']})"
    )
    for mode, row in zip(results.failure_modes, validation["modes"]):
        print(
            f"  {mode.group}: {' + '.join(mode.tags)}: drop {mode.drop * 100:.1f} points when "
            f"found, {row['drop'] * 100:.1f} held out -> "
            f"{'confirmed' if row['confirmed'] else 'not confirmed'}"
        )
    report = fp.export_report(dataset, "heldout", tempfile.mkdtemp(prefix="prime-report-"))
    print(f"Report with held-out columns: {report}")
finally:
    cleanup()
