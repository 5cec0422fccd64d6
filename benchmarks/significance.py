"""Can the failure modes be trusted as they come? Precision, recall and cost of significance.

Run:  .venv/bin/python benchmarks/significance.py              (about a minute)
      .venv/bin/python benchmarks/significance.py --classes 100 (a quick run)

Data: the ImageNet-train shaped generator (1,000 classes x 1,281 images, a
4,585-tag vocabulary, ~300 tags per class with a long-tailed frequency, ~12
distinct tags per image), every class at 80% accuracy. In 30% of the
classes one pair of common tags is planted: 60 of the class's images get both
tags, and every image of the class carrying both is classified right only 20%
of the time. The planted pair is
known, so every reported failure mode is checked against it:

- a mode is *planted* when it lies in a planted class and its tags are the
  planted pair or one of its two tags (minimality may pick the single tag);
- precision: the share of reported modes that are planted;
- recall: the share of planted pairs with >= min_size samples for which a
  planted mode is reported.

The same data is searched with ``alpha=None`` (every mode of the definition,
the paper's method) and with the default ``alpha=0.05``; the time ratio of
the two is printed (same data, same run). A second data set with no planted
effect at all (correctness independent of the tags) shows how many modes
each setting reports by chance.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import long_tail  # benchmarks/search.py: the same tag frequencies

from fiftyone_prime.core.search import run_search
from fiftyone_prime.core.types import DEFAULT_PARAMS


def imagenet_shaped(
    rng,
    n_classes,
    *,
    per_class=1281,
    vocab=4585,
    tags_per_class=300,
    draws_per_image=16,
    accuracy=0.8,
    planted_share=0.3,
    planted_size=60,
    planted_accuracy=0.2,
):
    """Returns ``(tags, correct, groups, planted)``; ``planted`` maps a class
    to its planted pair of tag columns."""
    rows, cols = [], []
    groups = np.repeat(np.arange(n_classes), per_class)
    correct = rng.random(n_classes * per_class) < accuracy
    planted = {}
    planted_classes = rng.choice(n_classes, round(planted_share * n_classes), replace=False)
    for g in range(n_classes):
        class_tags = rng.choice(vocab, tags_per_class, replace=False)
        p = long_tail(rng, tags_per_class)
        draws = rng.choice(tags_per_class, size=(per_class, draws_per_image), p=p)
        base = g * per_class
        rows.append(np.repeat(np.arange(base, base + per_class), draws_per_image))
        cols.append(class_tags[draws.ravel()])
        if g in planted_classes:
            a, b = sorted(rng.choice(class_tags[np.argsort(-p)[:20]], 2, replace=False))
            idx = base + rng.choice(per_class, planted_size, replace=False)
            rows.append(np.repeat(idx, 2))
            cols.append(np.tile([a, b], planted_size))
            planted[g] = (int(a), int(b))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    tags = sp.csr_matrix(
        (np.ones(len(rows), bool), (rows, cols)), shape=(n_classes * per_class, vocab)
    )
    tags.sum_duplicates()
    tags_csc = tags.tocsc()
    for g, (a, b) in planted.items():  # the pair's presence is what fails
        both = np.flatnonzero(
            tags_csc[:, a].toarray().ravel() & tags_csc[:, b].toarray().ravel() & (groups == g)
        )
        correct[both] = rng.random(len(both)) < planted_accuracy
    return tags, correct, groups, planted


def score(modes, planted, tags, groups, min_size):
    """``(precision, recall, n_planted_testable)`` of the reported modes."""

    def is_planted(m):
        pair = planted.get(m.group)
        return pair is not None and set(m.tag_indices) <= set(pair)

    hits = [m for m in modes if is_planted(m)]
    found = {m.group for m in hits}
    testable = [
        g
        for g, (a, b) in planted.items()
        if tags[groups == g][:, [a, b]].toarray().all(axis=1).sum() >= min_size
    ]
    precision = len(hits) / len(modes) if modes else float("nan")
    recall = sum(g in found for g in testable) / len(testable) if testable else float("nan")
    return precision, recall, len(testable)


def timed(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="best-of timing repeats")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    min_size = DEFAULT_PARAMS.min_size

    start = time.perf_counter()
    tags, correct, groups, planted = imagenet_shaped(rng, args.classes)
    print(
        f"planted data: {tags.shape[0]:,} images x {tags.shape[1]:,} tags, "
        f"{tags.nnz / tags.shape[0]:.1f} tags/image, {args.classes} classes, "
        f"{len(planted)} planted pairs (generated in {time.perf_counter() - start:.1f}s)",
        flush=True,
    )
    times = {}
    for alpha in (None, DEFAULT_PARAMS.alpha):
        params = DEFAULT_PARAMS.replace(alpha=alpha)
        outcome, times[alpha] = timed(
            lambda: run_search(tags, correct, groups, params=params), args.repeat
        )
        precision, recall, n_testable = score(
            outcome.failure_modes, planted, tags, groups, min_size
        )
        sig = outcome.significance
        print(
            f"  alpha={alpha!s:<5} modes={len(outcome.failure_modes):>5} "
            f"precision={precision:.3f} recall={recall:.3f} (of {n_testable} planted pairs "
            f"with >= {min_size} samples) time={times[alpha]:.2f}s "
            f"family<={sig.family_size:,.0f} corrected level={sig.corrected_level}",
            flush=True,
        )
    print(
        f"  time with alpha={DEFAULT_PARAMS.alpha} / time with alpha=None: "
        f"{times[DEFAULT_PARAMS.alpha] / times[None]:.2f}x (target <= 1.5x)"
    )

    tags, correct, groups, _ = imagenet_shaped(rng, args.classes, planted_share=0.0)
    print(f"null data: {args.classes} classes, correctness independent of the tags", flush=True)
    for alpha in (None, DEFAULT_PARAMS.alpha):
        outcome = run_search(tags, correct, groups, params=DEFAULT_PARAMS.replace(alpha=alpha))
        print(
            f"  alpha={alpha!s:<5} modes reported={len(outcome.failure_modes)} (all by chance)",
            flush=True,
        )


if __name__ == "__main__":
    main()
