"""Re-searching a run's view with other thresholds, from cached inputs, saving nothing.

What the panel's threshold inputs call: the run's view and fields, the
inputs from :mod:`fiftyone_prime.integration.reading.input_cache` (read once, then
reused while no sample changes), the exact search with the new
:class:`SearchParams`, and the table rows, with no run stored and no view
saved. :func:`keep_exploration` stores the same search as a run with its
views (what the panel's "Save as run" does).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from fiftyone_prime.core.search import run_search
from fiftyone_prime.core.types import SearchParams

from ..reading import fields as fpf
from ..reading.input_cache import load_search_inputs
from ..runs.rows import mode_row
from ..runs.run_store import load_failure_modes


@dataclass
class Exploration:
    """The outcome of one re-search.

    Attributes:
        rows: the table rows (:func:`fiftyone_prime.integration.runs.rows.mode_row`
            plus ``caption``), by drop
        num_modes: failure modes found, before the class filter
        seconds: the whole update's time (inputs, search, rows)
        search_seconds: the search's share
        inputs_source: ``"memory"``, ``"disk"`` or ``"read"``
        classes: every class of the inputs, sorted
    """

    rows: list
    num_modes: int
    seconds: float
    search_seconds: float
    inputs_source: str
    classes: list


def explore(
    dataset,
    run_key: str,
    params: SearchParams,
    classes: Optional[Sequence[str]] = None,
) -> Exploration:
    """Searches a run's view again with ``params``; stores and saves nothing.

    Args:
        dataset: the dataset of the run
        run_key: the failure-mode run whose view and fields to search
        params: the search parameters
        classes (None): show only these classes' modes (the search, and so
            the significance family, stays the whole view's, as in a run)

    Returns:
        an :class:`Exploration`
    """
    from ..runs.classes import SavedFailureMode
    from ..runs.run_results import saved_mode

    start = time.perf_counter()
    results = load_failure_modes(dataset, run_key)
    config = results.config
    samples = results.samples
    inputs, how = load_search_inputs(
        samples, config.label_field, config.pred_field, config.tags_fields
    )
    multiple = len(inputs.sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]
    t0 = time.perf_counter()
    outcome = run_search(inputs.tags, inputs.correct, inputs.groups, tag_names=names, params=params)
    search_seconds = time.perf_counter() - t0
    modes = [saved_mode(SavedFailureMode, m, inputs.tag_keys) for m in outcome.failure_modes]
    wanted = set(classes) if classes else None
    shown = [m for m in modes if wanted is None or str(m.group) in wanted]
    shown.sort(key=lambda m: -m.drop)
    # A mode the run itself found keeps its saved view (and the panel its button).
    saved = {(str(m.group), tuple(m.tags)): m.view_name for m in results.failure_modes}
    shown = [
        dataclasses.replace(m, view_name=saved.get((str(m.group), tuple(m.tags)))) for m in shown
    ]
    rows = [{**mode_row(m), "caption": ""} for m in shown]
    return Exploration(
        rows=rows,
        num_modes=len(modes),
        seconds=time.perf_counter() - start,
        search_seconds=search_seconds,
        inputs_source=how.source,
        classes=inputs.class_names(),
    )


def keep_exploration(dataset, run_key: str, params: SearchParams, new_key: str, **kwargs):
    """Stores the search of :func:`explore` as the run ``new_key``, with its
    saved views (the inputs come from the cache). Returns its results."""
    from .search import search_failure_modes

    results = load_failure_modes(dataset, run_key)
    config = results.config
    return search_failure_modes(
        results.samples,
        params,
        label_field=config.label_field,
        pred_field=config.pred_field,
        tags_field=config.tags_fields,
        run_key=new_key,
        **kwargs,
    )
