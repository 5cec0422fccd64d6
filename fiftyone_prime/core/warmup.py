"""Compiling the search's kernels ahead of the first search.

:func:`compile_kernels` runs a tiny search of each kind, dense and sparse,
so that every kernel a search uses is compiled (or loaded from numba's
cache); ``scripts/setup.sh`` calls :func:`main` after installing, and the
plugin calls :func:`compile_in_background` when FiftyOne registers it. The
line a search logs while kernels compile is
:func:`fiftyone_prime.core.compile_status.announce`.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import scipy.sparse as sp

from . import compile_status
from .compile_status import COMPILE_SECONDS, announce, kernels_cached
from .regression import find_regressions
from .search import find_failure_modes

__all__ = [
    "COMPILE_SECONDS",
    "announce",
    "compile_in_background",
    "compile_kernels",
    "kernels_cached",
]

logger = logging.getLogger(__name__)

_lock = threading.Lock()


def compile_kernels(regressions: bool = True) -> float:
    """Compiles (or loads from the cache) every kernel the searches use, by a
    tiny search of each kind on dense and sparse input.

    Args:
        regressions (True): also the regression search's

    Returns:
        the seconds it took
    """
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
    with _lock:
        if compile_status.background is None:
            compile_status.background = threading.Thread(
                target=_quietly, name="prime-compile-kernels", daemon=True
            )
            compile_status.background.start()
    return compile_status.background


def _quietly() -> None:
    try:
        if not compile_status.kernels_cached():
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
