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
    """A copy of ``a`` with room for ``cap`` items."""
    out = np.empty(cap, dtype=a.dtype)
    out[: len(a)] = a
    return out
