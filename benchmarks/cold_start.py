"""Benchmark of the first search of a fresh process: cold (empty kernel cache) and warm.

Run:  .venv/bin/python benchmarks/cold_start.py             (~1 minute)
      .venv/bin/python benchmarks/cold_start.py --repeat 3  (best of 3 fresh processes)
      .venv/bin/python benchmarks/cold_start.py --repeat 3 --compiles --baseline /tmp/main
          (also what compiled, and another checkout measured alternately in the same run)

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
import collections, json, sys, time
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
from numba.core import event
from fiftyone_prime.core import find_failure_modes, find_regressions
t_import = time.perf_counter() - t0

# numba's compile events: per compiled function, its count and own CPU time
# (a kernel's compile includes its callees' first compiles; they are taken out).
compiles = collections.defaultdict(lambda: [0, 0.0])
stack = []
class Compiles(event.Listener):
    def on_start(self, ev):
        stack.append([time.process_time(), 0.0])
    def on_end(self, ev):
        start, inner = stack.pop()
        spent = time.process_time() - start
        if stack:
            stack[-1][1] += spent
        func = ev.data["dispatcher"].py_func
        name = func.__module__.replace("fiftyone_prime.core.", "") + "." + func.__qualname__
        compiles[name][0] += 1
        compiles[name][1] += spent - inner
event.register("numba:compile", Compiles())
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
out["compiles"] = sorted(compiles.items(), key=lambda kv: -kv[1][1])
if REGRESSIONS:
    t0, c0 = time.perf_counter(), time.process_time()
    find_regressions(tags, baseline, correct, groups)
    out["regressions_first"] = time.perf_counter() - t0
    out["regressions_first_cpu"] = time.process_time() - c0
print("RESULT " + json.dumps(out))
"""


def run_child(root: Path, cache_dir: str, regressions: bool) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "PYTHONPATH": str(root)}
    env.pop("NUMBA_DISABLE_JIT", None)
    code = CHILD.replace("REGRESSIONS", repr(regressions))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(root)
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def measure(root: Path, regressions: bool) -> tuple[dict, float, dict]:
    """One cold process on a new empty cache folder, then one warm process."""
    with tempfile.TemporaryDirectory(prefix="prime-numba-") as cache:
        start = time.perf_counter()
        cold = run_child(root, cache, regressions)
        cold_wall = time.perf_counter() - start
        warm = run_child(root, cache, regressions)
    return cold, cold_wall, warm


def report(label: str, runs: list, args) -> bool:
    colds = [(c, w) for c, w, _ in runs]
    warms = [w for _, _, w in runs]
    cold, cold_wall = min(colds, key=lambda c: c[0]["first"])
    warm = min(warms, key=lambda w: w["first"])
    baseline = min(w["second"] for w in warms)
    cpu = sorted(c["first_cpu"] for c, _ in colds)
    print(f"-- {label}")
    print(
        f"cold (empty cache): first search {cold['first']:.2f}s, CPU {cold['first_cpu']:.2f}s "
        f"(median CPU of {len(cpu)}: {cpu[len(cpu) // 2]:.2f}s; imports "
        f"{cold['imports']:.2f}s, process {cold_wall:.1f}s in all)"
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
    if args.compiles:
        print("what the cold first search compiled (numba's compile events; own CPU time):")
        for name, (count, spent) in cold["compiles"]:
            print(f"  {spent:5.2f}s  x{count:<3d} {name}")
        print(
            f"  {sum(c[1][1] for c in cold['compiles']):5.2f}s  "
            f"in all, {sum(c[1][0] for c in cold['compiles'])} compiles"
        )
    met = cold["first"] <= 5.0 and warm["first"] < 1.0
    print(f"targets (cold <= 5 s, warm < 1 s): {'met' if met else 'NOT met'}")
    return met


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="fresh cache folders to try")
    parser.add_argument("--regressions", action="store_true", help="also a first regression search")
    parser.add_argument(
        "--compiles", action="store_true", help="list what the cold search compiled, and its cost"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git worktree add /tmp/main main`), measured alternately "
        "with this one in the same run",
    )
    args = parser.parse_args(argv)
    roots = [("this checkout", ROOT)]
    if args.baseline:
        roots.append((f"baseline: {args.baseline}", args.baseline.resolve()))
    runs = {label: [] for label, _ in roots}
    print(
        "5,000 samples x 17 tags, 10 classes, defaults (CSR); "
        f"best of {args.repeat} fresh cache folder(s); {os.cpu_count()} CPUs"
    )
    print(
        f"load average before: {os.getloadavg()[0]:.1f} (wall times grow with it; CPU times less)"
    )
    for _ in range(args.repeat):
        for label, root in roots:
            runs[label].append(measure(root, args.regressions))
    met = {label: report(label, runs[label], args) for label, _ in roots}
    return 0 if met["this checkout"] else 1


if __name__ == "__main__":
    sys.exit(main())
