"""Benchmark of the exact failure-mode search against baselines in the same run.

Run:  .venv/bin/python benchmarks/search.py              (all cases, ~5 minutes)
      .venv/bin/python benchmarks/search.py --scale 0.05 (a quick smoke run)
      .venv/bin/python benchmarks/search.py --cases a b  (some cases)

Every case uses the project's default parameters (min_size=30, min_drop=0.2,
min_gain=0.1, minimal=True, alpha=0.05) unless its line says otherwise.

Cases:
  (a) 20k samples, 80 tags, 10 classes, dense, max_tags=3, minimal=True and
      minimal=False; compared with the straightforward loop
      (itertools.combinations plus a mask per combination, what published
      implementations of PRIME do) and with the levelwise numpy engine
      (tests/core/levelwise.py: the product's engine where numba was
      missing until issue #18, now a test oracle; since then it shares the
      compiled counting and packing, so only its levels >= 2 differ from
      the product and its times are lower than this baseline's before
      #18), outputs checked equal.
  (b) ImageNet-train shaped and sparse: 1,000 classes x 1,281 images, a
      4,585-tag vocabulary, ~300 tags per class with a long-tailed
      frequency, ~12 distinct tags per image (16 draws with repeats),
      planted failure pairs; max_tags=3 and 4. Compared with the levelwise
      numpy engine (same output checked), the previous engine (the search
      as of commit 66367e5, loaded from git history, same output checked)
      and with the loop, extrapolated from a timed slice of one class and
      marked as an estimate.
  (c) the same shape with correlated tags: each class has 60 bundles of 2-6
      co-occurring tags (synonyms, scene words) with long-tailed popularity;
      an image takes 9 bundles, keeps each bundle tag with probability 0.85,
      plus 4 loose tags: ~27 tags per image; max_tags=4. Compared with the
      levelwise numpy engine and the previous engine (same output checked).
  (g) growth: generator (b) at 1,000 classes x 1,281 images (1.28M) and at
      10,000 classes x 1,000 images (10M), max_tags=3.

Each large case runs in its own process, so its max RSS (data generation
included) is its own; it is read before the baselines run. The compiled
kernels are compiled (or loaded from numba's cache) by a small warm-up search
first, so the times are of the search, not of the compiler. Prints, per case:
samples, tags, classes, max_tags, wall time (best of --repeat untraced runs),
tracemalloc peak of the search call (one more, untimed run), the process's max RSS, number of failure modes, the
phases of the search and the comparisons.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import types
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fiftyone_prime.core import SearchParams, find_failure_modes, run_search  # noqa: E402
from fiftyone_prime.core.significance import TestedFamily  # noqa: E402
from tests.core.family_oracle import add_group  # noqa: E402
from tests.core.levelwise import LevelwiseEngine  # noqa: E402

TOL = 1e-9
PARAMS = dict(min_size=30, min_drop=0.2, min_gain=0.1)
PREVIOUS = "66367e5"  # the search before issue #12


def numpy_engine(tags, correct, groups, *, alpha=0.05, **kwargs):
    """The search on the levelwise numpy engine of ``tests/core/levelwise.py``."""
    params = SearchParams(alpha=alpha, **kwargs)
    return run_search(tags, correct, groups, params=params, engine=LevelwiseEngine()).failure_modes


class _FamilyOneByOne(TestedFamily):
    """The family with the one-group recorder the previous engine calls
    (``TestedFamily.add_group``, now a test helper)."""

    def add_group(self, group_tags, supports, num_errors):
        add_group(self, group_tags, supports, num_errors)


def warm_up():
    """Compiles the kernels (or loads them from numba's cache), dense and sparse."""
    rng = np.random.default_rng(0)
    tags = rng.random((500, 8)) < 0.5
    correct = rng.random(500) < 0.8
    for matrix in (tags, sp.csr_matrix(tags)):
        find_failure_modes(matrix, correct, min_size=5, max_tags=3)


def previous_engine():
    """The search as of commit PREVIOUS, from git history (None without git)."""
    try:
        src = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{PREVIOUS}:fiftyone_prime/core/search.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("fiftyone_prime.core._search_previous")
    module.__package__ = "fiftyone_prime.core"
    sys.modules[module.__name__] = module
    exec(compile(src, f"search@{PREVIOUS}", "exec"), module.__dict__)
    module.TestedFamily = _FamilyOneByOne
    return module.find_failure_modes


# ----------------------------------------------------------------- baseline


def loop_search(
    tags, correct, groups, *, min_size, min_drop, min_gain, max_tags, minimal=True, time_budget=None
):
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
            modes = {
                c
                for c in modes
                if not any(s in modes for r in range(1, len(c)) for s in combinations(c, r))
            }
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


def _csr(indices_per_class, counts_per_class, n_tags):
    """Builds a bool CSR matrix from per-class row counts and column indices."""
    counts = np.concatenate(counts_per_class)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate(indices_per_class)
    data = np.ones(len(indices), dtype=bool)
    return sp.csr_matrix((data, indices, indptr), shape=(len(counts), n_tags))


def _rows_to_csr_parts(rows, cols, n_rows, n_tags):
    """Sorted, deduplicated (row, col) pairs of one class as CSR parts."""
    keys = np.unique(rows.astype(np.int64) * n_tags + cols)
    return (keys % n_tags).astype(np.int32), np.bincount(keys // n_tags, minlength=n_rows)


def case_b(
    rng,
    n_classes=1000,
    per_class=1281,
    vocab=4585,
    tags_per_class=300,
    draws_per_image=16,
    planted_per_class=2,
):
    """ImageNet-shaped: ~12 distinct tags per image, drawn independently."""
    indices, counts = [], []
    correct = np.empty(n_classes * per_class, dtype=bool)
    groups = np.repeat(np.arange(n_classes, dtype=np.int32), per_class)
    for g in range(n_classes):
        class_tags = rng.choice(vocab, tags_per_class, replace=False)
        p = long_tail(rng, tags_per_class)
        draws = rng.choice(tags_per_class, size=(per_class, draws_per_image), p=p)
        base = g * per_class
        correct[base : base + per_class] = rng.random(per_class) < rng.uniform(0.6, 0.95)
        rows = [np.repeat(np.arange(per_class), draws_per_image)]
        cols = [class_tags[draws.ravel()]]
        top = class_tags[np.argsort(-p)[:20]]
        for _ in range(planted_per_class):  # a pair that co-occurs and fails
            a, b = rng.choice(top, 2, replace=False)
            idx = rng.choice(per_class, 60, replace=False)
            rows.append(np.repeat(idx, 2))
            cols.append(np.tile([a, b], 60))
            correct[base + idx] = rng.random(60) < 0.2
        i, c = _rows_to_csr_parts(np.concatenate(rows), np.concatenate(cols), per_class, vocab)
        indices.append(i)
        counts.append(c)
    return _csr(indices, counts, vocab), correct, groups


def case_c(
    rng,
    n_classes=1000,
    per_class=1281,
    vocab=4585,
    tags_per_class=300,
    bundles_per_class=60,
    bundle_sizes=(2, 6),
    bundles_per_image=9,
    keep=0.85,
    loose_per_image=4,
    planted_per_class=2,
):
    """ImageNet-shaped with correlated tags: bundles that co-occur, ~27 tags per image."""
    indices, counts = [], []
    correct = np.empty(n_classes * per_class, dtype=bool)
    groups = np.repeat(np.arange(n_classes, dtype=np.int32), per_class)
    for g in range(n_classes):
        class_tags = rng.choice(vocab, tags_per_class, replace=False)
        sizes = rng.integers(bundle_sizes[0], bundle_sizes[1] + 1, bundles_per_class)
        members = rng.choice(class_tags, sizes.sum())  # a tag may be in several bundles
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        p = long_tail(rng, bundles_per_class, 1.0)
        picks = rng.choice(bundles_per_class, size=(per_class, bundles_per_image), p=p).ravel()
        lengths = sizes[picks]
        rows = np.repeat(np.repeat(np.arange(per_class), bundles_per_image), lengths)
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        cols = members[np.repeat(starts[picks], lengths) + within]
        kept = rng.random(len(cols)) < keep
        rows, cols = [rows[kept]], [cols[kept]]
        loose = long_tail(rng, tags_per_class)
        rows.append(np.repeat(np.arange(per_class), loose_per_image))
        cols.append(class_tags[rng.choice(tags_per_class, per_class * loose_per_image, p=loose)])
        base = g * per_class
        correct[base : base + per_class] = rng.random(per_class) < rng.uniform(0.6, 0.95)
        for _ in range(planted_per_class):  # a pair of popular tags that fails
            a, b = rng.choice(members[:10], 2, replace=False)
            idx = rng.choice(per_class, 60, replace=False)
            rows.append(np.repeat(idx, 2))
            cols.append(np.tile([a, b], 60))
            correct[base + idx] = rng.random(60) < 0.2
        i, c = _rows_to_csr_parts(np.concatenate(rows), np.concatenate(cols), per_class, vocab)
        indices.append(i)
        counts.append(c)
    return _csr(indices, counts, vocab), correct, groups


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


class Phases:
    """Times the phases of a run: sorting and counting the input, the
    significance family (recorded, then counted at the p-values), and the
    exact search proper."""

    #: The phases that count the tested family.
    FAMILY = ("family", "family (exact)", "family.count")

    def __init__(self):
        from fiftyone_prime.core import engine, exact_family, search, significance

        self.totals = {}
        self._originals = []
        self.best_family = 0.0
        self._wrap(engine, "GroupedInput", "sort+counts")
        self._wrap(search, "tested_family", "family")
        self._wrap(exact_family, "refine", "family (exact)")
        self._wrap(significance.TestedFamily, "count", "family.count")
        self._wrap(search, "search_groups", "search")

    def _wrap(self, owner, name, label):
        original = getattr(owner, name)
        totals = self.totals

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)
        self._originals.append((owner, name, original))

    def restore(self):
        """Puts the timed functions back."""
        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)
        self._originals.clear()

    def reset(self):
        self.totals.clear()

    def text(self):
        return ", ".join(f"{k} {v:.3f}s" for k, v in self.totals.items())

    def family(self):
        """The time spent counting the tested family."""
        return sum(self.totals.get(k, 0.0) for k in self.FAMILY)


def best_of(fn, repeat, phases=None, trace=True):
    """Runs ``fn`` ``repeat`` times, untraced; returns (result, best time,
    tracemalloc peak, the best run's phases). With ``trace``, one more run
    first measures the peak (tracemalloc slows numpy's allocations down, so
    that run is not timed); without it the peak is 0."""
    peak, result = 0, None
    if trace:
        result, _, peak = measure(fn)
    best, best_phases = float("inf"), ""
    for _ in range(repeat):
        if phases:
            phases.reset()
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best = elapsed
            best_phases = phases.text() if phases else ""
            if phases:
                phases.best_family = phases.family()
    return result, best, peak, best_phases


def line(name, tags, groups, max_tags, elapsed, peak, n_modes, text, extra="", maxrss=None):
    maxrss = max_rss_mb() if maxrss is None else maxrss
    return (
        f"{name:<24} samples={tags.shape[0]:>10,} tags={tags.shape[1]:>5} "
        f"classes={len(np.unique(groups)):>6} max_tags={max_tags}{extra} "
        f"time={elapsed:8.3f}s peak={peak / 2**20:7.0f}MiB "
        f"maxrss={maxrss:6.0f}MiB modes={n_modes:>5}  {text}"
    )


def key(modes):
    return [(m.group, m.tags, m.size, m.num_correct, m.p_value, m.adjusted_p_value) for m in modes]


def run_a(args):
    warm_up()
    rng = np.random.default_rng(args.seed)
    tags, correct, groups = case_a(rng, n=max(2000, int(20_000 * args.scale)))
    for minimal in (True, False):
        kwargs = dict(max_tags=3, minimal=minimal, alpha=None, **PARAMS)

        def search():
            return find_failure_modes(tags, correct, groups, **kwargs)

        modes, elapsed, peak, _ = best_of(search, args.repeat)
        numpy_modes, numpy_time, _, _ = best_of(
            lambda: numpy_engine(tags, correct, groups, **kwargs), args.repeat, trace=False
        )
        if numpy_modes != modes:
            raise SystemExit("MISMATCH on case (a) with the numpy engine")
        start = time.perf_counter()
        expected = loop_search(tags, correct, groups, max_tags=3, minimal=minimal, **PARAMS)
        loop_time = time.perf_counter() - start
        got = sorted((m.group, tuple(sorted(m.tag_indices)), m.size, m.num_correct) for m in modes)
        if got != expected:
            raise SystemExit(f"MISMATCH on case (a): engine {len(got)} modes, loop {len(expected)}")
        print(
            line(
                "(a) dense",
                tags,
                groups,
                3,
                elapsed,
                peak,
                len(modes),
                f"loop={loop_time:.2f}s ratio={loop_time / elapsed:,.0f}x (same output); "
                f"numpy engine={numpy_time:.3f}s ratio={numpy_time / elapsed:.1f}x",
                f" minimal={minimal!s:<5} alpha=None",
            ),
            flush=True,
        )
    family_share(tags, correct, groups, args)


def family_share(tags, correct, groups, args):
    """Case (a)'s cost of the tested family: its share of a search at the
    defaults, and alpha=None (no family counted, issue 33) against the same
    search without the family count, in the same run."""
    phases = Phases()
    kwargs = dict(max_tags=3, **PARAMS)
    _, t_default, _, split = best_of(
        lambda: find_failure_modes(tags, correct, groups, **kwargs), args.repeat, phases, False
    )
    family = phases.best_family
    _, t_none, _, split_none = best_of(
        lambda: find_failure_modes(tags, correct, groups, alpha=None, **kwargs),
        args.repeat,
        phases,
        False,
    )
    without = t_none - phases.best_family
    phases.restore()
    print(
        f"(a) dense, the family count: {family / t_default:.0%} of the search at the defaults "
        f"({family:.3f}s of {t_default:.3f}s: {split}); alpha=None {t_none:.3f}s "
        f"({split_none}) = {t_none / without:.2f}x the search without the family count "
        f"({without:.3f}s; the target is <= 1.2x)",
        flush=True,
    )


def generate(case, n_classes, per_class, seed):
    rng = np.random.default_rng(seed)
    make = case_b if case == "b" else case_c
    return make(rng, n_classes=n_classes, per_class=per_class)


def run_large(case, max_tags, n_classes, per_class, args, label):
    """One large case in this process (called in a child process)."""
    warm_up()
    start = time.perf_counter()
    tags, correct, groups = generate(case, n_classes, per_class, args.seed)
    gen_time = time.perf_counter() - start
    phases = Phases()

    def search():
        return find_failure_modes(tags, correct, groups, max_tags=max_tags, **PARAMS)

    modes, elapsed, peak, split = best_of(search, args.repeat, phases)
    phases.reset()
    out = dict(
        time=elapsed,
        peak=peak,
        modes=len(modes),
        maxrss=max_rss_mb(),
        per_image=tags.nnz / tags.shape[0],
        gen_time=gen_time,
    )
    texts = [
        f"generated in {gen_time:.0f}s, {out['per_image']:.1f} tags/image",
        f"of which: {split}; the family count {phases.best_family / elapsed:.0%}",
    ]
    baselines = not label.startswith("(g)")  # the growth rows repeat (b)'s data
    if args.numpy_engine and baselines:
        numpy_modes, numpy_time, _, _ = best_of(
            lambda: numpy_engine(tags, correct, groups, max_tags=max_tags, **PARAMS),
            1,
            trace=False,
        )
        if key(numpy_modes) != key(modes):
            raise SystemExit(f"MISMATCH with the numpy engine on {label}")
        texts.append(
            f"numpy engine={numpy_time:.2f}s ratio={numpy_time / elapsed:.1f}x (same output)"
        )
    if args.alpha_none:
        none_modes, none_time, _, _ = best_of(
            lambda: find_failure_modes(
                tags, correct, groups, max_tags=max_tags, alpha=None, **PARAMS
            ),
            args.repeat,
            trace=False,
        )
        texts.append(f"alpha=None: {none_time:.3f}s, {len(none_modes)} modes")
    if args.previous and baselines:
        previous = previous_engine()
        if previous is not None:
            old, old_time, _, _ = best_of(
                lambda: previous(tags, correct, groups, max_tags=max_tags, **PARAMS), 1, trace=False
            )
            same = key(old) == key(modes)
            if not same:
                raise SystemExit(f"MISMATCH with the previous engine on {label}")
            texts.append(
                f"previous engine ({PREVIOUS})={old_time:.2f}s ratio={old_time / elapsed:.1f}x "
                f"(same output)"
            )
    if case == "b" and args.loop_estimate and label.startswith("(b)"):
        first = groups == groups[0]
        evaluated, spent = loop_search(
            tags[first],
            correct[first],
            groups[first],
            max_tags=3,
            time_budget=10 * min(1.0, args.scale * 4),
            **PARAMS,
        )
        per_combo = spent / evaluated
        total = 0
        sample = np.unique(groups)[: min(n_classes, 20)]
        for g in sample:
            n_freq = int((np.asarray(tags[groups == g].sum(axis=0)).ravel() >= 30).sum())
            total += sum(comb(n_freq, k) for k in range(1, max_tags + 1))
        total *= n_classes / len(sample)
        estimate = total * per_combo
        texts.append(
            f"loop~{estimate:,.0f}s (estimated: {per_combo * 1e6:.1f}us/combination "
            f"x {total:,.0f}) ratio~{estimate / elapsed:,.0f}x"
        )
    print(
        line(
            label,
            tags,
            groups,
            max_tags,
            elapsed,
            peak,
            len(modes),
            "; ".join(texts),
            maxrss=out["maxrss"],
        ),
        flush=True,
    )
    print("RESULT " + json.dumps(out), flush=True)


def child(case, max_tags, n_classes, per_class, args, label):
    """Runs one large case in a fresh process; returns its RESULT."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        case,
        str(max_tags),
        str(n_classes),
        str(per_class),
        label,
        "--seed",
        str(args.seed),
        "--repeat",
        str(args.repeat),
        "--scale",
        str(args.scale),
    ]
    cmd += [] if args.previous else ["--no-previous"]
    cmd += [] if args.numpy_engine else ["--no-numpy-engine"]
    cmd += ["--alpha-none"] if args.alpha_none else []
    cmd += [] if args.loop_estimate else ["--no-loop-estimate"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    result = None
    for text in proc.stdout.splitlines():
        if text.startswith("RESULT "):
            result = json.loads(text[len("RESULT ") :])
        else:
            print(text, flush=True)
    if proc.returncode:
        print(proc.stderr, flush=True)
        raise SystemExit(f"{label} failed")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="shrink the cases (e.g. 0.05 for a smoke run)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--cases", nargs="+", default=["a", "b", "c", "g"])
    parser.add_argument(
        "--no-previous",
        dest="previous",
        action="store_false",
        help="skip the previous engine's baseline",
    )
    parser.add_argument(
        "--no-numpy-engine",
        dest="numpy_engine",
        action="store_false",
        help="skip the numpy engine's baseline",
    )
    parser.add_argument("--no-loop-estimate", dest="loop_estimate", action="store_false")
    parser.add_argument(
        "--alpha-none", action="store_true", help="also time alpha=None (no significance filtering)"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        case, max_tags, n_classes, per_class, label = args.child
        run_large(case, int(max_tags), int(n_classes), int(per_class), args, label)
        return
    print(f"defaults: {PARAMS}, minimal=True, alpha=0.05; best of {args.repeat}", flush=True)
    classes = max(10, int(1000 * args.scale))
    if "a" in args.cases:
        run_a(args)
    if "b" in args.cases:
        for max_tags in (3, 4):
            child("b", max_tags, classes, 1281, args, "(b) ImageNet-shaped")
    if "c" in args.cases:
        child("c", 4, classes, 1281, args, "(c) correlated")
    if "g" in args.cases:
        small = child("b", 3, classes, 1281, args, "(g) 1.28M")
        large = child("b", 3, classes * 10, 1000, args, "(g) 10M")
        print(
            f"(g) growth: {large['time'] / small['time']:.1f}x the time for "
            f"{10 * 1000 / 1281:.1f}x the samples and 10x the classes; "
            f"max RSS {large['maxrss'] / 1024:.1f} GiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
