"""Benchmark of sharded tagging on 1 and on 2 ``fiftyone delegated launch`` workers.

Run:  .venv/bin/python benchmarks/workers.py [--images 2000] [--size 256] [--shards 4]

Starts a private MongoDB (tests/fo_env.py; nothing touches your own
database), writes generated JPEGs, and tags them with the weight-free
``properties`` tagger (CPU) three ways, on the same data:

  one process   compute_tags in this process (the baseline)
  1 worker      queue_tagging(num_shards=N) executed by one worker
  2 workers     the same job executed by two workers at once

Worker times run from queuing to the last slice completing (the workers are
started and ready before). images/s is images / that time; "slices at a
time" is the time summed inside the slices over the wall time (how much they
overlapped). The load average printed first tells whether other processes
shared the cores. On a machine with
at least two free cores, a 2-worker / 1-worker ratio near 2x shows that the
slices really run in parallel.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.fo_env import ensure_database  # noqa: E402

ensure_database()  # before fiftyone is imported; stopped at exit
# One thread per process (the workers inherit this), and images decoded in
# the tagging process (num_workers=0): each worker then uses one core, so the
# ratio measures the slices' parallelism, not threads inside one process.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import fiftyone as fo  # noqa: E402

import fiftyone_prime as fp  # noqa: E402
from tests.integration.workers_data import (  # noqa: E402
    start_worker,
    stop_worker,
    wait_until_ready,
)


def write_jpegs(folder: Path, n: int, size: int, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    paths = []
    for i in range(n):
        base = np.stack(
            [
                np.sin(xx / rng.uniform(5, 40) + rng.uniform(0, 6)),
                np.cos(yy / rng.uniform(5, 40)),
                np.sin((xx + yy) / 30.0),
            ],
            axis=2,
        )
        img = ((base * 0.5 + 0.5) * 200 + rng.integers(0, 55, (size, size, 3))).astype(np.uint8)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        paths.append(str(path))
    return paths


def run_job(dataset, shards, job_key, batch_size, num_workers, timeout=3600):
    start = time.perf_counter()
    fp.queue_tagging(
        dataset,
        num_shards=shards,
        model="properties",
        tags_field=job_key,
        batch_size=batch_size,
        num_workers=num_workers,
    )
    while True:
        status = fp.tagging_status(dataset, job_key)
        if status.tagged:
            break
        if status.unfinished:  # a slice failed or stalled
            raise RuntimeError(str(status))
        if time.perf_counter() - start > timeout:
            raise TimeoutError(str(status))
        time.sleep(0.5)
    seconds = time.perf_counter() - start
    busy = [s.result.get("seconds", 0.0) for s in status.shards]
    assert dataset.exists(job_key).count() == len(dataset)
    return seconds, sum(busy)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=0,
        help="image-decoding processes per tagging process (default 0)",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="prime-workers-bench-"))
    print(
        f"CPU cores: {os.cpu_count()}; {args.images} JPEGs {args.size}x{args.size}, "
        f"{args.shards} slices, batch {args.batch_size}, decoding processes "
        f"{args.num_workers}, tagger 'properties'; load average before: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    paths = write_jpegs(tmp, args.images, args.size)
    dataset = fo.Dataset(f"prime-workers-bench-{os.getpid()}")
    dataset.persistent = True
    procs = []
    try:
        dataset.add_samples([fo.Sample(filepath=p) for p in paths])

        summary = fp.compute_tags(
            dataset,
            model="properties",
            tags_field="single",
            batch_size=args.batch_size,
            num_workers=args.num_workers,
        )
        single = args.images / summary.seconds
        print(f"one process   {single:7.1f} images/s  ({summary.seconds:.1f} s)")

        rates = {}
        for n in (1, 2):
            new = [start_worker(tmp / f"worker{n}_{i}.log") for i in range(n)]
            procs.extend(new)
            wait_until_ready(new)
            seconds, busy = run_job(
                dataset, args.shards, f"tags_{n}w", args.batch_size, args.num_workers
            )
            rates[n] = args.images / seconds
            print(
                f"{n} worker{'s' if n > 1 else ' '}     {rates[n]:7.1f} images/s  "
                f"({seconds:.1f} s wall, {busy:.1f} s summed inside the slices: "
                f"{busy / seconds:.2f} slices at a time)"
            )
            for proc in new:
                stop_worker(proc)
        print(f"ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    finally:
        for proc in procs:
            stop_worker(proc)
        fo.delete_dataset(dataset.name)
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
