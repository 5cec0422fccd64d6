"""Benchmark of the regression search: planted regressions, a null, and time.

Run:  .venv/bin/python benchmarks/regressions.py               (~1-3 minutes)
      .venv/bin/python benchmarks/regressions.py --classes 100 (a quick run)

Data: ImageNet-train shaped, as benchmarks/search.py's case (b): 1,000
classes x 1,281 images, a 4,585-tag vocabulary, ~300 tags per class with a
long-tailed frequency, ~12 distinct tags per image (16 draws with repeats).

Models. The baseline is right with probability 0.80 on every image. The new
model is right with probability 0.95 where the baseline is right and 0.40
where it is wrong: ~84% overall. In 30% of the classes a pair of tags
(two of the class's tags ranked 6-12 by frequency, each on ~20-35% of its
images) is planted on 25-75 images, and the pair never co-occurs elsewhere;
on those images the new model is right with probability 0.30 (the baseline
stays at 0.80), so the pair's set is exactly the planted images.

Reported (default parameters: min_size=30, min_drop=0.2, min_gain=0.1,
max_tags=3, minimal=True, alpha=0.05):

-   precision: the share of reported rows (modes, their proxies listed as
    aliases) that are planted pairs;
-   recall: the share of planted pairs with >= 30 images reported as a row;
-   one row: of the planted pairs reported, the share whose class has
    exactly one row, the pair (its proxies folded into it as aliases);
-   before/after: each figure for the rows without proxy grouping (every
    reported mode its own row, ``flatten``: the output before regression
    modes had aliases) and with it (the default), from the same search;
-   null: the same tags with two models whose errors are independent, both
    at 80%: the number of modes reported (the target is <= 1);
-   each with the default ``error_control="fdr"`` (Benjamini-Hochberg over
    Tarone's testable sets) and with ``"fwer"`` (Tarone-Bonferroni);
-   time: the regression search and find_failure_modes (on the new model)
    on the same data, both with their defaults, best of --repeat runs after
    a warm-up, and the ratio (the target is <= 1.5).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.search import _csr, _rows_to_csr_parts, long_tail  # noqa: E402
from fiftyone_prime.core import SearchParams, find_failure_modes  # noqa: E402
from fiftyone_prime.core.error_control import flatten  # noqa: E402
from fiftyone_prime.core.regression import (  # noqa: E402
    find_regressions,
    run_regression_search,
)


def generate(rng, n_classes=1000, per_class=1281, vocab=4585, tags_per_class=300, draws=16):
    """Tags, baseline and new correctness, groups, and the planted pairs."""
    indices, counts = [], []
    n = n_classes * per_class
    groups = np.repeat(np.arange(n_classes, dtype=np.int32), per_class)
    base = rng.random(n) < 0.80
    new = np.where(base, rng.random(n) < 0.95, rng.random(n) < 0.40)
    planted = {}
    for g in range(n_classes):
        class_tags = rng.choice(vocab, tags_per_class, replace=False)
        p = long_tail(rng, tags_per_class)
        picks = rng.choice(tags_per_class, size=(per_class, draws), p=p)
        rows = np.repeat(np.arange(per_class), draws)
        cols = class_tags[picks.ravel()]
        start = g * per_class
        if rng.random() < 0.3:
            ranked = class_tags[np.argsort(-p)]
            a, b = rng.choice(ranked[5:12], 2, replace=False)
            m = int(rng.integers(25, 76))
            idx = rng.choice(per_class, m, replace=False)
            # No natural co-occurrence: drop b from the other rows carrying a.
            has_a = np.zeros(per_class, dtype=bool)
            has_a[rows[cols == a]] = True
            outside = np.ones(per_class, dtype=bool)
            outside[idx] = False
            keep = ~((cols == b) & has_a[rows] & outside[rows])
            rows, cols = rows[keep], cols[keep]
            rows = np.concatenate([rows, np.repeat(idx, 2)])
            cols = np.concatenate([cols, np.tile([a, b], m)])
            new[start + idx] = rng.random(m) < 0.30
            base[start + idx] = rng.random(m) < 0.80
            planted[g] = (tuple(sorted((str(a), str(b)))), m)
        i, c = _rows_to_csr_parts(rows, cols, per_class, vocab)
        indices.append(i)
        counts.append(c)
    return _csr(indices, counts, vocab), base, new, groups, planted


def best_time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--per-class", type=int, default=1281)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    tags, base, new, groups, planted = generate(rng, args.classes, args.per_class)
    names = [str(i) for i in range(tags.shape[1])]
    print(
        f"data: {tags.shape[0]:,} images, {args.classes} classes, {tags.nnz / tags.shape[0]:.1f} "
        f"tags per image, {len(planted)} planted pairs; generated in "
        f"{time.perf_counter() - t0:.1f}s"
    )
    print(f"accuracy: baseline {base.mean():.1%}, new {new.mean():.1%}")
    # warm-up (compiles or loads the kernels)
    find_regressions(tags[:5000], base[:5000], new[:5000], groups[:5000], tag_names=names)
    find_failure_modes(tags[:5000], new[:5000], groups[:5000], tag_names=names)

    t_reg, modes = best_time(
        lambda: find_regressions(tags, base, new, groups, tag_names=names), args.repeat
    )
    t_fm, fms = best_time(
        lambda: find_failure_modes(tags, new, groups, tag_names=names), args.repeat
    )
    truth = {(g, pair) for g, (pair, _) in planted.items()}
    eligible = set()
    for g, (pair, _) in planted.items():
        rows = slice(g * args.per_class, (g + 1) * args.per_class)
        cols = [int(t) for t in pair]
        size = int(tags[rows][:, cols].toarray().all(axis=1).sum())
        if size >= 30:
            eligible.add((g, pair))

    def score(modes, name):
        reported = {(int(m.group), m.tags) for m in modes}
        hits = reported & truth
        precision = len(hits) / len(reported) if reported else 1.0
        recall = len(reported & eligible) / len(eligible) if eligible else 1.0
        rows_of = {}
        for m in modes:
            rows_of.setdefault(int(m.group), []).append(m.tags)
        found = reported & truth
        one_row = sum(rows_of.get(g) == [pair] for g, pair in found)
        one = one_row / len(found) if found else 1.0
        print(
            f"{name}: {len(modes)} rows ({sum(len(m.aliases) for m in modes)} aliases); "
            f"precision {precision:.3f} ({len(hits)}/{len(reported)}), recall {recall:.3f} "
            f"({len(reported & eligible)}/{len(eligible)} planted pairs with >= 30 images), "
            f"one row {one:.3f} ({one_row}/{len(found)} planted pairs found)"
        )
        others = sorted(reported - truth)[:5]
        if others:
            print(f"  not planted (first 5): {others}")
        return precision, recall, one

    score(flatten(modes), "before (no aliases) 'fdr'")
    fdr_precision, fdr_recall, fdr_one = score(
        modes, "regression search (error_control='fdr', the default)"
    )
    fwer = run_regression_search(
        tags, base, new, groups, tag_names=names, params=SearchParams(error_control="fwer")
    ).regressions
    score(flatten(fwer), "before (no aliases) 'fwer'")
    precision, recall, one = score(fwer, "regression search, error_control='fwer'")

    # Null: independent errors, same accuracy, same tags.
    null_base = rng.random(len(base)) < 0.80
    null_new = rng.random(len(base)) < 0.80
    null_fdr = find_regressions(tags, null_base, null_new, groups, tag_names=names)
    null = run_regression_search(
        tags, null_base, null_new, groups, params=SearchParams(error_control="fwer")
    ).regressions
    print(
        f"null (independent errors, both 80%): {len(null_fdr)} modes with 'fdr', "
        f"{len(null)} with 'fwer'"
    )

    print(
        f"time: regression search {t_reg:.2f}s, find_failure_modes {t_fm:.2f}s "
        f"({len(fms)} failure modes); ratio {t_reg / t_fm:.2f}"
    )
    fast = t_reg <= 1.5 * t_fm
    for name, p, r, o, n in (
        ("fdr, the default", fdr_precision, fdr_recall, fdr_one, len(null_fdr)),
        ("fwer", precision, recall, one, len(null)),
    ):
        met = p >= 0.95 and r >= 0.90 and o >= 0.95 and n <= 1 and fast
        print(f"targets ({name}): {'met' if met else 'NOT met'}")
    ok = (
        fdr_precision >= 0.95
        and fdr_recall >= 0.90
        and fdr_one >= 0.95
        and len(null_fdr) <= 1
        and fast
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
