"""Benchmark of the first search of a fresh process: cold (empty kernel cache) and warm.

Run:  .venv/bin/python benchmarks/cold_start.py             (~1 minute)
      .venv/bin/python benchmarks/cold_start.py --repeat 3  (best of 3 fresh processes)

The search's kernels are compiled by numba the first time they run and
cached on disk (next to the modules, or under ``NUMBA_CACHE_DIR`` when it
is set). Every new user, CI machine and fresh App or worker environment
starts with an empty cache. This measures, in fresh subprocesses, the
quickstart's shape (5,000 samples, 17 tags, 10 classes, defaults; the tags
as the FiftyOne reader hands them over, a CSR matrix):

-   cold: ``NUMBA_CACHE_DIR`` set to a new empty folder, so every kernel
    the search uses is compiled; the first ``find_failure_modes`` call,
    timed inside the process (imports apart, reported on their own);
-   warm: a second process with the same cache folder, the same call;
-   the in-process warm time of the same search (the baseline: what the
    search itself costs once compiled);
-   with ``--regressions``, also the first ``find_regressions`` after it.

Targets (issue 33): cold at most 5 s on a 2-core machine, warm under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
from fiftyone_prime.core import find_failure_modes, find_regressions
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
n, m, k = 5000, 17, 10
tags = sp.csr_matrix(rng.random((n, m)) < 0.2)
groups = rng.integers(0, k, n)
correct = rng.random(n) < 0.85
baseline = rng.random(n) < 0.85
t0, c0 = time.perf_counter(), time.process_time()
modes = find_failure_modes(tags, correct, groups)
first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
t0 = time.perf_counter()
find_failure_modes(tags, correct, groups)
second = time.perf_counter() - t0
out = dict(imports=t_import, first=first, first_cpu=first_cpu, second=second, modes=len(modes))
if REGRESSIONS:
    t0, c0 = time.perf_counter(), time.process_time()
    find_regressions(tags, baseline, correct, groups)
    out["regressions_first"] = time.perf_counter() - t0
    out["regressions_first_cpu"] = time.process_time() - c0
print("RESULT " + json.dumps(out))
"""


def run_child(cache_dir: str, regressions: bool) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "PYTHONPATH": str(ROOT)}
    env.pop("NUMBA_DISABLE_JIT", None)
    code = CHILD.replace("REGRESSIONS", repr(regressions))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(ROOT)
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="fresh cache folders to try")
    parser.add_argument("--regressions", action="store_true", help="also a first regression search")
    args = parser.parse_args(argv)
    colds, warms = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="prime-numba-") as cache:
            start = time.perf_counter()
            cold = run_child(cache, args.regressions)
            cold_wall = time.perf_counter() - start
            warm = run_child(cache, args.regressions)
        colds.append((cold, cold_wall))
        warms.append(warm)
    cold, cold_wall = min(colds, key=lambda c: c[0]["first"])
    warm = min(warms, key=lambda w: w["first"])
    baseline = min(w["second"] for w in warms)
    print(
        "5,000 samples x 17 tags, 10 classes, defaults (CSR); "
        f"best of {args.repeat} fresh cache folder(s); {os.cpu_count()} CPUs"
    )
    print(
        f"load average before: {os.getloadavg()[0]:.1f} (wall times grow with it; CPU times less)"
    )
    print(
        f"cold (empty cache): first search {cold['first']:.2f}s, CPU {cold['first_cpu']:.2f}s "
        f"(imports {cold['imports']:.2f}s, process {cold_wall:.1f}s in all)"
        + (
            f"; then a first regression search {cold['regressions_first']:.2f}s, "
            f"CPU {cold['regressions_first_cpu']:.2f}s"
            if args.regressions
            else ""
        )
    )
    print(
        f"warm (same cache, new process): first search {warm['first']:.3f}s, "
        f"CPU {warm['first_cpu']:.3f}s (imports {warm['imports']:.2f}s)"
    )
    print(
        f"in-process warm search (baseline): {baseline:.4f}s; cold/baseline "
        f"{cold['first'] / baseline:,.0f}x, warm first/baseline {warm['first'] / baseline:.1f}x"
    )
    met = cold["first"] <= 5.0 and warm["first"] < 1.0
    print(f"targets (cold <= 5 s, warm < 1 s): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
