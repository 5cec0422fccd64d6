"""Benchmark of the CLIP metrics of many failure modes, given image embeddings.

Run:  .venv/bin/python benchmarks/metrics.py [--modes 1000] [--images 100000]

Ours: ``fiftyone_prime.core.metrics.score_failure_modes``: embeddings
normalized once, one similarity product per class for all its failure modes,
rank-based AUROC with the random-group baseline vectorized.
Baseline: a per-mode loop that recomputes everything from scratch: it
normalizes the class's embeddings, computes the similarities, and calls
``sklearn.metrics.roc_auc_score`` for the mode and for each random group.
Both produce the same numbers (checked); the script prints both times and
the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fiftyone_prime.core.metrics import score_failure_modes


def make_case(n_images, n_modes, n_classes=100, dim=512, seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n_images, dim)).astype(np.float32)
    classes = np.array([f"c{i:03d}" for i in range(n_classes)], dtype=object)[
        rng.integers(0, n_classes, n_images)
    ]
    captions = rng.normal(size=(n_modes, dim)).astype(np.float32)
    captions /= np.linalg.norm(captions, axis=1, keepdims=True)
    mode_classes = np.array([f"c{i % n_classes:03d}" for i in range(n_modes)], dtype=object)
    members = []
    for cls in mode_classes:
        rows = np.flatnonzero(classes == cls)
        members.append(rng.choice(rows, size=int(rng.integers(30, 200)), replace=False))
    return raw, classes, captions, mode_classes, members


def per_mode_loop(raw, classes, captions, mode_classes, members, num_random, seed):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    out = []
    for j, cls in enumerate(mode_classes):
        rows = np.flatnonzero(classes == cls)
        emb = raw[rows] / np.linalg.norm(raw[rows], axis=1, keepdims=True)
        sims = (emb @ captions[j]).astype(np.float64)
        in_group = np.isin(rows, members[j])
        k = int(in_group.sum())
        aurocs = []
        for _ in range(num_random):
            pick = np.zeros(len(rows), bool)
            pick[rng.choice(len(rows), k, replace=False)] = True
            aurocs.append(roc_auc_score(pick, sims))
        out.append(
            (
                sims[in_group].mean(),
                sims[in_group].std(),
                roc_auc_score(in_group, sims),
                float(np.mean(aurocs)),
            )
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", type=int, default=1000)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--num-random", type=int, default=20)
    args = parser.parse_args(argv)
    raw, classes, captions, mode_classes, members = make_case(args.images, args.modes)

    start = time.perf_counter()
    emb = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    ours = score_failure_modes(
        emb, classes, captions, mode_classes, members, num_random=args.num_random
    )
    ours_time = time.perf_counter() - start

    start = time.perf_counter()
    loop = per_mode_loop(raw, classes, captions, mode_classes, members, args.num_random, 0)
    loop_time = time.perf_counter() - start

    for s, (mean, std, auc, _) in zip(ours, loop):
        assert abs(s.similarity_mean - mean) < 1e-5 and abs(s.similarity_std - std) < 1e-5
        assert abs(s.auroc - auc) < 1e-3, (s.auroc, auc)  # float32 products in another order
    print(
        f"failure_modes={args.modes} images={args.images:,} dim=512 random_groups={args.num_random}"
    )
    print(f"ours (one product per class, ranks)     {ours_time:8.2f}s")
    print(f"per-mode loop (recompute, scikit-learn) {loop_time:8.2f}s")
    print(f"ratio {loop_time / ours_time:.1f}x (same mean, std and AUROC up to float32 rounding)")


if __name__ == "__main__":
    main()
