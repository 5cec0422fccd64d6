"""Test hunches exactly, confirm failure modes on held-out data, and find more data like them.

A hunch ("dogs fail in snow near cars") is tested with the search's own exact
test; the dataset keeps one online false-discovery budget (LORD++) for every
hypothesis tested on it over time, so testing more hunches never inflates
false discoveries. Failure modes found on one half are hypotheses too: they
are tested on the other half. Then the samples most like a confirmed mode
are saved as a view, to label next.

Every run of this script spends hypotheses from the dataset's budget (it is
stored in the dataset's info), and stores the runs 'hyp_found' and
'hyp_confirmed' (replaced on the next run).

    python examples/hypotheses.py --dataset my-dataset --tags-field prime_tags
    python examples/hypotheses.py --demo
"""

from _demo import dataset_from_args

import fiftyone_prime as fp

dataset, args, cleanup = dataset_from_args(__doc__.splitlines()[0])
fields = dict(label_field=args.label_field, pred_field=args.pred_field, tags_field=args.tags_field)
try:
    # 1. Find failure modes on one half (a reproducible random half; use a split field if you
    #    have one, with proposed_from=("split", "train")).
    find_on = dataset.take(len(dataset) // 2, seed=51)
    found = fp.find_failure_modes(
        find_on, **fields, run_key="hyp_found", overwrite=True, min_size=20
    )
    print(f"Found {len(found)} failure modes on {len(find_on)} samples")

    # 2. Test them as hypotheses on the samples the search did not see, stored as a run
    #    with a view per confirmed hypothesis.
    confirmed = fp.test_hypotheses(dataset, found, run_key="hyp_confirmed", overwrite=True)
    print(confirmed.summary())

    # 3. A hunch of your own: a mode's tags, in every class (written as the CLI and the
    #    operator take them: "class: tag + tag" or "tag + tag").
    if found.failure_modes:
        hunch = list(found.failure_modes[0].tags)
        tested = fp.test_hypotheses(dataset, [hunch], **fields, proposed_from=found)
        print(f"Hunch {' + '.join(hunch)} in every class:")
        for r in tested.results:
            print(
                f"  {r.group}: {r.decision} (accuracy {r.accuracy:.0%} vs {r.group_accuracy:.0%})"
            )

    # 4. More like this: the held-out half as a pool to label, ranked by the first mode's tags.
    if found.failure_modes:
        pool = dataset.exclude(find_on.values("id"))
        like = fp.find_more_like(
            found, pool, 0, k=20, save_view="hyp more like this", overwrite=True
        )
        print(
            f"More like this: {len(like.ids)} samples with every tag of "
            f"{like.group}: {' + '.join(like.tags)}, saved as view '{like.view_name}'"
        )
finally:
    cleanup()
