"""How the compiled kernels are compiled, and the small helpers they share.

numba is a required dependency (it ships wheels for every platform numpy
does). With ``NUMBA_DISABLE_JIT=1`` the kernels run as plain Python: the
same results, far more slowly; :func:`popcount` then falls back to Python's
own bit count, since a numba intrinsic cannot be called from Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

#: Whether the kernels are compiled (``False`` under ``NUMBA_DISABLE_JIT=1``,
#: where they run as Python).
COMPILED = not numba.config.DISABLE_JIT


def compiled(**options) -> Callable:
    """``numba.njit`` that caches the machine code next to the module (or in
    the user's cache directory when that is read-only), and compiles in each
    process where neither can be written."""

    def decorate(func):
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(cache=False, **options)(func)

    return decorate


#: The kernels release the GIL, so that chunks run on several threads.
jit = compiled(nogil=True, boundscheck=False)

#: Small helpers are inlined into their callers.
inline = compiled(nogil=True, boundscheck=False, inline="always")


if COMPILED:

    @intrinsic
    def popcount(typingctx, x):
        """The number of set bits of a uint64, as an int64 (one popcnt instruction)."""
        sig = types.int64(types.uint64)

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return sig, codegen

else:

    def popcount(x):
        """The number of set bits of a uint64 (Python, without the JIT)."""
        return int(x).bit_count()


@inline
def bit(i):
    """The word with bit ``i % 64`` set."""
    return np.uint64(1) << np.uint64(i & 63)


@jit
def grow(a, cap):
    """A copy of ``a`` with room for ``cap`` items (a loop: a slice
    assignment would compile numba's shape-mismatch message, seconds of
    compile time for nothing)."""
    out = np.empty(cap, dtype=a.dtype)
    for i in range(len(a)):
        out[i] = a[i]
    return out


@inline
def sort_prefix(a, n):
    """Sorts ``a[:n]`` in place (heapsort: a few loops, compiled in a
    fraction of the time numba's ``np.sort`` takes to compile)."""
    for start in range(n // 2 - 1, -1, -1):
        _sift_down(a, start, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift_down(a, 0, end)


@inline
def _sift_down(a, root, n):
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and a[child] < a[child + 1]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


@inline
def search_sorted(a, lo, hi, v, right):
    """``lo + np.searchsorted(a[lo:hi], v, side="right" if right else
    "left")`` for a sorted ``a`` (a loop, compiled quickly)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < v or (right and a[mid] == v):
            lo = mid + 1
        else:
            hi = mid
    return lo
