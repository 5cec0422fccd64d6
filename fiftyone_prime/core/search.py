"""Exact search for PRIME's failure modes: minimal tag sets that drop accuracy.

The definition (conditions 1-4, with a ``1e-9`` tolerance) is written once,
in :mod:`fiftyone_prime.core.definition`. This module is the search's public
face: it validates the input, lets the engine lay it out, records the
family of tested sets for significance, runs the search and returns the
records.

How the search stays exact and fast:

-   A set is extended only while it is *alive*: not provably unable to be
    part of a failure mode. A set stops being alive when its support is
    below ``min_size`` (support is anti-monotone); when no superset can
    reach the accuracy a failure mode needs (a superset with ``>= min_size``
    samples has at most the set's errors, so its accuracy is at least
    ``1 - errors / min_size``:
    :func:`~fiftyone_prime.core.definition.may_extend`); when it is a
    failure mode and ``minimal=True``; or when it has ``max_tags`` tags.
    Every proper subset of a failure mode is alive, so nothing is missed.
-   All groups are searched together: one pass counts every tag's support
    and errors in every group, and single tags are judged in one
    vectorized pass (:func:`~fiftyone_prime.core.engine.search_groups`).
-   Larger sets are searched over chunks of groups of similar size, whose
    extendable tags are packed 64 samples to a word with each group's
    misclassified samples first (:mod:`~fiftyone_prime.core.candidates`),
    by the compiled depth-first kernel (:mod:`~fiftyone_prime.core.kernels`)
    on every core; it settles each possible failure mode exactly against
    all its subsets.

Module map: :mod:`.definition` (the conditions and the bound),
:mod:`.layout` (rows by group, counts), :mod:`.candidates` (chunks,
bitsets), :mod:`.engine` (the engine seam and the driver every engine
shares), :mod:`.kernels` and :mod:`.input_kernels` (compiled),
:mod:`.records` (records and significance).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from . import compile_status, exact_family
from . import engine as engine_module
from .aliases import MemberIndex
from .definition import TOLERANCE
from .engine import (
    MAX_CANDIDATE_BYTES,
    Engine,
    TooManyCandidates,
    candidate_bytes,
    search_groups,
    select_engine,
)
from .layout import GroupedInput
from .records import SearchOutcome, tested, to_records
from .significance import TestedFamily
from .types import DEFAULT_PARAMS, FailureMode, SearchParams
from .validation import (
    validate_correct,
    validate_groups,
    validate_tag_names,
    validate_tags,
)

__all__ = [
    "MAX_CANDIDATE_BYTES",
    "TOLERANCE",
    "SearchOutcome",
    "SearchTooLargeError",
    "find_failure_modes",
    "run_search",
]

logger = logging.getLogger(__name__)


class SearchTooLargeError(ValueError):
    """The thresholds prune too little for the search to finish."""


def find_failure_modes(
    tags: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    min_size: int = DEFAULT_PARAMS.min_size,
    min_drop: float = DEFAULT_PARAMS.min_drop,
    min_gain: float = DEFAULT_PARAMS.min_gain,
    max_tags: int = DEFAULT_PARAMS.max_tags,
    minimal: bool = DEFAULT_PARAMS.minimal,
    alpha: Optional[float] = DEFAULT_PARAMS.alpha,
    error_control: str = DEFAULT_PARAMS.error_control,
) -> list[FailureMode]:
    """Finds the tag sets that satisfy PRIME's failure-mode definition and
    are significant.

    The search is exact: it finds precisely the sets that satisfy the
    definition of :mod:`fiftyone_prime.core.definition`. Each one gets an
    exact p-value, an adjusted p-value (a false-discovery q-value by
    default; none with ``alpha=None``) and an accuracy interval (see
    :mod:`fiftyone_prime.core.error_control`); with ``alpha`` set, those
    whose adjusted p-value exceeds it are left out afterwards. Minimality
    is decided by the definition alone. The order is deterministic (groups
    sorted; within a group by drop, descending, then number of tags, then
    tag names).

    Args:
        tags: a ``(n_samples, n_tags)`` boolean numpy array or scipy sparse
            matrix; entry ``(i, j)`` says whether sample ``i`` carries tag
            ``j``. 0/1 numeric values are accepted
        correct: a ``(n_samples,)`` boolean array, whether the classifier got
            each sample right
        groups (None): a ``(n_samples,)`` array of group labels (class names
            or ids); ``None`` searches all samples as one group
        tag_names (None): a name per tag column; defaults to the column
            indices as strings
        min_size (30): the least number of samples in a failure mode
        min_drop (0.2): the least accuracy drop against the group's accuracy
        min_gain (0.1): the least gain in accuracy from removing any
            nonempty subset of the tags
        max_tags (3): the largest number of tags in a failure mode (at most 8,
            :data:`fiftyone_prime.core.defaults.MAX_TAGS_LIMIT`)
        minimal (True): whether to leave out sets that contain a smaller
            failure mode
        alpha (0.05): the significance level; ``None`` returns every mode
            of the definition with its p-value and interval, and no adjusted
            p-value (``None``: no family is counted then)
        error_control ("fdr"): what ``alpha`` bounds: ``"fdr"`` (the
            false-discovery rate), ``"fdr_by"`` (the same under any
            dependence) or ``"fwer"`` (the family-wise error rate); see
            :mod:`fiftyone_prime.core.error_control`. With ``alpha`` set,
            proxies of a stronger mode of the same group are listed as its
            ``aliases`` (:mod:`fiftyone_prime.core.aliases`)

    Returns:
        a list of :class:`FailureMode`

    Raises:
        TypeError: if an argument has the wrong type
        ValueError: if shapes, values or thresholds are invalid
    """
    # The keywords in SearchParams' field order (SearchParams.names()).
    params = SearchParams(min_size, min_drop, min_gain, max_tags, minimal, alpha, error_control)
    return run_search(tags, correct, groups, tag_names=tag_names, params=params).failure_modes


def run_search(
    tags: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[Sequence[str]] = None,
    params: SearchParams = DEFAULT_PARAMS,
    engine: Optional[Engine] = None,
) -> SearchOutcome:
    """:func:`find_failure_modes` with its parameters as one object; also
    returns how the modes were tested.

    Args:
        tags, correct, groups, tag_names: as in :func:`find_failure_modes`
        params (the defaults): a :class:`SearchParams`
        engine (None): the :class:`~fiftyone_prime.core.engine.Engine`;
            ``None`` lets :func:`~fiftyone_prime.core.engine.select_engine`
            choose (tests pass their oracle engines here)

    Returns:
        a :class:`SearchOutcome`
    """
    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    matrix = validate_tags(tags)
    n_samples, n_tags = matrix.shape
    correct_arr = validate_correct(correct, n_samples)
    group_arr = validate_groups(groups, n_samples)
    names = validate_tag_names(tag_names, n_tags)

    engine = select_engine(params) if engine is None else engine
    compile_status.announce()
    data = engine.layout(matrix, correct_arr, group_arr)
    family = None  # alpha=None asks for no error control: no family is counted
    if params.alpha is not None:
        family = tested_family(data, params)
        exact_family.refine(
            family, data.matrix, data.bounds, data.entry_bounds, data.entry_tag, data.entry_size
        )
    try:
        found = search_groups(engine, data, params).by_group()
    except TooManyCandidates as e:
        raise _too_large(e, data.labels[e.group], params) from None
    candidates: list[FailureMode] = []
    group_errors: list[int] = []  # per candidate, its group's error count
    for g in sorted(found):
        n_group, num_errors = int(data.sizes[g]), int(data.num_errors[g])
        records = to_records(found[g], data.labels[g], names, n_group, n_group - num_errors)
        candidates.extend(records)
        group_errors.extend([num_errors] * len(records))
    members = MemberIndex(data.matrix, data.bounds, data.row_errors, data.labels)
    outcome = tested(candidates, np.asarray(group_errors, dtype=np.int64), family, params, members)
    logger.debug(
        "Found %d failure modes (%d left out as not significant)",
        len(outcome.failure_modes),
        outcome.significance.num_not_significant,
    )
    return outcome


def tested_family(data: GroupedInput, params: SearchParams, log_psi=None) -> TestedFamily:
    """The family of tag sets the search tests, recorded for every group at
    once (``log_psi``: another test's least attainable p-values, see
    :meth:`~fiftyone_prime.core.significance.TestedFamily.add_groups`)."""
    family = TestedFamily(params.min_size, params.max_tags)
    # Only the supports of the tags present in a group (> 0).
    family.add_groups(
        data.frequent_per_row(params.min_size),
        data.bounds,
        data.entry_size,
        data.entry_bounds,
        data.num_errors,
        log_psi,
    )
    return family


def _too_large(e: TooManyCandidates, label, params: SearchParams) -> SearchTooLargeError:
    where = "" if label is None else f" in group {label!r}"
    if e.in_all:
        what = (
            f"The search counted more than {e.count:,} tag sets{where} while building sets "
            f"of {e.k} tags (the limit per group and set size)"
        )
    else:
        what = (
            f"The search would count {e.count:,} candidate sets of {e.k} tags{where} at once "
            f"(about {candidate_bytes(e.count, e.k) / 2**30:,.1f} GiB; the limit is "
            f"{engine_module.MAX_CANDIDATE_BYTES / 2**30:g} GiB)"
        )
    return SearchTooLargeError(
        f"{what}: the thresholds prune too little. "
        f"Tighten them: raise min_size (now {params.min_size}), lower max_tags (now "
        f"{params.max_tags}), raise min_drop (now {params.min_drop}) or min_gain (now "
        f"{params.min_gain})" + ("" if params.minimal else ", or keep minimal=True")
    )
