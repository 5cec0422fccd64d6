"""Small array helpers shared by the search and its significance."""

from __future__ import annotations

import numpy as np


def concatenated_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(starts[i], stops[i])``, without a loop."""
    lengths = stops - starts
    total = int(lengths.sum())
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
