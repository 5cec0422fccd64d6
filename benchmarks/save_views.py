"""Benchmark: saving 10,000 failure-mode views, ours vs FiftyOne's save_view loop.

Run:  .venv/bin/python benchmarks/save_views.py [--views 10000] [--baseline-sample 20]
      .venv/bin/python benchmarks/save_views.py --scaling 10000 100000
      (add --private-db to use a throwaway mongod instead of the default database)

``--scaling SMALL LARGE`` times only ours, saving SMALL then LARGE views
(each on an empty list, then deleted), and checks that saving is linear: the
LARGE save may take at most ``1.2 * LARGE / SMALL`` times the SMALL one (12x
for 10,000 vs 100,000). Until issue 22 each chunk of views was added to the
list with ``$addToSet``, which compares every new id with the whole list:
10,000 views took 2.8 s, 40,000 more 43.7 s.

Builds a small dataset (1,000 samples) and N failure-mode views (a class and
two tags each, the same match expressions a run saves), then times

  ours:      fiftyone_prime.integration.runs.views.save_views (documents inserted
             under ids chosen beforehand, one atomic $addToSet per chunk),
             then delete_views (one $pull, one delete_many);
  baseline:  FiftyOne's own ``dataset.save_view`` in a loop. Each call
             reloads and rewrites the whole saved-view list, so its cost per
             view grows with the number of views. Timing all N would take
             long, so the script times ``--baseline-sample`` calls on an
             empty list and as many on a list already holding N views, and
             EXTRAPOLATES the total as N times the mean of the two per-view
             costs (per-view cost linear in the list length). The line says so.

The dataset lives under a unique name and is deleted at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--views", type=int, default=10_000)
    p.add_argument("--baseline-sample", type=int, default=20)
    p.add_argument(
        "--scaling",
        nargs=2,
        type=int,
        metavar=("SMALL", "LARGE"),
        help="time only ours at SMALL and LARGE views and check the ratio",
    )
    p.add_argument("--repeat", type=int, default=2, help="with --scaling: best of N runs")
    p.add_argument(
        "--private-db",
        action="store_true",
        help="start a throwaway mongod (tests/fo_env.py) instead of the default DB",
    )
    return p.parse_args()


def build_dataset(fo, n_samples=1000, n_classes=10, n_tags=40):
    dataset = fo.Dataset(f"bench-save-views-{uuid.uuid4().hex[:8]}")
    samples = []
    for i in range(n_samples):
        label = f"class_{i % n_classes}"
        tags = [f"tag_{(i * k) % n_tags}" for k in (1, 3, 7)]
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/{i}.jpg",
                ground_truth=fo.Classification(label=label),
                predictions=fo.Classification(label=label if i % 4 else "class_0"),
                prime_tags=fo.Classifications(
                    classifications=[fo.Classification(label=t) for t in tags]
                ),
            )
        )
    dataset.add_samples(samples, progress=False)
    return dataset


def view_items(dataset, n, fpv, fpf, prefix="bench"):
    """``n`` (name, view, description) of distinct class/tag-pair failure modes."""
    sources = fpf.tag_sources(dataset, "prime_tags")
    items, k = [], 0
    while len(items) < n:
        group, a, b = f"class_{k % 10}", f"tag_{k // 10 % 400}", f"tag_{k // 4000}"
        view = fpv.failure_mode_view(
            dataset,
            "ground_truth",
            "predictions",
            group,
            sources,
            [("prime_tags", a), ("prime_tags", b)],
        )
        items.append((f"{prefix} {group}: {a} + {b} #{k}", view, "a failure mode"))
        k += 1
    return items


def time_ours(dataset, items, fpv):
    ids = fpv.new_view_ids(len(items))
    start = time.perf_counter()
    fpv.save_views(dataset, [(i, *item) for i, item in zip(ids, items)], progress=False)
    saved = time.perf_counter() - start
    assert len(dataset.list_saved_views()) == len(items)
    start = time.perf_counter()
    fpv.delete_views(dataset, ids)
    deleted = time.perf_counter() - start
    assert dataset.list_saved_views() == []
    return saved, deleted


def time_fiftyone_calls(dataset, items):
    start = time.perf_counter()
    for name, view, description in items:
        dataset.save_view(name, view, description=description)
    return (time.perf_counter() - start) / len(items)


def scaling(fo, fpv, fpf, small, large, repeat=2):
    """Times saving ``small`` and ``large`` views (the best of ``repeat``
    runs each: the machine is shared); returns the exit status."""
    dataset = build_dataset(fo)
    try:
        items = view_items(dataset, large, fpv, fpf)
        times = {}
        for n in (small, large):
            runs = [time_ours(dataset, items[:n], fpv) for _ in range(repeat)]
            times[n], deleted = min(runs)
            print(
                f"ours:     save {n:,} views {times[n]:6.2f} s ({times[n] / n * 1e3:.3f} ms/view); "
                f"delete them {deleted:5.2f} s",
                flush=True,
            )
    finally:
        fo.delete_dataset(dataset.name)
    ratio, bound = times[large] / times[small], 1.2 * large / small
    verdict = "linear" if ratio <= bound else "NOT linear"
    print(
        f"scaling:  {large:,} / {small:,} views took {ratio:.1f}x (at most {bound:.0f}x): {verdict}"
    )
    return 0 if ratio <= bound else 1


def main():
    args = _args()
    if args.private_db:
        from tests.fo_env import ensure_database

        ensure_database()
    import fiftyone as fo

    from fiftyone_prime.integration.reading import fields as fpf
    from fiftyone_prime.integration.runs import views as fpv

    if args.scaling:
        return scaling(fo, fpv, fpf, *args.scaling, repeat=args.repeat)
    n, k = args.views, args.baseline_sample
    dataset = build_dataset(fo)
    try:
        items = view_items(dataset, n, fpv, fpf)
        ours_save, ours_delete = time_ours(dataset, items, fpv)
        print(
            f"ours:     save {n:,} views {ours_save:6.2f} s ({ours_save / n * 1e3:.2f} ms/view); "
            f"delete them {ours_delete:5.2f} s"
        )

        extra = view_items(dataset, 2 * k, fpv, fpf, prefix="fo")
        per_view_empty = time_fiftyone_calls(dataset, extra[:k])
        dataset.delete_saved_views()
        fill_ids = fpv.new_view_ids(n)
        fpv.save_views(dataset, [(i, *it) for i, it in zip(fill_ids, items)], progress=False)
        per_view_full = time_fiftyone_calls(dataset, extra[k:])
        estimate = n * (per_view_empty + per_view_full) / 2
        print(
            f"baseline: FiftyOne dataset.save_view loop, {k} calls timed at 0 and at {n:,} "
            f"views: {per_view_empty * 1e3:.1f} and {per_view_full * 1e3:.1f} ms/view; "
            f"{n:,} views EXTRAPOLATED: {estimate:6.1f} s ({estimate / ours_save:.0f}x ours)"
        )
    finally:
        fo.delete_dataset(dataset.name)


if __name__ == "__main__":
    sys.exit(main())
