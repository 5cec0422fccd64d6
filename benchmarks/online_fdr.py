"""Hunches tested one after another: does LORD++ keep the false-discovery rate?

Run:  .venv/bin/python benchmarks/online_fdr.py                 (a few minutes)
      .venv/bin/python benchmarks/online_fdr.py --sessions 100  (a quick run)

A *session* is a person testing 100 hypotheses on one dataset, one after
another, with :func:`fiftyone_prime.core.hypotheses.test_hypotheses` (the
search's one-sided Fisher p-value, measured on the session's data) and a
fresh LORD++ state at ``alpha`` (``W0 = alpha / 2``). Each session has its own
seeded dataset: 20 classes of 300 images, 40 tags, each image carrying each
tag independently with a tag-specific frequency in ``[0.15, 0.4]``, 80%
accuracy.

Two settings:

-   ``null``: correctness is independent of the tags, so every one of the
    100 hypotheses (a random class with one or two random tags) is false.
-   ``effects``: in 10 of the classes, the images carrying a planted pair of
    tags (from 6 tags kept for planting) are right only 45% of the time.
    The session tests the 10 planted (class, pair) hypotheses and 90 false
    ones (random class, one or two tags not kept for planting: independent
    of correctness, so their null holds exactly), in random order.

Per procedure: the realised FDR (mean false-discovery proportion over
sessions, normal 95% interval), the share of sessions with any false
discovery, discoveries per session and, with effects, power (the mean share
of the true hypotheses rejected). The baselines, from the same p-values:
"naive" rejects when ``p <= alpha`` (what a person does without
correction), and offline Benjamini-Hochberg over all 100 at once (a
reference that the online setting cannot use: it needs every p-value
before deciding any).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import false_discovery_control

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fiftyone_prime.core.hypotheses import Hypothesis, test_hypotheses
from fiftyone_prime.core.online_fdr import LordPlusPlus

N_CLASSES, PER_CLASS, N_TAGS, N_PLANT_TAGS = 20, 300, 40, 6
N_HYPOTHESES, N_TRUE = 100, 10
ACCURACY, PLANTED_ACCURACY = 0.8, 0.45


def session(rng, effects: bool) -> tuple[list, np.ndarray]:
    """One dataset and the 100 hypotheses tested on it, with their truth."""
    n = N_CLASSES * PER_CLASS
    groups = np.repeat(np.arange(N_CLASSES), PER_CLASS)
    tags = rng.random((n, N_TAGS)) < rng.uniform(0.15, 0.4, N_TAGS)
    correct = rng.random(n) < ACCURACY
    names = [f"t{j}" for j in range(N_TAGS)]
    true_hyps = []
    if effects:
        for g in rng.choice(N_CLASSES, N_TRUE, replace=False):
            pair = rng.choice(N_PLANT_TAGS, 2, replace=False)
            bad = (groups == g) & tags[:, pair[0]] & tags[:, pair[1]]
            correct[bad] = rng.random(bad.sum()) < PLANTED_ACCURACY
            true_hyps.append(Hypothesis(tuple(names[j] for j in pair), int(g)))
    null_tags = np.arange(N_PLANT_TAGS if effects else 0, N_TAGS)
    null_hyps = [
        Hypothesis(
            tuple(names[j] for j in rng.choice(null_tags, rng.integers(1, 3), replace=False)),
            int(rng.integers(N_CLASSES)),
        )
        for _ in range(N_HYPOTHESES - len(true_hyps))
    ]
    hyps = true_hyps + null_hyps
    truth = np.array([True] * len(true_hyps) + [False] * len(null_hyps))
    order = rng.permutation(len(hyps))
    return (tags, correct, groups, names, [hyps[i] for i in order]), truth[order]


def decisions(data, alpha: float) -> dict:
    """Each procedure's rejections of the session's hypotheses, in order."""
    tags, correct, groups, names, hyps = data
    results = test_hypotheses(tags, correct, groups, names, hyps, LordPlusPlus(alpha=alpha))
    p = np.array([1.0 if r.p_value is None else r.p_value for r in results])
    return {
        "LORD++": np.array([r.rejected for r in results]),
        "naive p <= alpha": p <= alpha,
        "offline BH (reference)": false_discovery_control(p) <= alpha,
    }


def interval(x: np.ndarray) -> str:
    """Mean with a normal 95% interval."""
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
    return f"{x.mean():.4f} [{max(0.0, x.mean() - half):.4f}, {x.mean() + half:.4f}]"


def run(setting: str, sessions: int, alpha: float, seed: int) -> None:
    effects = setting == "effects"
    stats: dict = {}
    start = time.perf_counter()
    for s in range(sessions):
        rng = np.random.default_rng([seed, s, int(effects)])
        data, truth = session(rng, effects)
        for name, rejected in decisions(data, alpha).items():
            false = int((rejected & ~truth).sum())
            found = int(rejected.sum())
            row = stats.setdefault(name, {"fdp": [], "any": [], "found": [], "power": []})
            row["fdp"].append(false / max(found, 1))
            row["any"].append(false > 0)
            row["found"].append(found)
            if truth.any():
                row["power"].append((rejected & truth).sum() / truth.sum())
    seconds = time.perf_counter() - start
    print(
        f"\n{setting}: {sessions} sessions x {N_HYPOTHESES} hypotheses "
        f"({'10 true, 90 false' if effects else 'all false'}), alpha={alpha}, "
        f"{seconds:.1f} s"
    )
    header = f"{'procedure':24s} {'realised FDR [95% CI]':28s} {'any false':>9s} {'found':>6s}"
    print(header + (f" {'power [95% CI]':>28s}" if effects else ""))
    for name, row in stats.items():
        line = (
            f"{name:24s} {interval(np.array(row['fdp'])):28s} "
            f"{np.mean(row['any']):9.3f} {np.mean(row['found']):6.2f}"
        )
        if effects:
            line += f" {interval(np.array(row['power'])):>28s}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", nargs="+", default=["null", "effects"])
    args = parser.parse_args()
    for setting in args.settings:
        run(setting, args.sessions, args.alpha, args.seed)


if __name__ == "__main__":
    main()
