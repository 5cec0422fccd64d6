"""Compiling the search's kernels ahead of the first search, and saying so.

numba compiles each kernel the first time it runs and caches the machine
code on disk (next to the modules, or under ``NUMBA_CACHE_DIR`` when it is
set), so only the first search of a machine (or of a fresh cache) pays for
it. :func:`compile_kernels` runs a tiny search of each kind, dense and
sparse, so that every kernel a search uses is compiled (or loaded from the
cache); ``scripts/setup.sh`` calls :func:`main` after installing, and the plugin
calls :func:`compile_in_background` when FiftyOne registers it.
:func:`announce` logs one INFO line before a search when the kernels are
not cached yet, so the SDK, the CLI and the App say why the first search
takes longer.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import scipy.sparse as sp

from .jit import COMPILED

logger = logging.getLogger(__name__)

#: About how long compiling every kernel takes on a 2-core machine (see
#: ``benchmarks/cold_start.py`` and ``docs/benchmarks.md``).
COMPILE_SECONDS = 30

_lock = threading.Lock()
_announced = False
_background: threading.Thread | None = None


def _dispatchers() -> list:
    from . import exact_family, family_kernel, input_kernels, kernels

    return [
        kernels._search_chunk,
        input_kernels._pack_sparse,
        input_kernels._sparse_counts,
        input_kernels._frequent_per_row,
        family_kernel._family_steps,
        exact_family._count_sets,
    ]


def kernels_cached() -> bool:
    """Whether the main search kernels are compiled in this process or have
    machine code in numba's on-disk cache (a cheap check of the cache's
    index files, not a guarantee that every signature is there)."""
    if not COMPILED:
        return True
    for dispatcher in _dispatchers():
        if dispatcher.signatures:
            continue
        index = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
        path = getattr(index, "_index_path", None)  # numba's index of cached signatures
        if not (path and os.path.exists(path)):
            return False
    return True


def announce() -> None:
    """Logs once per process, before a search, that the kernels are being
    compiled when they are not cached yet."""
    global _announced
    if _announced:
        return
    _announced = True
    if _background is not None and _background.is_alive():
        logger.info("Waiting for the search kernels to finish compiling (first run only)...")
    elif not kernels_cached():
        logger.info("Compiling the search kernels (first run only, about %d s)...", COMPILE_SECONDS)


def compile_kernels(regressions: bool = True) -> float:
    """Compiles (or loads from the cache) every kernel the searches use, by a
    tiny search of each kind on dense and sparse input.

    Args:
        regressions (True): also the regression search's

    Returns:
        the seconds it took
    """
    from .regression import find_regressions
    from .search import find_failure_modes

    start = time.perf_counter()
    with _lock:
        rng = np.random.default_rng(0)
        tags = rng.random((400, 6)) < 0.5
        groups = np.repeat([0, 1], 200)
        baseline = rng.random(400) < 0.8
        correct = rng.random(400) < 0.8
        correct[tags[:, 0] & tags[:, 1]] = False
        kwargs = dict(min_size=5, min_drop=0.05, min_gain=0.0)
        for matrix in (sp.csr_matrix(tags), tags):
            find_failure_modes(matrix, correct, groups, **kwargs)
            if regressions:
                find_regressions(matrix, baseline, correct, groups, **kwargs)
    elapsed = time.perf_counter() - start
    logger.debug("Search kernels ready in %.1f s", elapsed)
    return elapsed


def compile_in_background() -> threading.Thread:
    """Starts :func:`compile_kernels` on a daemon thread (once per process),
    so that a search started later finds its kernels compiled or half way."""
    global _background
    with _lock:
        if _background is None:
            _background = threading.Thread(
                target=_quietly, name="prime-compile-kernels", daemon=True
            )
            _background.start()
    return _background


def _quietly() -> None:
    try:
        if not kernels_cached():
            logger.info(
                "Compiling the search kernels in the background (first run only, about %d s)",
                COMPILE_SECONDS,
            )
        compile_kernels()
    except Exception:  # a warm-up must never break the plugin
        logger.debug("Compiling the search kernels failed", exc_info=True)


def main() -> None:
    """Compiles the kernels and says how long it took (``scripts/setup.sh``)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    announce()
    print(f"Search kernels ready in {compile_kernels():.1f} s")
