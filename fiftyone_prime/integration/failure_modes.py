"""The failure-mode SDK: search a view, save views, and manage the runs."""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional, Sequence, Union

import numpy as np


from fiftyone_prime.core.measure import ABSENT, TagSetQuery, measure_tag_sets
from fiftyone_prime.core.search import run_search
from fiftyone_prime.core.significance import benjamini_hochberg
from fiftyone_prime.core.types import DEFAULT_PARAMS, SearchParams

from . import fields as fpf
from . import views as fpv
from .runs import (
    FailureModeResults,
    FailureModeRun,
    FailureModeRunConfig,
    SavedFailureMode,
)

logger = logging.getLogger(__name__)


def find_failure_modes(
    samples,
    *,
    label_field: str = "ground_truth",
    pred_field: str = "predictions",
    tags_field: Union[str, Sequence[str]] = "prime_tags",
    run_key: str = "prime",
    min_size: int = DEFAULT_PARAMS.min_size,
    min_drop: float = DEFAULT_PARAMS.min_drop,
    min_gain: float = DEFAULT_PARAMS.min_gain,
    max_tags: int = DEFAULT_PARAMS.max_tags,
    minimal: bool = DEFAULT_PARAMS.minimal,
    alpha: Optional[float] = DEFAULT_PARAMS.alpha,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    progress=None,
) -> FailureModeResults:
    """Finds PRIME failure modes of a classifier on a dataset or view.

    For each ground-truth class, finds the minimal combinations of tags whose
    presence drops the classifier's accuracy (see
    :func:`fiftyone_prime.core.find_failure_modes` for the exact definition),
    keeps those that are significant (each mode has an exact p-value, a
    family-wise adjusted p-value and an accuracy interval, see
    :mod:`fiftyone_prime.core.significance`), stores them as a run on the
    dataset, and saves one view per failure mode (the samples of that class
    carrying every tag of the set, correct and incorrect alike) so teammates
    can open them in the App.

    Examples::

        import fiftyone as fo
        import fiftyone_prime as fp

        dataset = fo.load_dataset("my-dataset")
        results = fp.find_failure_modes(
            dataset.match_tags("validation"),
            label_field="ground_truth",
            pred_field="resnet50",
            tags_field="prime_tags",
            run_key="prime_val",
        )
        print(results.summary())
        session = fo.launch_app(results.load_view(0))

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field ("ground_truth"): the ground-truth
            :class:`fiftyone.core.labels.Classification` field; its labels
            are the groups searched
        pred_field ("predictions"): the predicted
            :class:`fiftyone.core.labels.Classification` field; a sample is
            correct when its label matches the ground truth
        tags_field ("prime_tags"): the field (or a list of fields) whose labels
            are the tags: a ``Classifications`` field (what
            :func:`fiftyone_prime.compute_tags` writes), a ``Classification``
            or ``Detections`` field, or a list-of-strings field such as
            ``tags``. With several fields, tag names are ``field:label``
        run_key ("prime"): the key under which to store the run; a valid
            Python identifier
        min_size (30): the least number of samples in a failure mode
        min_drop (0.2): the least accuracy drop against the class's accuracy
        min_gain (0.1): the least accuracy gain from removing any nonempty
            subset of the tags (every tag is needed)
        max_tags (3): the largest number of tags in a failure mode
        minimal (True): whether to leave out sets containing a smaller
            failure mode
        alpha (0.05): the family-wise significance level: modes whose
            adjusted p-value exceeds it are left out after the exact search.
            ``None`` keeps every mode of the definition, with its p-values
        save_views (True): whether to save a view per failure mode
        max_views (:data:`fiftyone_prime.integration.views.DEFAULT_MAX_VIEWS`):
            the most saved views to create; when there are more failure
            modes, the ones with the largest drops get views and the others
            stay in the results without one (the summary says how many)
        overwrite (False): whether to replace an existing run with the same
            key, and the views it saved. Views the run did not create are
            never touched
        progress (None): whether to render a progress bar (True/False), use
            the default value ``fiftyone.config.show_progress_bars`` (None),
            or a progress callback function to invoke instead

    Returns:
        a :class:`fiftyone_prime.FailureModeResults`

    Raises:
        ValueError: if a field is missing, the view is empty, the run key
            exists and ``overwrite`` is False, or a view name is taken by a
            saved view of the user's
        TypeError: if a field has the wrong type
    """
    params = SearchParams(min_size=min_size, min_drop=min_drop, min_gain=min_gain,
                          max_tags=max_tags, minimal=minimal, alpha=alpha)
    _validate_max_views(max_views)
    dataset = samples._root_dataset
    _validate_run_key(dataset, run_key, overwrite)
    fpf.validate_classification_field(samples, label_field, "label_field")
    fpf.validate_classification_field(samples, pred_field, "pred_field")
    sources = fpf.tag_sources(samples, tags_field)

    logger.info("Reading labels, predictions and tags...")
    inputs = fpf.read_search_inputs(samples, label_field, pred_field, sources)
    multiple = len(sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]

    logger.info("Searching %d tags over %d samples...", len(names), inputs.num_used)
    outcome = run_search(inputs.tags, inputs.correct, inputs.labels, tag_names=names,
                         params=params)
    records = [_saved_mode(m, inputs.tag_keys) for m in outcome.failure_modes]
    if save_views:
        records = _name_views(dataset, run_key, records, overwrite, max_views)
    significance = outcome.significance
    logger.info(
        "Found %d failure modes (%d more met the definition but are not significant at "
        "alpha=%s)", len(records), significance.num_not_significant, params.alpha,
    )
    config = FailureModeRunConfig(
        label_field=label_field,
        pred_field=pred_field,
        tags_fields=[s.field for s in sources],
        search_params=params.to_dict(),
        procedure=significance.procedure,
        save_views=save_views,
        max_views=max_views,
    )
    return _finish_run(samples, run_key, config, records, inputs, len(names), sources,
                       overwrite=overwrite, save_views=save_views, progress=progress,
                       significance=significance.to_dict())


def load_failure_modes(dataset, run_key: str) -> FailureModeResults:
    """Loads the results of a failure-mode run.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key

    Returns:
        a :class:`fiftyone_prime.FailureModeResults`
    """
    _check_is_prime_run(dataset, run_key)
    return dataset._root_dataset.load_run_results(run_key)


def list_failure_mode_runs(dataset) -> list[str]:
    """Returns the keys of the failure-mode runs on a dataset, sorted."""
    return dataset._root_dataset.list_runs(type=FailureModeRun)


def delete_failure_modes(dataset, run_key: str) -> None:
    """Deletes a failure-mode run and exactly the saved views it created.

    Saved views that the run did not create, including any the user saved
    from a failure-mode view under a new name, are left alone.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key
    """
    root = dataset._root_dataset
    _check_is_prime_run(root, run_key)
    root.get_run_info(run_key).config.build().cleanup(root, run_key)
    # Cleanup ran above so that its errors surface instead of being logged.
    FailureModeRun.delete_run(root, run_key, cleanup=False)


def apply_failure_modes(
    results: FailureModeResults,
    samples,
    *,
    run_key: Optional[str] = None,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    progress=None,
) -> FailureModeResults:
    """Re-measures a run's failure modes on another dataset or view and saves them there.

    The target must have the run's label, prediction and tag fields (a
    teammate's copy of the dataset, a held-out split, new data). Each failure
    mode keeps its class and tags; its size, accuracy and interval, class
    accuracy, drop and p-value are measured on the target, and its adjusted
    p-value there is Benjamini-Hochberg over the run's modes (the only
    hypotheses tested on the target). Modes whose tags do not occur there
    get size 0 and NaN accuracy. To check which modes hold on held-out data,
    see :func:`fiftyone_prime.validate_failure_modes`.

    Args:
        results: a :class:`fiftyone_prime.FailureModeResults`
        samples: the target :class:`fiftyone.core.collections.SampleCollection`
        run_key (None): the key of the new run; defaults to the source run's
            key (on another dataset) or ``<key>_applied``
        save_views (True): whether to save a view per failure mode
        max_views (:data:`fiftyone_prime.integration.views.DEFAULT_MAX_VIEWS`):
            the most saved views to create, as in :func:`find_failure_modes`
        overwrite (False): whether to replace an existing run with that key
        progress (None): as in :func:`find_failure_modes`

    Returns:
        the new run's :class:`fiftyone_prime.FailureModeResults`
    """
    if not isinstance(results, FailureModeResults):
        raise TypeError(
            f"`results` must be FailureModeResults (see load_failure_modes()); got "
            f"{type(results).__name__}"
        )
    _validate_max_views(max_views)
    config = results.config
    dataset = samples._root_dataset
    if run_key is None:
        same_dataset = dataset._doc.id == results.samples._root_dataset._doc.id
        run_key = f"{results.key}_applied" if same_dataset else results.key
    _validate_run_key(dataset, run_key, overwrite)
    fpf.validate_classification_field(samples, config.label_field, "label_field")
    fpf.validate_classification_field(samples, config.pred_field, "pred_field")
    sources = fpf.tag_sources(samples, config.tags_fields)
    inputs = fpf.read_search_inputs(samples, config.label_field, config.pred_field, sources)

    records = remeasure(results.failure_modes, inputs, config.params)
    if save_views:
        records = _name_views(dataset, run_key, records, overwrite, max_views)
    new_config = FailureModeRunConfig(
        label_field=config.label_field,
        pred_field=config.pred_field,
        tags_fields=config.tags_fields,
        search_params=config.search_params,
        procedure="benjamini-hochberg",
        save_views=save_views,
        max_views=max_views,
        source_dataset=results.samples._root_dataset.name,
        source_run_key=results.key,
    )
    return _finish_run(samples, run_key, new_config, records, inputs, len(inputs.tag_keys),
                       sources, overwrite=overwrite, save_views=save_views, progress=progress)


# ------------------------------------------------------------------ helpers


def _finish_run(samples, run_key, config, records, inputs, num_tags, sources, *, overwrite,
                save_views, progress, significance=None) -> FailureModeResults:
    """Builds the results, stores the run (with the ids of the views it will
    create), then saves the views."""
    results = FailureModeResults(
        samples,
        config,
        run_key,
        failure_modes=records,
        groups=_group_stats(inputs.labels, inputs.correct),
        num_samples=inputs.num_samples,
        num_used=inputs.num_used,
        num_missing_label=inputs.num_missing_label,
        num_missing_prediction=inputs.num_missing_prediction,
        num_tags=num_tags,
        significance=significance,
    )
    run = _store_run(samples, run_key, config, results, overwrite)
    if save_views:
        removed = _save_views(samples, results, sources, progress)
        if removed:
            _forget_views(results, removed)
            run.save_run_results(samples, run_key, results, overwrite=True)
    return results


def _validate_run_key(dataset, run_key: str, overwrite: bool) -> None:
    if not isinstance(run_key, str) or not run_key.isidentifier():
        raise ValueError(
            f"`run_key` must be a valid Python identifier (letters, digits, underscores); "
            f"got {run_key!r}"
        )
    if run_key not in dataset.list_runs():
        return
    if not overwrite:
        raise ValueError(
            f"Dataset '{dataset.name}' already has a run with key '{run_key}'. Pass "
            "overwrite=True to replace it and its saved views, or choose another run_key"
        )
    _check_is_prime_run(dataset, run_key)


def _check_is_prime_run(dataset, run_key: str) -> None:
    root = dataset._root_dataset
    if run_key not in root.list_runs():
        available = list_failure_mode_runs(root)
        raise ValueError(
            f"Dataset '{root.name}' has no run with key '{run_key}'. "
            f"Failure-mode runs: {available or 'none'}"
        )
    info = root.get_run_info(run_key)
    if not isinstance(info.config, FailureModeRunConfig):
        raise ValueError(
            f"The run '{run_key}' on dataset '{root.name}' is not a failure-mode run "
            f"(it is a {type(info.config).__name__}); it is left untouched"
        )


def _saved_mode(mode, tag_keys) -> SavedFailureMode:
    keys = [tag_keys[i] for i in mode.tag_indices]
    d = mode.to_dict()
    d["tag_fields"] = [k[0] for k in keys]
    d["tag_labels"] = [k[1] for k in keys]
    return SavedFailureMode.from_dict(d)


def _group_stats(labels: np.ndarray, correct: np.ndarray) -> dict:
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    sizes = np.bincount(codes, minlength=len(names))
    right = np.bincount(codes, weights=correct, minlength=len(names))
    return {
        str(n): {"size": int(s), "accuracy": float(r / s)}
        for n, s, r in zip(names, sizes, right)
    }


def _validate_max_views(max_views) -> None:
    if isinstance(max_views, bool) or not isinstance(max_views, int) or max_views < 0:
        raise ValueError(
            f"`max_views` must be a whole number >= 0 (the most saved views a run creates); "
            f"got {max_views!r}"
        )


def _top_by_drop(records, limit: int) -> set[int]:
    """The indices of the ``limit`` records with the largest drops (ties keep
    the search's order; modes whose drop is NaN come last)."""
    def key(i):
        drop = records[i].drop
        return (drop != drop, -drop if drop == drop else 0.0, i)

    return set(sorted(range(len(records)), key=key)[:limit])


def _name_views(dataset, run_key, records, overwrite, max_views):
    """Assigns saved-view names and new document ids to the failure modes with
    the ``max_views`` largest drops; refuses names of views the run does not own.

    Raises before anything is written when a name (or its slug) is taken by a
    saved view that is not one of the views of the run being overwritten.
    """
    owned = []
    if overwrite and run_key in dataset.list_runs():
        old = dataset.load_run_results(run_key, cache=False)
        owned = old.view_ids if old else []

    keep = _top_by_drop(records, max_views)
    if len(records) > len(keep):
        logger.warning(
            "Saving views for the %d failure modes with the largest drops (max_views=%d); "
            "the other %d stay in the results without a view",
            len(keep), max_views, len(records) - len(keep),
        )
    ids = iter(fpv.new_view_ids(len(keep)))
    named, used = [], set()
    for i, m in enumerate(records):
        if i not in keep:
            named.append(dataclasses.replace(m, view_name=None, view_id=None))
            continue
        base = fpv.view_name(run_key, m.group, m.tags)
        name, k = base, 2
        while fpv.view_slug(name) in used:  # two modes whose names differ only in punctuation
            name, k = f"{base} ({k})", k + 1
        used.add(fpv.view_slug(name))
        named.append(dataclasses.replace(m, view_name=name, view_id=next(ids)))

    conflicts = fpv.clashing_views(dataset, [m.view_name for m in named if m.view_name], owned)
    if conflicts:
        raise ValueError(
            f"Dataset '{dataset.name}' already has saved views that this run would need "
            f"(e.g. {conflicts[:3]}); they were not created by run '{run_key}' and are never "
            "overwritten. Choose another run_key, or rename or delete those views"
        )
    return named


def _store_run(samples, run_key, config, results, overwrite):
    """Registers the run and saves its results, with the ids of the views it
    is about to create, before any view is written, so an interrupted run can
    always be deleted with its views (listed or orphaned).

    Returns:
        the :class:`FailureModeRun`
    """
    dataset = samples._root_dataset
    if overwrite and run_key in dataset.list_runs():
        delete_failure_modes(dataset, run_key)
    run = config.build()
    run.register_run(samples, run_key, overwrite=False)
    run.save_run_results(samples, run_key, results)
    return run


def _save_views(samples, results, sources, progress) -> list[str]:
    """Saves the views of the modes that have a view id; returns the names
    removed again because another writer took them meanwhile."""
    config = results.config
    items = []
    for mode in results.failure_modes:
        if not mode.view_id:
            continue
        keys = list(zip(mode.tag_fields, mode.tag_labels))
        view = fpv.failure_mode_view(
            samples, config.label_field, config.pred_field, mode.group, sources, keys
        )
        items.append((mode.view_id, mode.view_name, view,
                      fpv.view_description(mode, results.key)))
    return fpv.save_views(samples._root_dataset, items, progress=progress)


def _forget_views(results, names) -> None:
    """Drops the views named ``names`` from the results' modes."""
    names = set(names)
    results._set_failure_modes([
        dataclasses.replace(m, view_name=None, view_id=None) if m.view_name in names else m
        for m in results.failure_modes
    ])


def measure_modes(modes, inputs: fpf.SearchInputs, params: SearchParams) -> list:
    """Measures failure modes on other data (see
    :func:`fiftyone_prime.core.measure.measure_tag_sets`).

    Args:
        modes: the :class:`SavedFailureMode` to measure
        inputs: the arrays read from the other data
        params: the definition's thresholds

    Returns:
        a :class:`fiftyone_prime.core.measure.Measurement` per mode
    """
    column = inputs.column_of
    queries = [
        TagSetQuery(m.group, tuple(column.get(k, ABSENT)
                                   for k in zip(m.tag_fields, m.tag_labels)))
        for m in modes
    ]
    return measure_tag_sets(inputs.tags_by_column, inputs.correct, inputs.labels, queries,
                            params)


def remeasure(modes, inputs: fpf.SearchInputs, params: SearchParams) -> list:
    """The modes with their statistics replaced by those measured on other
    data; adjusted p-values are Benjamini-Hochberg over these modes."""
    measured = measure_modes(modes, inputs, params)
    p = [np.nan if m.p_value is None else m.p_value for m in measured]
    adjusted = benjamini_hochberg(np.asarray(p, dtype=float))
    return [
        dataclasses.replace(
            mode,
            size=m.size,
            num_correct=m.num_correct,
            accuracy=m.accuracy,
            group_size=m.group_size,
            group_accuracy=m.group_accuracy,
            drop=m.drop,
            p_value=m.p_value,
            adjusted_p_value=None if m.p_value is None else float(q),
            accuracy_ci=m.accuracy_ci,
            view_name=None,
            view_id=None,
            metrics=None,
        )
        for mode, m, q in zip(modes, measured, adjusted)
    ]
