"""Benchmark of a whole failure-mode run on a FiftyOne dataset vs the bare read.

Run:  .venv/bin/python benchmarks/fiftyone_search.py [--samples 100000]

Builds a metadata-only dataset (no media) with ground truth, predictions and
a Classifications tag field (~12 tags per sample from a 500-tag vocabulary,
100 classes, planted failure pairs), then times

  floor:  samples.values() of the three label paths a search needs, the
          least any implementation pays to get the data out of MongoDB;
  reads:  read_inputs (values() plus the sparse matrix) and the fast reader
          (integration/reading/reader.py: raw BSON batches of a $project over _id
          ranges, decoded by a compiled kernel), the latter also through
          pymongo's raw batch cursor (the baseline of raw_batches.py);
  runs:   fiftyone_prime.find_failure_modes end to end with the input cache
          cleared (the first run), then re-searches with another min_drop
          from the cached inputs (in memory and on disk, with and without
          saving views), and two models compared (find_regressions against
          a second prediction field, "baseline"),

and prints each as a ratio of the floor, with the cache's size. The dataset lives in the
default FiftyOne database under a unique name and is deleted at the end. To
build it quickly, samples are inserted as raw documents (private API, in
this script only).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from bson import ObjectId

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.core.search import find_failure_modes as core_search
from fiftyone_prime.integration.reading import fields as fpf
from fiftyone_prime.integration.reading import input_cache, reader


def build_dataset(n, n_classes=100, vocab=500, tags_per_sample=12, seed=0):
    rng = np.random.default_rng(seed)
    classes = [f"class_{i:03d}" for i in range(n_classes)]
    tag_names = [f"tag_{i:03d}" for i in range(vocab)]
    p = 1.0 / np.arange(1, vocab + 1) ** 0.9
    p /= p.sum()
    labels = rng.integers(0, n_classes, n)
    draws = rng.choice(vocab, size=(n, tags_per_sample), p=p)
    correct = rng.random(n) < 0.85
    for c in range(n_classes):  # one planted failure pair per class
        a, b = rng.choice(30, 2, replace=False)
        rows = np.flatnonzero(labels == c)[:60]
        draws[rows, 0], draws[rows, 1] = a, b
        correct[rows] = rng.random(len(rows)) < 0.3
    preds = np.where(correct, labels, (labels + 1) % n_classes)
    # An older model (right on 80%, independently), for comparing two models.
    baseline = np.where(rng.random(n) < 0.8, labels, (labels + 2) % n_classes)

    # One sample through the SDK declares the schema; the rest are inserted as
    # raw documents of the same shape (the SDK path takes ~6 ms per sample
    # here, which would make building 100k samples take ten minutes).
    dataset = fo.Dataset(f"prime-bench-{uuid.uuid4().hex[:8]}")
    dataset.add_sample(
        fo.Sample(
            filepath="/bench/schema.jpg",
            ground_truth=fo.Classification(label=classes[0]),
            predictions=fo.Classification(label=classes[0]),
            baseline=fo.Classification(label=classes[0]),
            prime_tags=fo.Classifications(
                classifications=[fo.Classification(label=tag_names[0], confidence=0.5)]
            ),
        )
    )
    dataset.delete_samples(dataset.values("id"))
    dataset_id = dataset._doc.id
    now = datetime.datetime.utcnow()

    def label(name, **extra):
        return {"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": name, **extra}

    batch = 20_000
    for start in range(0, n, batch):
        docs = []
        for i in range(start, min(n, start + batch)):
            docs.append(
                {
                    "_id": ObjectId(),
                    "filepath": f"/bench/{i:07d}.jpg",
                    "tags": [],
                    "_media_type": "image",
                    "_rand": float(rng.random()),
                    "ground_truth": label(classes[labels[i]]),
                    "predictions": label(classes[preds[i]]),
                    "baseline": label(classes[baseline[i]]),
                    "prime_tags": {
                        "_cls": "Classifications",
                        "classifications": [
                            label(tag_names[t], confidence=0.5)
                            for t in sorted(set(draws[i].tolist()))
                        ],
                    },
                    "_dataset_id": dataset_id,
                    "created_at": now,
                    "last_modified_at": now,
                }
            )
        dataset._sample_collection.insert_many(docs)
    dataset.reload()
    return dataset


@contextlib.contextmanager
def pymongo_cursor():
    """The fast reader reading through ``Collection.aggregate_raw_batches``
    (as before raw_batches.py) instead of its own commands: the baseline."""

    def batches(collection, pipeline, batch_size):
        with collection.aggregate_raw_batches(
            pipeline, batchSize=batch_size, allowDiskUse=True
        ) as cursor:
            yield from cursor

    original = reader.aggregate_raw_batches
    reader.aggregate_raw_batches = batches
    try:
        yield
    finally:
        reader.aggregate_raw_batches = original


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for each timing")
    args = parser.parse_args(argv)
    fo.config.show_progress_bars = False
    cache_root = tempfile.mkdtemp(prefix="prime-bench-cache-")
    os.environ["FIFTYONE_PRIME_CACHE_DIR"] = cache_root

    dataset, build_time = timed(lambda: build_dataset(args.samples))
    print(f"built {len(dataset):,} samples in {build_time:.1f}s", flush=True)
    fields = ("ground_truth", "predictions", "prime_tags")
    try:
        paths = ["ground_truth.label", "predictions.label", "prime_tags.classifications.label"]
        floor = min(timed(lambda: dataset.values(paths))[1] for _ in range(args.repeats))
        read_old = min(
            timed(lambda: fpf.read_inputs(dataset, *fields))[1] for _ in range(args.repeats)
        )
        read_fast, read_cursor = [], []  # ours and through pymongo's raw batch cursor, alternating
        for _ in range(args.repeats):
            read_fast.append(timed(lambda: reader.read_inputs_fast(dataset, *fields))[1])
            with pymongo_cursor():
                read_cursor.append(timed(lambda: reader.read_inputs_fast(dataset, *fields))[1])
        read_fast, read_cursor = min(read_fast), min(read_cursor)
        inputs = reader.read_inputs_fast(dataset, *fields)
        core_search(inputs.tags[:100], inputs.correct[:100], inputs.labels[:100])  # warm-up
        names = [k[1] for k in inputs.tag_keys]
        modes, search = timed(
            lambda: core_search(inputs.tags, inputs.correct, inputs.groups, tag_names=names)
        )
        _, search_strings = timed(
            lambda: core_search(inputs.tags, inputs.correct, inputs.labels, tag_names=names)
        )

        def run(key, **kwargs):
            if key in dataset.list_runs():
                fp.delete_failure_modes(dataset, key)
            return timed(lambda: fp.find_failure_modes(dataset, run_key=key, **kwargs))

        firsts = []
        for _ in range(args.repeats):
            fp.clear_input_cache(dataset)
            results, t = run("bench")
            firsts.append(t)
        first = min(firsts)
        # Re-searches with other thresholds: from this process's memory, and
        # from the file (as a new process would), without and with saving views.
        mem_noviews = min(
            run("bench_re", min_drop=0.25, save_views=False)[1] for _ in range(args.repeats)
        )
        mem_views = min(run("bench_re", min_drop=0.25)[1] for _ in range(args.repeats))
        disk = []
        for _ in range(args.repeats):
            input_cache._memory.clear()
            disk.append(run("bench_re", min_drop=0.25, save_views=False)[1])
        disk_noviews = min(disk)
        # Two models compared (regressions), against values() of its four label paths.
        floor4 = min(
            timed(lambda: dataset.values([*paths, "baseline.label"]))[1]
            for _ in range(args.repeats)
        )
        compare = []
        for _ in range(args.repeats):
            if "bench_cmp" in dataset.list_runs():
                fp.delete_regressions(dataset, "bench_cmp")
            compare.append(
                timed(
                    lambda: fp.find_regressions(
                        dataset,
                        baseline_field="baseline",
                        pred_field="predictions",
                        run_key="bench_cmp",
                        save_views=False,
                    )
                )[1]
            )
        compare = min(compare)
        _, how = input_cache.load_search_inputs(dataset, *fields)
        disk_bytes = sum(f.stat().st_size for f in Path(cache_root).rglob("*.npz"))
        mem_bytes = input_cache.cache_size(inputs) + inputs.labels.nbytes
        print(
            f"samples={len(dataset):,} classes=100 tags/sample~12 nnz={inputs.tags.nnz:,} "
            f"failure_modes={len(results)} saved_views={len(results.view_names)}"
        )
        print(f"floor  values() of the 3 label paths:   {floor:7.2f}s")
        print(
            f"read   read_inputs (values() + matrix):  {read_old:7.2f}s  {read_old / floor:.2f}x floor"
        )
        print(
            f"read   fast reader (first read):         {read_fast:7.2f}s  {read_fast / floor:.2f}x floor"
        )
        print(
            f"read   fast reader, pymongo's cursor:    {read_cursor:7.2f}s"
            f"  (raw batches by command: {read_cursor / read_fast:.2f}x faster)"
        )
        print(
            f"search (core, in memory, coded classes): {search:7.2f}s"
            f"  ({search_strings:.2f}s given the class names as strings)"
        )
        print(f"first run end to end (cache cleared):    {first:7.2f}s  {first / floor:.2f}x floor")
        print(
            f"re-search, cache in memory, no views:    {mem_noviews:7.2f}s  {mem_noviews / floor:.2f}x floor"
        )
        print(
            f"re-search, cache in memory, with views:  {mem_views:7.2f}s  {mem_views / floor:.2f}x floor"
        )
        print(
            f"re-search, cache on disk, no views:      {disk_noviews:7.2f}s  {disk_noviews / floor:.2f}x floor"
        )
        print(
            f"compare two models (find_regressions), no views: {compare:7.2f}s  "
            f"{compare / floor4:.2f}x values() of its 4 label paths ({floor4:.2f}s)"
        )
        print(
            f"cache: {disk_bytes / 1e6:.1f} MB on disk, ~{mem_bytes / 1e6:.1f} MB of arrays in memory"
            f" (+ the class names' str objects); inputs {how.source}"
        )
        assert len(modes) == len(results)
    finally:
        for key in ("bench", "bench_re"):
            if key in dataset.list_runs():
                fp.delete_failure_modes(dataset, key)
        if "bench_cmp" in dataset.list_runs():
            fp.delete_regressions(dataset, "bench_cmp")
        fp.clear_input_cache(dataset)
        dataset.delete()
        shutil.rmtree(cache_root, ignore_errors=True)


if __name__ == "__main__":
    main()
