"""Benchmark of reading a multilabel classifier's (sample, class) units.

Run:  .venv/bin/python benchmarks/multilabel.py [--samples 200000] [--private-db]

Builds a metadata-only dataset (no media): ``--samples`` samples, each
listing ~5 of 20 classes in ``ground_truth`` (Classifications), a model's
``predictions`` with a confidence for every class, and ~3 of 50 image tags.
Then it times, best of ``--repeats`` each, alternating:

  floor:  samples.values() of the paths the units need (ground-truth labels,
          predicted labels and confidences, tags): the least any reader pays
          to get the data out of MongoDB, before making units of it;
  values: the units read with one aggregation and Python (``fast=False``);
  fast:   the units read through the fast reader (rows built server-side,
          decoded from raw BSON);

checks that both readers give the same units, and times the whole
``find_failure_modes`` (units="gt", confidence_thresh=0.5, no views).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if "--private-db" in sys.argv:  # before fiftyone is imported; stopped at exit
    from tests.fo_env import ensure_database

    ensure_database()

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.integration.reading import units as fpu

CLASSES = [f"class_{i:02d}" for i in range(20)]
TAGS = [f"tag_{i:02d}" for i in range(50)]


def build(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        present = set(rng.choice(CLASSES, 5, replace=False))
        tags = rng.choice(TAGS, 3, replace=False)
        conf = rng.uniform(0, 1, len(CLASSES))
        samples.append(
            fo.Sample(
                filepath=f"/none/{i}.jpg",
                ground_truth=fo.Classifications(
                    classifications=[fo.Classification(label=c) for c in sorted(present)]
                ),
                predictions=fo.Classifications(
                    classifications=[
                        fo.Classification(
                            label=c, confidence=float(min(1, x + 0.5 * (c in present)))
                        )
                        for c, x in zip(CLASSES, conf)
                    ]
                ),
                prime_tags=fo.Classifications(
                    classifications=[fo.Classification(label=str(t)) for t in tags]
                ),
            )
        )
    dataset = fo.Dataset(f"prime-bench-ml-{uuid.uuid4().hex[:8]}")
    dataset.add_samples(samples, progress=False)
    return dataset


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--private-db", action="store_true", help="a throwaway mongod")
    args = parser.parse_args(argv)
    fo.config.show_progress_bars = False
    start = time.perf_counter()
    dataset = build(args.samples)
    print(f"built {len(dataset):,} samples in {time.perf_counter() - start:.1f}s")
    try:
        spec = fpu.multilabel_spec(dataset, "ground_truth", "predictions", "gt", 0.5)
        sources = fpu.unit_tag_sources(dataset, spec, "prime_tags")
        paths = [
            "ground_truth.classifications.label",
            "predictions.classifications.label",
            "predictions.classifications.confidence",
            "prime_tags.classifications.label",
        ]
        floor, values, fast = [], [], []
        for _ in range(args.repeats):
            floor.append(best(lambda: dataset.values(paths), 1)[0])
            values.append(best(lambda: fpu.read_units(dataset, spec, sources, fast=False), 1))
            fast.append(best(lambda: fpu.read_units(dataset, spec, sources), 1))
        slow_t, slow = min(values, key=lambda x: x[0])
        fast_t, quick = min(fast, key=lambda x: x[0])
        same = (
            quick.num_used == slow.num_used
            and int(quick.correct.sum()) == int(slow.correct.sum())
            and quick.tags.nnz == slow.tags.nnz
        )
        print(f"units: {quick.num_used:,} (sample, class) pairs; both readers agree: {same}")
        print(f"floor  (values() of the paths): {min(floor):6.2f}s")
        print(f"values (aggregation + Python):  {slow_t:6.2f}s  ({slow_t / min(floor):.2f}x floor)")
        print(
            f"fast   (the fast reader):       {fast_t:6.2f}s  ({fast_t / min(floor):.2f}x floor, "
            f"{slow_t / fast_t:.2f}x faster than values)"
        )
        total, results = best(
            lambda: fp.find_failure_modes(
                dataset,
                label_field="ground_truth",
                pred_field="predictions",
                confidence_thresh=0.5,
                save_views=False,
                overwrite=True,
                reuse_inputs=False,
                run_key="bench",
            ),
            args.repeats,
        )
        print(f"find_failure_modes end to end:  {total:6.2f}s ({len(results.failure_modes)} modes)")
    finally:
        dataset.delete()


if __name__ == "__main__":
    main()
