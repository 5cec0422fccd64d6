"""Whether the search's kernels still need compiling, and the line that says so.

numba compiles each kernel the first time it runs and caches the machine
code on disk (next to the modules, or under ``NUMBA_CACHE_DIR`` when it is
set), so only the first search of a machine (or of a fresh cache) pays for
it. :func:`announce` logs one INFO line before a search when the kernels are
not cached yet, so the SDK, the CLI and the App say why the first search
takes longer. Compiling ahead of time is :mod:`fiftyone_prime.core.warmup`'s
job (it runs searches, so it sits above them; this module sits below).

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import logging
import os
import threading

from .jit import COMPILED

logger = logging.getLogger(__name__)

#: About how long compiling every kernel takes on a 2-core machine (see
#: ``benchmarks/cold_start.py`` and ``docs/benchmarks.md``).
COMPILE_SECONDS = 30

_announced = False

#: The thread of :func:`fiftyone_prime.core.warmup.compile_in_background`,
#: once started.
background: threading.Thread | None = None


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
    if background is not None and background.is_alive():
        logger.info("Waiting for the search kernels to finish compiling (first run only)...")
    elif not kernels_cached():
        logger.info("Compiling the search kernels (first run only, about %d s)...", COMPILE_SECONDS)
