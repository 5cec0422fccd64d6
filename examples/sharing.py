"""Sharing failure modes with teammates.

1. On a shared database (teammates point FIFTYONE_DATABASE_URI at the same
   MongoDB), a run's failure modes are saved views of the dataset: anyone
   opens them by name in the App's view bar or from Python.
2. A teammate with their own copy of the data (another database, a clone, new
   data) gets the same failure modes re-measured on it with
   apply_failure_modes, saved as views there.

    python examples/sharing.py --dataset my-dataset --tags-field detections
    python examples/sharing.py --demo
"""

from _demo import dataset_from_args

import fiftyone as fo

import fiftyone_prime as fp

dataset, args, cleanup = dataset_from_args(__doc__.splitlines()[0])
copy = None
try:
    results = fp.find_failure_modes(
        dataset,
        label_field=args.label_field,
        pred_field=args.pred_field,
        tags_field=args.tags_field,
        run_key="shared",
        overwrite=True,
    )
    # 1. What a teammate on the same database sees: the saved views.
    teammate = fo.load_dataset(dataset.name)  # as another process would
    views = [m.view_name for m in fp.load_failure_modes(teammate, "shared").failure_modes]
    print(f"{len(views)} saved views, listed with the dataset's other views:")
    for name in views:
        print(
            f"  {name!r}: {len(teammate.load_saved_view(name))} samples "
            f"({teammate.get_saved_view_info(name)['description'][:60]}...)"
        )

    # 2. A teammate's own copy: the modes re-measured and saved there.
    copy = dataset.clone(f"{dataset.name}-teammate")
    applied = fp.apply_failure_modes(results, copy, run_key="from_teammate")
    print(f"\nOn the copy '{copy.name}':")
    print(applied.summary())
    print("Saved views there:", copy.list_saved_views())
finally:
    if copy is not None and not args.keep:
        copy.delete()
    cleanup()
