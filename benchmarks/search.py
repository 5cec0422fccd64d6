"""Benchmark of the exact failure-mode search against a per-combination loop.

Run:  .venv/bin/python benchmarks/search.py           (all cases, a few minutes)
      .venv/bin/python benchmarks/search.py --scale 0.05   (a quick smoke run)

Cases:
  (a) 20k samples, 80 tags, 10 classes, dense, max_tags=3; compared with the
      straightforward loop (itertools.combinations plus a mask per
      combination, what published implementations of PRIME do), outputs
      checked equal.
  (b) ImageNet-train shaped and sparse: 1,000 classes x 1,281 images, a
      4,585-tag vocabulary, ~300 tags per class with a long-tailed frequency,
      ~12 distinct tags per image (16 draws with repeats), planted failure pairs; max_tags=3 and 4. The loop
      cannot finish here, so its time is extrapolated from a timed slice of
      one class and marked as an estimate.

Prints, per case: samples, tags, classes, max_tags, wall time, peak memory
(tracemalloc peak of the search call, plus the process's max RSS), number of
failure modes, and the speed ratio against the loop.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fiftyone_prime.core import find_failure_modes  # noqa: E402

TOL = 1e-9
PARAMS = dict(min_size=30, min_drop=0.2, min_gain=0.1)


# ----------------------------------------------------------------- baseline


def loop_search(tags, correct, groups, *, min_size, min_drop, min_gain, max_tags,
                minimal=True, time_budget=None):
    """The straightforward search: a boolean mask per tag combination.

    Keeps only tags with ``>= min_size`` samples in the class (a free, exact
    filter that makes the baseline stronger), then evaluates every
    combination of them up to ``max_tags``. With ``time_budget`` it stops
    early and returns the number of combinations it evaluated instead.
    """
    out = []
    evaluated = 0
    start = time.perf_counter()
    for g in np.unique(groups):
        rows = groups == g
        gt = tags[rows]
        gt = gt.toarray() if sp.issparse(gt) else gt
        gc = correct[rows]
        acc_g = gc.sum() / len(gc)
        frequent = np.flatnonzero(gt.sum(axis=0) >= min_size)
        columns = {t: np.ascontiguousarray(gt[:, t]) for t in frequent.tolist()}
        stats = {}
        for k in range(1, max_tags + 1):
            for combo in combinations(frequent.tolist(), k):
                mask = columns[combo[0]].copy()
                for t in combo[1:]:
                    mask &= columns[t]
                n = int(np.count_nonzero(mask))
                stats[combo] = (n, int(gc[mask].sum()))
                evaluated += 1
                if time_budget and evaluated % 1000 == 0:
                    if time.perf_counter() - start > time_budget:
                        return evaluated, time.perf_counter() - start
        def acc(c):
            return stats[c][1] / stats[c][0]

        modes = set()
        for c, (n, _) in stats.items():
            if n < min_size or acc_g - acc(c) < min_drop - TOL:
                continue
            subs = [s for r in range(1, len(c)) for s in combinations(c, r)]
            if all(acc(s) - acc(c) >= min_gain - TOL for s in subs):
                modes.add(c)
        if minimal:
            modes = {c for c in modes
                     if not any(s in modes for r in range(1, len(c)) for s in combinations(c, r))}
        out.extend((g.item(), tuple(sorted(c)), stats[c][0], stats[c][1]) for c in modes)
    if time_budget:
        return evaluated, time.perf_counter() - start
    return sorted(out)


# --------------------------------------------------------------------- data


def long_tail(rng, n, exponent=1.1):
    p = 1.0 / np.arange(1, n + 1) ** exponent
    rng.shuffle(p)
    return p / p.sum()


def case_a(rng, n=20_000, n_tags=80, n_classes=10):
    freq = np.clip(long_tail(rng, n_tags, 0.8) * 8, 0.005, 0.35)
    tags = rng.random((n, n_tags)) < freq
    groups = rng.integers(0, n_classes, n)
    correct = rng.random(n) < rng.uniform(0.7, 0.95, n_classes)[groups]
    for g in range(n_classes):  # plant two failure pairs per class
        for _ in range(2):
            a, b = rng.choice(n_tags, 2, replace=False)
            hit = (groups == g) & tags[:, a] & tags[:, b]
            correct[hit] = rng.random(hit.sum()) < 0.25
    return tags, correct, groups


def case_b(rng, n_classes=1000, per_class=1281, vocab=4585, tags_per_class=300,
           draws_per_image=16, planted_per_class=2):
    rows, cols = [], []
    correct = np.empty(n_classes * per_class, dtype=bool)
    groups = np.repeat(np.arange(n_classes), per_class)
    for g in range(n_classes):
        class_tags = rng.choice(vocab, tags_per_class, replace=False)
        p = long_tail(rng, tags_per_class)
        draws = rng.choice(tags_per_class, size=(per_class, draws_per_image), p=p)
        base = g * per_class
        rows.append(np.repeat(np.arange(base, base + per_class), draws_per_image))
        cols.append(class_tags[draws.ravel()])
        correct[base:base + per_class] = rng.random(per_class) < rng.uniform(0.6, 0.95)
        top = class_tags[np.argsort(-p)[:20]]
        for _ in range(planted_per_class):  # a pair that co-occurs and fails
            a, b = rng.choice(top, 2, replace=False)
            idx = base + rng.choice(per_class, 60, replace=False)
            rows.append(np.repeat(idx, 2))
            cols.append(np.tile([a, b], 60))
            correct[idx] = rng.random(60) < 0.2
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    tags = sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)),
                         shape=(n_classes * per_class, vocab))
    tags.sum_duplicates()
    return tags, correct, groups


# -------------------------------------------------------------------- timing


def measure(fn):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed, peak


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name, tags, groups, max_tags, elapsed, peak, n_modes, ratio_text):
    print(
        f"{name:<28} samples={tags.shape[0]:>9,} tags={tags.shape[1]:>5} "
        f"classes={len(np.unique(groups)):>5} max_tags={max_tags} "
        f"time={elapsed:8.3f}s peak={peak / 2**20:8.1f}MiB "
        f"maxrss={max_rss_mb():8.0f}MiB modes={n_modes:>6}  {ratio_text}",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink the cases (e.g. 0.05 for a smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tags", type=int, nargs="+", default=[3, 4],
                        help="max_tags values for case (b)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    # (a) dense, compared with the loop, same output.
    tags, correct, groups = case_a(rng, n=max(2000, int(20_000 * args.scale)))
    modes, elapsed, peak = measure(
        lambda: find_failure_modes(tags, correct, groups, max_tags=3, **PARAMS))
    start = time.perf_counter()
    expected = loop_search(tags, correct, groups, max_tags=3, **PARAMS)
    loop_time = time.perf_counter() - start
    got = sorted((m.group, tuple(sorted(m.tag_indices)), m.size, m.num_correct) for m in modes)
    if got != expected:
        raise SystemExit(f"MISMATCH on case (a): engine {len(got)} modes, loop {len(expected)}")
    report("(a) dense", tags, groups, 3, elapsed, peak, len(modes),
           f"loop={loop_time:.2f}s ratio={loop_time / elapsed:,.0f}x (same output)")

    # (b) ImageNet-train shaped, sparse.
    n_classes = max(10, int(1000 * args.scale))
    start = time.perf_counter()
    tags, correct, groups = case_b(rng, n_classes=n_classes)
    print(f"(b) generated {tags.shape[0]:,} x {tags.shape[1]:,} sparse tags, "
          f"{tags.nnz / tags.shape[0]:.1f} tags/image, in {time.perf_counter() - start:.1f}s",
          flush=True)
    # The loop's cost per combination, from a 20 s slice of the first class.
    first = groups == groups[0]
    evaluated, spent = loop_search(tags[first], correct[first], groups[first], max_tags=3,
                                   time_budget=20 * min(1.0, args.scale * 4), **PARAMS)
    per_combo = spent / evaluated
    for max_tags in args.max_tags:
        modes, elapsed, peak = measure(
            lambda: find_failure_modes(tags, correct, groups, max_tags=max_tags, **PARAMS))
        total_combos = 0
        for g in np.unique(groups)[: min(n_classes, 20)]:
            n_freq = int((np.asarray(tags[groups == g].sum(axis=0)).ravel() >= 30).sum())
            total_combos += sum(comb(n_freq, k) for k in range(1, max_tags + 1))
        total_combos *= n_classes / min(n_classes, 20)
        estimate = total_combos * per_combo
        report("(b) ImageNet-shaped sparse", tags, groups, max_tags, elapsed, peak, len(modes),
               f"loop~{estimate:,.0f}s (estimated: {per_combo * 1e6:.1f}us/combination x "
               f"{total_combos:,.0f} combinations) ratio~{estimate / elapsed:,.0f}x")


if __name__ == "__main__":
    main()
