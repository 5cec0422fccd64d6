"""Input checks for the search engine, with errors that state what they got."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np
import scipy.sparse as sp

from .defaults import MAX_TAGS_LIMIT
from .groups import CodedGroups, validate_coded_groups

TagMatrix = Union[np.ndarray, sp.spmatrix, sp.sparray]

#: The values of ``SearchParams.error_control`` (see
#: :mod:`fiftyone_prime.core.error_control`).
ERROR_CONTROLS = ("fdr", "fwer", "fdr_by")


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"numpy array of shape {x.shape} and dtype {x.dtype}"
    if sp.issparse(x):
        return f"scipy sparse {x.format} matrix of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__}"


def _check_binary_values(values: np.ndarray, name: str) -> None:
    if values.dtype == bool:
        return
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise TypeError(f"`{name}` must hold booleans; got dtype {values.dtype}")
    bad = (values != 0) & (values != 1)
    if bad.any():
        examples = np.unique(values[bad])[:3].tolist()
        raise ValueError(
            f"`{name}` must hold booleans (or only the values 0 and 1); "
            f"got values such as {examples}"
        )


def validate_tags(tags: Any) -> TagMatrix:
    """Checks a tag matrix and returns it as a bool ndarray or a CSR matrix.

    Args:
        tags: a ``(n_samples, n_tags)`` boolean numpy array or scipy sparse
            matrix (0/1 numeric values are accepted)

    Returns:
        a bool numpy array, or a ``scipy.sparse.csr_matrix`` of bools without
        explicit zeros
    """
    if sp.issparse(tags):
        if tags.ndim != 2:
            raise ValueError(f"`tags` must be 2-D; got a {_describe(tags)}")
        csr = sp.csr_matrix(tags)  # copies only when the format differs
        _check_binary_values(csr.data, "tags")
        if csr.dtype != bool or not csr.has_canonical_format or not csr.data.all():
            csr = csr.copy()
            csr.sum_duplicates()
            csr.eliminate_zeros()
            csr = csr.astype(bool)
        return csr
    if isinstance(tags, np.ndarray):
        if tags.ndim != 2:
            raise ValueError(
                f"`tags` must be a 2-D (n_samples, n_tags) array; got a {_describe(tags)}"
            )
        _check_binary_values(tags, "tags")
        if tags.dtype == bool and tags.size and tags.view(np.uint8).max() > 1:
            # Bools whose bytes are not 0 or 1 (e.g. a uint8 array viewed as
            # bool): numpy reads them as True, compiled code would not.
            return tags != 0
        return tags.astype(bool, copy=False)
    raise TypeError(
        "`tags` must be a numpy array or a scipy sparse matrix of shape "
        f"(n_samples, n_tags); got {_describe(tags)}"
    )


def validate_correct(correct: Any, n_samples: int) -> np.ndarray:
    """Checks the per-sample correctness vector and returns it as bools."""
    arr = np.asarray(correct)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(
            f"`correct` must have shape ({n_samples},) to match `tags`; got shape {arr.shape}"
        )
    if arr.dtype == object:
        raise TypeError("`correct` must hold booleans; got an object array")
    _check_binary_values(arr, "correct")
    return arr.astype(bool, copy=False)


def validate_groups(groups: Any, n_samples: int) -> Union[np.ndarray, CodedGroups, None]:
    """Checks group labels; returns a 1-D array, :class:`CodedGroups` as
    given (their checks are cheap), or ``None`` for one group."""
    if groups is None:
        return None
    if isinstance(groups, CodedGroups):
        return validate_coded_groups(groups, n_samples)
    # Lists go through an object array so that numpy never silently turns
    # mixed labels (1 and "1") into strings.
    arr = groups if isinstance(groups, np.ndarray) else np.asarray(list(groups), dtype=object)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(
            f"`groups` must have shape ({n_samples},) to match `tags`; got shape {arr.shape}"
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(
            f"`groups` holds {int(np.isnan(arr).sum())} NaN values; every sample needs a group"
        )
    if arr.dtype == object:
        missing = [i for i, g in enumerate(arr) if g is None or (isinstance(g, float) and g != g)]
        if missing:
            raise ValueError(
                f"`groups` holds {len(missing)} missing values (None or NaN), e.g. at "
                f"index {missing[0]}; every sample needs a group"
            )
        kinds = {type(g) for g in arr}
        if len(kinds) > 1 and not all(issubclass(k, numbers.Number) for k in kinds):
            raise TypeError(
                "`groups` mixes label types "
                f"{sorted(k.__name__ for k in kinds)}; use one type for every label"
            )
        if arr.size and all(issubclass(k, (str, numbers.Number)) for k in kinds):
            if str in kinds and any(g.endswith("\x00") for g in set(arr.tolist())):
                return arr  # numpy's fixed-width strings would drop the trailing NULs
            arr = np.asarray(arr.tolist())
            if arr.dtype.kind == "f" and np.isnan(arr).any():
                raise ValueError(
                    f"`groups` holds {int(np.isnan(arr).sum())} NaN values; "
                    "every sample needs a group"
                )
    return arr


def validate_tag_names(tag_names: Optional[Sequence[str]], n_tags: int) -> list[str]:
    """Checks tag names; defaults to the column indices as strings."""
    if tag_names is None:
        return [str(i) for i in range(n_tags)]
    names = [str(t) for t in tag_names]
    if len(names) != n_tags:
        raise ValueError(
            f"`tag_names` must have one name per tag column ({n_tags}); got {len(names)}"
        )
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dup = next(t for t in names if t in seen or seen.add(t))
        raise ValueError(f"`tag_names` must be unique; {dup!r} appears more than once")
    return names


def validate_scores(scores: Any, n_samples: int, drop_nonfinite: bool = False) -> np.ndarray:
    """Checks a per-sample score and returns it as float64.

    Args:
        scores: ``(n_samples,)`` numbers
        n_samples: the number of rows of ``tags``
        drop_nonfinite (False): whether NaN and infinite scores are left to
            the caller to drop (returned as they are) rather than refused

    Returns:
        the scores as a float64 array
    """
    arr = np.asarray(scores)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(
            f"`scores` must have shape ({n_samples},) to match `tags`; got shape {arr.shape}"
        )
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)) or np.iscomplexobj(arr):
        raise TypeError(f"`scores` must hold real numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(arr))
    if len(bad) and not drop_nonfinite:
        raise ValueError(
            f"`scores` holds {len(bad)} non-finite values (NaN or infinite), at indices "
            f"{bad[:5].tolist()}{' ...' if len(bad) > 5 else ''}; fix them, or pass "
            "drop_nonfinite=True to leave those samples out (they are counted)"
        )
    return arr


def checked_params(values: dict[str, Any], score_units: bool = False) -> dict[str, Any]:
    """Checks search parameters and returns them with canonical types.

    Called by :class:`SearchParams` on construction, so every parameter
    object is checked exactly once, wherever it is built.

    Args:
        values: the parameters by name, as in :class:`SearchParams`
        score_units (False): whether ``min_drop`` and ``min_gain`` are in a
            continuous score's units (any finite number ``>= 0``) rather
            than accuracies (``[0, 1]``)

    Returns:
        the same parameters as ``int``, ``float``, ``bool`` or ``None``
    """
    min_size, max_tags = values["min_size"], values["max_tags"]
    for name, value in (("min_size", min_size), ("max_tags", max_tags)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}")
    if max_tags > MAX_TAGS_LIMIT:
        raise ValueError(
            f"`max_tags` must be at most {MAX_TAGS_LIMIT} (a failure mode of more tags is "
            f"rarely interpretable, and the search settles a set against all its "
            f"2**max_tags - 1 subsets); got {max_tags!r}"
        )
    top, span = (np.inf, "a finite number >= 0") if score_units else (1.0, "in [0, 1]")
    for name in ("min_drop", "min_gain"):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"`{name}` must be a number {span}; got {value!r}")
        if not 0.0 <= float(value) <= top or not np.isfinite(float(value)):
            raise ValueError(f"`{name}` must be {span}; got {value!r}")
    minimal = values["minimal"]
    if not isinstance(minimal, (bool, np.bool_)):
        raise TypeError(f"`minimal` must be a bool; got {minimal!r}")
    alpha = values["alpha"]
    if alpha is not None:
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(
                f"`alpha` must be a number in (0, 1], or None to keep every failure mode; "
                f"got {alpha!r}"
            )
        if not 0.0 < float(alpha) <= 1.0:  # NaN fails this too
            raise ValueError(
                f"`alpha` must be in (0, 1], or None to keep every failure mode; got {alpha!r}"
            )
    error_control = values.get("error_control", "fdr")
    if error_control not in ERROR_CONTROLS:
        raise ValueError(
            f"`error_control` must be one of {list(ERROR_CONTROLS)}; got {error_control!r}"
        )
    return {
        "min_size": int(min_size),
        "min_drop": float(values["min_drop"]),
        "min_gain": float(values["min_gain"]),
        "max_tags": int(max_tags),
        "minimal": bool(minimal),
        "alpha": None if alpha is None else float(alpha),
        "error_control": str(error_control),
    }
