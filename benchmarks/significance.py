"""Can the failure modes be trusted as they come? Precision, recall, error rates and cost.

Run:  .venv/bin/python benchmarks/significance.py              (a few minutes)
      .venv/bin/python benchmarks/significance.py --classes 100 --datasets 80 (a quick run)
      .venv/bin/python benchmarks/significance.py --parts simulation (one part)

Three parts.

imagenet:

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
the paper's method), with family-wise control (``error_control="fwer"``) and
with the defaults (``alpha=0.05``, false-discovery control); the time ratio
to ``alpha=None`` is printed (same data, same run). A second data set with no
planted effect at all (correctness independent of the tags) shows how many
modes each setting reports by chance.

shapes: the two data shapes of issue 21 (:func:`bundled_classes`):
2,000 small classes of 100 images with independent tags, and 300 classes of
500 images whose tags come in bundles (a head tag and up to 3 synonyms that
mostly co-occur); a planted low-accuracy pair of head tags in 30% of the
classes. Per setting: rows, precision (rows whose tags are the planted pair
or part of it), planted classes found (as a row or an alias) against the
definition's, modes (rows plus aliases) and how many of them are false (no
excess of the failing images); how many rows stand for each planted failure
(rows holding a planted set, or whose samples are mostly failing images);
and an effect-free copy of the data.

simulation: hundreds of small seeded datasets of four scenarios
(:data:`SCENARIOS`: independent tags, correlated bundles, many small
classes, no effect; planted pairs and triples of varied strength), searched
with ``min_size=10`` under each control at ``alpha`` 0.05 and 0.2. A
reported mode (aliases included) is false when its samples hold no more of
the failing images than its class does (its null hypothesis is true). The
realised FDR (mean false-discovery proportion, normal 95% interval) and
FWER (share of datasets with any false mode, Clopper-Pearson interval) of
each control, with a reference that is not valid (BH over the definition's
modes only, ignoring the family) to show the measurement can see a broken
procedure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.stats import binomtest, false_discovery_control, norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import long_tail  # benchmarks/search.py: the same tag frequencies

from fiftyone_prime.core.error_control import flatten
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


# ------------------------------------------------------------------ shared generator


def bundled_classes(
    rng,
    n_classes,
    per_class,
    *,
    n_concepts=40,
    bundle_sizes=(1, 1),
    concepts_per_image=6.0,
    keep_head=0.9,
    keep_synonym=0.6,
    stray=0.0,
    accuracy=(0.8, 0.8),
    planted_share=0.3,
    planted_tags=(2, 2),
    planted_size=(40, 40),
    planted_accuracy=(0.2, 0.2),
    dense=False,
):
    """Classes whose tags come from concepts, each concept a bundle of tags.

    Every class shares one vocabulary of ``n_concepts`` bundles; a bundle has
    a head tag and ``bundle_sizes`` - 1 synonyms (``(1, 1)``: independent
    tags). An image holds each concept independently (long-tailed
    popularity, ``concepts_per_image`` on average); a concept it holds
    emits its head tag with probability ``keep_head`` and each synonym with
    ``keep_synonym``; a synonym also appears without its concept with
    probability ``stray``. In a ``planted_share`` of the classes,
    ``planted_size`` images are given ``planted_tags`` popular concepts, and
    every image carrying all of their head tags is classified right with
    probability ``planted_accuracy`` (the others: the class's ``accuracy``).

    Returns:
        ``(tags, correct, groups, planted, failing)``: ``planted`` maps a
        class to its planted head-tag columns, ``failing`` marks the images
        whose accuracy was lowered
    """
    sizes = rng.integers(bundle_sizes[0], bundle_sizes[1] + 1, n_concepts)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    n_tags = int(sizes.sum())
    concept_of = np.repeat(np.arange(n_concepts), sizes)
    is_head = np.zeros(n_tags, dtype=bool)
    is_head[starts] = True
    n = n_classes * per_class
    groups = np.repeat(np.arange(n_classes), per_class)
    correct = np.empty(n, dtype=bool)
    failing = np.zeros(n, dtype=bool)
    planted = {}
    chosen = set(rng.choice(n_classes, round(planted_share * n_classes), replace=False).tolist())
    blocks = []
    for g in range(n_classes):
        pop = long_tail(rng, n_concepts, 1.0)
        rate = np.minimum(0.6, pop * concepts_per_image)
        holds = rng.random((per_class, n_concepts)) < rate
        lo = g * per_class
        correct[lo : lo + per_class] = rng.random(per_class) < rng.uniform(*accuracy)
        if g in chosen:
            k = int(rng.integers(planted_tags[0], planted_tags[1] + 1))
            concepts = rng.choice(np.argsort(-pop)[:10], k, replace=False)
            size = int(rng.integers(planted_size[0], planted_size[1] + 1))
            idx = rng.choice(per_class, min(size, per_class), replace=False)
            holds[np.ix_(idx, concepts)] = True
        emit = np.where(is_head, keep_head, keep_synonym)
        block = holds[:, concept_of] & (rng.random((per_class, n_tags)) < emit)
        if stray:
            block |= ~is_head & (rng.random((per_class, n_tags)) < stray)
        if g in chosen:
            heads = np.sort(starts[concepts])
            hit = block[:, heads].all(axis=1)
            failing[lo : lo + per_class] = hit
            acc = rng.uniform(*planted_accuracy)
            correct[lo : lo + per_class][hit] = rng.random(hit.sum()) < acc
            planted[g] = tuple(int(h) for h in heads)
        blocks.append(block if dense else sp.csr_matrix(block))
    tags = np.vstack(blocks) if dense else sp.vstack(blocks, format="csr")
    return tags, correct, groups, planted, failing


def _members(tags, groups, mode):
    """Row indices of a mode's samples."""
    rows = np.flatnonzero(groups == mode.group)
    block = tags[rows][:, list(mode.tag_indices)]
    block = block.toarray() if sp.issparse(block) else block
    return rows[block.all(axis=1)]


def is_false(tags, groups, failing, mode):
    """Whether a reported mode is a false discovery: its samples hold no more
    of the images whose accuracy was lowered than its class does (its null
    hypothesis, no excess errors, is true; in classes without a planted
    failure every mode is false)."""
    rows = _members(tags, groups, mode)
    in_class = groups == mode.group
    return failing[rows].mean() <= failing[in_class].mean() + 1e-12


# -------------------------------------------------- the realised error rates


SCENARIOS = {
    # independent tags, a few mid-sized classes, planted pairs and triples
    "independent": dict(
        n_concepts=30, concepts_per_image=6.0, planted_tags=(2, 3), planted_size=(15, 45)
    ),
    # correlated bundles (synonyms that mostly co-occur, some strays)
    "bundles": dict(
        n_concepts=14,
        bundle_sizes=(1, 4),
        concepts_per_image=4.0,
        stray=0.03,
        planted_tags=(2, 3),
        planted_size=(15, 45),
    ),
    # many small classes
    "small": dict(n_concepts=20, concepts_per_image=5.0, planted_size=(12, 30)),
    # no effect anywhere
    "null": dict(n_concepts=25, concepts_per_image=6.0, planted_share=0.0),
}

CONTROLS = ("fdr", "fdr_by", "fwer")

#: A reference that ignores the tested family: Benjamini-Hochberg over the
#: definition's modes only. It is not a valid procedure (the definition
#: picked those modes from every set tested); the simulation shows it.
NAIVE = "naive"


def simulate(n_datasets, seed=0, alpha=0.05, min_size=10, scenarios=tuple(SCENARIOS)):
    """Realised false-discovery proportion and any-false indicator per
    dataset and control, over ``n_datasets`` seeded planted datasets.

    Returns:
        ``{control: {"fdp": [...], "any_false": [...], "reported": [...],
        "scenario": [...]}}``
    """
    rng = np.random.default_rng(seed)
    out = {
        c: {"fdp": [], "any_false": [], "reported": [], "scenario": []} for c in (*CONTROLS, NAIVE)
    }
    for i in range(n_datasets):
        name = scenarios[i % len(scenarios)]
        spec = dict(SCENARIOS[name])
        if name == "small":
            n_classes, per_class = int(rng.integers(20, 40)), 100
        else:
            n_classes, per_class = int(rng.integers(4, 12)), int(rng.integers(150, 400))
        spec.setdefault("planted_share", 0.4)
        tags, correct, groups, _, failing = bundled_classes(
            rng,
            n_classes,
            per_class,
            accuracy=(0.6, 0.95),
            planted_accuracy=(0.15, 0.6),
            dense=True,
            **spec,
        )
        for how in (*CONTROLS, NAIVE):
            if how == NAIVE:
                params = DEFAULT_PARAMS.replace(min_size=min_size, alpha=None)
                modes = run_search(tags, correct, groups, params=params).failure_modes
                if modes:
                    q = false_discovery_control([m.p_value for m in modes])
                    modes = [m for m, keep in zip(modes, q <= alpha) if keep]
            else:
                params = DEFAULT_PARAMS.replace(min_size=min_size, alpha=alpha, error_control=how)
                modes = flatten(run_search(tags, correct, groups, params=params).failure_modes)
            false = sum(is_false(tags, groups, failing, m) for m in modes)
            rec = out[how]
            rec["fdp"].append(false / max(len(modes), 1))
            rec["any_false"].append(false > 0)
            rec["reported"].append(len(modes))
            rec["scenario"].append(name)
    return out


def rate_intervals(results, confidence=0.95):
    """Per control: realised FDR (mean FDP, normal interval) and FWER
    (share of datasets with a false discovery, Clopper-Pearson interval)."""
    z = norm.ppf(0.5 + confidence / 2)
    rows = {}
    for how, rec in results.items():
        fdp = np.asarray(rec["fdp"], dtype=float)
        any_false = np.asarray(rec["any_false"], dtype=bool)
        n = len(fdp)
        half = z * fdp.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        ci = binomtest(int(any_false.sum()), n).proportion_ci(confidence, method="exact")
        rows[how] = dict(
            n=n,
            fdr=float(fdp.mean()),
            fdr_ci=(max(0.0, fdp.mean() - half), fdp.mean() + half),
            fwer=float(any_false.mean()),
            fwer_ci=(ci.low, ci.high),
            reported=float(np.mean(rec["reported"])),
        )
    return rows


def print_simulation(n_datasets, seed, alpha=0.05):
    start = time.perf_counter()
    results = simulate(n_datasets, seed=seed, alpha=alpha)
    print(
        f"simulation: {n_datasets} planted datasets ({', '.join(SCENARIOS)}; "
        f"min_size=10, alpha={alpha}) in {time.perf_counter() - start:.0f}s; "
        "false = a mode whose samples hold no excess of the planted failing images",
        flush=True,
    )
    for how, r in rate_intervals(results).items():
        print(
            f"  {how:<7} realised FDR={r['fdr']:.4f} [{r['fdr_ci'][0]:.4f}, {r['fdr_ci'][1]:.4f}]"
            f"  FWER={r['fwer']:.4f} [{r['fwer_ci'][0]:.4f}, {r['fwer_ci'][1]:.4f}]"
            f"  modes/dataset={r['reported']:.1f}",
            flush=True,
        )
    for name in SCENARIOS:
        parts = []
        for how in (*CONTROLS, NAIVE):
            rec = results[how]
            sel = np.array(rec["scenario"]) == name
            parts.append(
                f"{how} FDR={np.mean(np.array(rec['fdp'])[sel]):.3f} "
                f"FWER={np.mean(np.array(rec['any_false'])[sel]):.3f}"
            )
        print(f"    {name:<12} " + "; ".join(parts))
    return results


# ------------------------------------------------ the two data shapes


def _planted_score(modes, planted, tags, groups):
    """Rows matching a planted set, planted classes found (as a row or an
    alias), and per planted class the rows that stand for its failure."""
    rows_true = 0
    found = set()
    for m in modes:
        pair = planted.get(m.group)
        if pair is not None and set(m.tag_indices) <= set(pair):
            rows_true += 1
            found.add(m.group)
        if pair is not None and any(set(a.tag_indices) <= set(pair) for a in m.aliases):
            found.add(m.group)
    return rows_true, found


def shape_case(name, rng, n_classes, per_class, spec, repeat=1):
    """The definition's planted classes against the defaults' (and fwer's)."""
    start = time.perf_counter()
    tags, correct, groups, planted, failing = bundled_classes(rng, n_classes, per_class, **spec)
    print(
        f"{name}: {n_classes} classes x {per_class} images, {tags.shape[1]} tags, "
        f"{tags.nnz / tags.shape[0]:.1f} tags/image, {len(planted)} planted "
        f"(generated in {time.perf_counter() - start:.1f}s)",
        flush=True,
    )
    runs = {}
    for label, params in (
        ("alpha=None", DEFAULT_PARAMS.replace(alpha=None)),
        ("fwer", DEFAULT_PARAMS.replace(error_control="fwer")),
        ("fdr_by", DEFAULT_PARAMS.replace(error_control="fdr_by")),
        ("fdr (default)", DEFAULT_PARAMS),
    ):
        outcome, seconds = timed(
            lambda p=params: run_search(tags, correct, groups, params=p), repeat
        )
        runs[label] = outcome
        modes = outcome.failure_modes
        rows_true, found = _planted_score(modes, planted, tags, groups)
        flat = flatten(modes)
        false = sum(is_false(tags, groups, failing, m) for m in flat)
        line = (
            f"  {label:<13} rows={len(modes):>5} planted rows={rows_true:>4} "
            f"precision={rows_true / max(len(modes), 1):.3f} "
            f"planted classes found={len(found):>4} "
            f"modes={len(flat):>5} false (no excess)={false:>3} time={seconds:.2f}s"
        )
        if label != "alpha=None":
            base = runs["alpha=None"]
            _, base_found = _planted_score(base.failure_modes, planted, tags, groups)
            line += f" found/definition={len(found & base_found) / max(len(base_found), 1):.3f}"
        print(line, flush=True)
    # How each planted failure the definition finds appears at the default.
    base_modes = runs["alpha=None"].failure_modes
    _, base_found = _planted_score(base_modes, planted, tags, groups)
    default = runs["fdr (default)"].failure_modes
    one_row = lost = 0
    rows_per = []
    for g in sorted(base_found):
        # The rows that stand for the failure: those holding a planted set
        # (as the row or an alias) and those whose samples are mostly the
        # failing images (proxies).
        standing = [
            m
            for m in default
            if m.group == g
            and (
                any(set(x.tag_indices) <= set(planted[g]) for x in (m, *m.aliases))
                or failing[_members(tags, groups, m)].mean() > 0.5
            )
        ]
        has = any(set(x.tag_indices) <= set(planted[g]) for m in standing for x in (m, *m.aliases))
        lost += not has
        one_row += has and len(standing) == 1
        rows_per.append(len(standing))
    base_rows = [
        sum(
            set(m.tag_indices) <= set(planted[g]) or failing[_members(tags, groups, m)].mean() > 0.5
            for m in base_modes
            if m.group == g
        )
        for g in sorted(base_found)
    ]
    print(
        f"  definition: {len(base_found)} planted failures as {sum(base_rows)} rows "
        f"(up to {max(base_rows, default=0)} per failure); default: "
        f"{one_row / max(len(base_found), 1):.3f} as exactly one row "
        f"({sum(rows_per)} rows, up to {max(rows_per, default=0)}), {lost} lost",
        flush=True,
    )
    spec = dict(spec, planted_share=0.0)
    tags, correct, groups, _, _ = bundled_classes(rng, n_classes, per_class, **spec)
    counts = []
    for how in ("fdr", "fdr_by", "fwer"):
        params = DEFAULT_PARAMS.replace(error_control=how)
        counts.append(
            f"{how}={len(flatten(run_search(tags, correct, groups, params=params).failure_modes))}"
        )
    everything = run_search(tags, correct, groups, params=DEFAULT_PARAMS.replace(alpha=None))
    print(
        f"  effect-free copy: alpha=None {len(everything.failure_modes)} modes; "
        f"reported {', '.join(counts)}",
        flush=True,
    )
    return runs


def print_shapes(seed):
    rng = np.random.default_rng(seed + 1000)
    shape_case(
        "small classes",
        rng,
        2000,
        100,
        dict(n_concepts=40, concepts_per_image=6.0, planted_size=(30, 55), accuracy=(0.75, 0.9)),
    )
    shape_case(
        "bundled tags",
        rng,
        300,
        500,
        dict(
            n_concepts=40,
            bundle_sizes=(1, 4),
            concepts_per_image=5.0,
            stray=0.02,
            planted_size=(50, 90),
            accuracy=(0.75, 0.9),
        ),
    )


def imagenet_part(args):
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
    settings = (
        ("None", DEFAULT_PARAMS.replace(alpha=None)),
        ("fwer", DEFAULT_PARAMS.replace(error_control="fwer")),
        ("fdr", DEFAULT_PARAMS),
    )
    for label, params in settings:
        outcome, times[label] = timed(
            lambda p=params: run_search(tags, correct, groups, params=p), args.repeat
        )
        precision, recall, n_testable = score(
            outcome.failure_modes, planted, tags, groups, min_size
        )
        sig = outcome.significance
        print(
            f"  alpha={params.alpha!s:<5} {label:<4} modes={len(outcome.failure_modes):>5} "
            f"precision={precision:.3f} recall={recall:.3f} (of {n_testable} planted pairs "
            f"with >= {min_size} samples) time={times[label]:.2f}s "
            + (
                "no family counted (alpha=None) "
                if sig.family_size is None
                else f"family<={sig.family_size:,.0f} tested family<={sig.tested_family:,.0f} "
            )
            + f"corrected level={sig.corrected_level} aliases={sig.num_aliases}",
            flush=True,
        )
    for label in ("fdr", "fwer"):
        print(
            f"  time with alpha={DEFAULT_PARAMS.alpha} ({label}) / time with alpha=None: "
            f"{times[label] / times['None']:.2f}x (target <= 1.5x)"
        )

    tags, correct, groups, _ = imagenet_shaped(rng, args.classes, planted_share=0.0)
    print(f"null data: {args.classes} classes, correctness independent of the tags", flush=True)
    for label, params in settings:
        outcome = run_search(tags, correct, groups, params=params)
        print(
            f"  alpha={params.alpha!s:<5} {label:<4} modes reported="
            f"{len(outcome.failure_modes)} (all by chance)",
            flush=True,
        )


PARTS = ("imagenet", "shapes", "simulation")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="best-of timing repeats")
    parser.add_argument(
        "--datasets", type=int, default=400, help="planted datasets of the simulation"
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args(argv)
    if "imagenet" in args.parts:
        imagenet_part(args)
    if "shapes" in args.parts:
        print_shapes(args.seed)
    if "simulation" in args.parts:
        for alpha in (0.05, 0.2):
            print_simulation(args.datasets, args.seed, alpha)


if __name__ == "__main__":
    main()
