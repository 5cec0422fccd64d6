"""Bookkeeping of every run this package stores, written once: keys,
starting, storing, listing, loading (validated, fresh), deleting, and exactly
the saved views a run owns.

Each function takes the run's kind
(:class:`~fiftyone_prime.integration.runs.run_kinds.RunKind`), which says what
differs: its classes, how its modes become views and are described, how its
runs are read. The kind of a run is decided where it is started
(:func:`start_run`) or loaded (:func:`load_run`); loaded results carry it
(``results.kind``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Optional

from .. import fiftyone_private as fop
from . import leases, view_list
from . import views as fpv
from .classes import FAILURE_MODES, FailureModeResults
from .run_guard import load_fresh, writes_run
from .run_kinds import RunKind, kind_of

logger = logging.getLogger(__name__)


# ------------------------------------------------------------ any kind of run


def check_run(dataset, run_key: str, *kinds: RunKind) -> RunKind:
    """Raises unless ``run_key`` is a run of one of ``kinds`` on the dataset.

    Returns:
        the run's own kind (the most specific: an evaluation-unit run checked
        as a failure-mode run returns the evaluation-unit kind)
    """
    root = dataset._root_dataset
    label = " or ".join(k.label for k in kinds)
    if not isinstance(run_key, str) or run_key not in root.list_runs():
        available = sorted(set().union(*(list_runs(root, k) for k in kinds)))
        raise ValueError(
            f"Dataset '{root.name}' has no run with key {run_key!r}. "
            f"{label[0].upper() + label[1:]}s: {available or 'none'}"
        )
    config = root.get_run_info(run_key).config
    kind = kind_of(config)
    if kind is None or not any(k.includes(kind) for k in kinds):
        raise ValueError(
            f"The run '{run_key}' on dataset '{root.name}' is not a {label} "
            f"(it is a {type(config).__name__}); it is left untouched"
        )
    return kind


def list_runs(dataset, kind: RunKind) -> list[str]:
    """The keys of the dataset's runs of ``kind`` (and of the kinds that
    refine it), sorted."""
    root = dataset._root_dataset
    keys = root.list_runs(type=kind.run_cls)
    if kind.parent is None:  # every run of its run class
        return keys
    return [k for k in keys if kind.includes(kind_of(root.get_run_info(k).config))]


def load_run(dataset, run_key: str, *kinds: RunKind):
    """Loads the results of a run of one of ``kinds``, fresh: reloaded when
    another process replaced or updated the run since they were cached, with
    the run's views that a concurrent ``save_view`` dropped listed again
    (:func:`fiftyone_prime.integration.runs.run_guard.load_fresh`).

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key
        *kinds: the kinds the run may be of

    Returns:
        the run's results

    Raises:
        ValueError: if there is no such run, or it is of another kind
    """
    root = dataset._root_dataset
    if run_key not in root.list_runs():
        fop.reload_runs(root)  # another process may have stored it since
    check_run(root, run_key, *kinds)
    return load_fresh(root, run_key, lambda: root.load_run_results(run_key))


@writes_run("delete")
def delete_run(dataset, run_key: str, kind: RunKind) -> None:
    """Deletes a run of ``kind`` and exactly the saved views it created.

    Saved views that the run did not create, including any the user saved
    from one of its views under a new name, are left alone.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key
        kind: the kind the run must be of
    """
    root = dataset._root_dataset
    fop.reload_runs(root)  # another process may have replaced the run
    fop.forget_results(root, run_key)
    check_run(root, run_key, kind)
    root.get_run_info(run_key).config.build().cleanup(root, run_key)
    # Cleanup ran above so that its errors surface instead of being logged.
    kind.run_cls.delete_run(root, run_key, cleanup=False)
    view_list.reconcile(root, ())  # references a concurrent save_view wrote back


def validate_new_run_key(dataset, run_key, overwrite: bool, kind: RunKind = None) -> None:
    """Raises unless a new run of ``kind`` may be stored under ``run_key``.

    The checks are FiftyOne's own (:meth:`fiftyone.core.runs.BaseRun.validate_run`:
    a valid key, an existing run replaced only with ``overwrite``, and only
    by a run of the same kind), with this package's one-line reasons.

    Args:
        dataset: the dataset (or a view of it) that will hold the run
        run_key: the key
        overwrite: whether an existing run of the same kind with that key
            may be replaced (runs of other kinds never are)
        kind (None): the kind of the new run; failure-mode runs by default

    Raises:
        ValueError: with a one-line reason
    """
    kind = (kind or FAILURE_MODES).family
    root = dataset._root_dataset
    if not isinstance(run_key, str) or not run_key.isidentifier():
        raise ValueError(
            f"`run_key` must be a valid Python identifier (letters, digits, underscores); "
            f"got {run_key!r}"
        )
    try:
        _validator(kind).validate_run(root, run_key, overwrite=overwrite)
    except ValueError:
        if not overwrite:
            raise ValueError(
                f"Dataset '{root.name}' already has a run with key '{run_key}'. Pass "
                "overwrite=True to replace it and its saved views, or choose another run_key"
            ) from None
        check_run(root, run_key, kind)  # states the other run's kind
        raise


def _validator(kind: RunKind):
    """A run of ``kind`` for FiftyOne's run validation, which reads only the
    type of its config: the config is not initialized (no parameters are
    built or checked)."""
    return kind.run_cls(kind.config_cls.__new__(kind.config_cls))


def replaced_run(dataset, run_key, overwrite: bool, kind: RunKind = None):
    """Validates ``run_key`` as :func:`validate_new_run_key` does and loads
    the results of the run it will replace, once: they say which saved views
    that run owns (their names may be reused, their documents are deleted).

    Returns:
        the results of the run being replaced, or ``None`` when there is
        none (or it stored no results)
    """
    validate_new_run_key(dataset, run_key, overwrite, kind)
    root = dataset._root_dataset
    if not overwrite or run_key not in root.list_runs():
        return None
    return root.load_run_results(run_key, cache=False, load_view=False)


@dataclass
class NewRun:
    """A run being started: where it goes, of what kind, and what it replaces.

    Made by :func:`start_run` (which checked all of it before anything is
    read or written); :meth:`finish` stores the run and saves its views.

    Attributes:
        samples: the view the run searches (or measures)
        key: the run key
        kind: the run's :class:`~fiftyone_prime.integration.runs.run_kinds.RunKind`
        overwrite: whether an existing run with the key is replaced
        replaced: the results of that run (they say which views it owns),
            or ``None``
        save_views: whether to save a view per mode
        max_views: the most views to save
        progress: a FiftyOne ``progress`` argument
    """

    samples: Any
    key: str
    kind: RunKind
    overwrite: bool
    replaced: Any
    save_views: bool
    max_views: Optional[int]
    progress: Any

    def finish(self, config, records, inputs, significance=None):
        """Names the views of the ``max_views`` modes with the largest drops
        (:func:`name_views`), builds the results (the kind's
        ``results_cls.from_inputs``), stores the run (with the ids of the
        views it will create), then saves the views.

        Args:
            config: the run's config
            records: the saved modes (of the kind's saved-mode class)
            inputs: what the run read (a
                :class:`fiftyone_prime.integration.reading.fields.SearchInputs` or the
                kind's own), with the ``sources`` of its tags
            significance (None): the search's significance record, as a dict

        Returns:
            the run's results
        """
        if self.save_views:
            dataset = self.samples._root_dataset
            records = name_views(dataset, self.key, records, self.max_views, replaced=self.replaced)
        results = self.kind.results_cls.from_inputs(
            self.samples, config, self.key, records, inputs, significance
        )
        return self.store(results, inputs.sources)

    def store(self, results, sources=None):
        """Stores results (with the ids of the views they will create), then
        saves the views of their modes; see :func:`store_results`."""
        return store_results(
            self.samples,
            results,
            overwrite=self.overwrite,
            replaced=self.replaced,
            save_views=self.save_views,
            sources=sources,
            progress=self.progress,
        )


def start_run(
    samples,
    run_key,
    kind: RunKind,
    *,
    overwrite: bool = False,
    save_views: bool = False,
    max_views: Optional[int] = None,
    progress=None,
) -> NewRun:
    """Starts a run of ``kind``: checks ``max_views`` and the key (FiftyOne's
    :meth:`validate_run`, see :func:`validate_new_run_key`) and loads the
    results of the run it replaces, before anything is read or written.

    Args:
        samples: the view the run will search
        run_key: the key
        kind: the run's kind
        overwrite (False): whether an existing run of the same kind may be
            replaced
        save_views (False): whether the run saves a view per mode
        max_views (None): the most views it saves (checked for kinds that
            save views)
        progress (None): a FiftyOne ``progress`` argument

    Returns:
        a :class:`NewRun`

    Raises:
        ValueError: with a one-line reason
    """
    if kind.views is not None:  # a kind that saves views
        validate_max_views(max_views)
    replaced = replaced_run(samples, run_key, overwrite, kind)
    return NewRun(samples, run_key, kind, overwrite, replaced, save_views, max_views, progress)


def store_results(
    samples, results, *, overwrite, replaced=None, save_views=False, sources=None, progress=None
):
    """Stores a run's results (with the ids of the views it will create),
    then saves the views of its modes, as its kind builds and describes them.

    Args:
        samples: the view the run used
        results: the run's results (their ``kind``, ``key`` and ``config``
            say what to store)
        overwrite: whether an existing run with the key is replaced
        replaced (None): the results of that run, from :func:`replaced_run`
        save_views (False): whether to save the views of the modes that have
            a view id (from :func:`name_views`)
        sources (None): the run's tag sources, as its search resolved them
            (resolved again when not given)
        progress (None): a FiftyOne ``progress`` argument

    Returns:
        the results
    """
    run = _store_run(samples, results.key, results.config, results, overwrite, replaced)
    if save_views:
        removed = _save_views(samples, results, sources, progress)
        if removed:
            _forget_views(results, removed)
            run.save_run_results(samples, results.key, results, overwrite=True)
    return results


# ------------------------------------------------------------ failure-mode runs


def load_failure_modes(dataset, run_key: str) -> FailureModeResults:
    """Loads the results of a failure-mode run.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key

    Returns:
        a :class:`fiftyone_prime.FailureModeResults`
    """
    return load_run(dataset, run_key, FAILURE_MODES)


def list_failure_mode_runs(dataset) -> list[str]:
    """Returns the keys of the failure-mode runs on a dataset, sorted."""
    return list_runs(dataset, FAILURE_MODES)


def delete_failure_modes(dataset, run_key: str) -> None:
    """Deletes a failure-mode run and exactly the saved views it created.

    Saved views that the run did not create, including any the user saved
    from a failure-mode view under a new name, are left alone.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key
    """
    delete_run(dataset, run_key, FAILURE_MODES)


def check_is_prime_run(dataset, run_key: str) -> None:
    """Raises unless ``run_key`` is a failure-mode run of the dataset."""
    check_run(dataset, run_key, FAILURE_MODES)


def validate_max_views(max_views) -> None:
    """Raises unless ``max_views`` is a whole number from 0 to ``MAX_COUNT``."""
    from fiftyone_prime.core.defaults import MAX_COUNT

    if isinstance(max_views, bool) or not isinstance(max_views, int) or max_views < 0:
        raise ValueError(
            f"`max_views` must be a whole number >= 0 (the most saved views a run creates); "
            f"got {max_views!r}"
        )
    if max_views > MAX_COUNT:
        shown = repr(max_views)
        shown = shown if len(shown) <= 40 else f"{shown[:20]}... ({len(shown)} digits)"
        raise ValueError(f"`max_views` must be at most {MAX_COUNT:,}; got {shown}")


def _top_by_drop(records, limit: int) -> set[int]:
    """The indices of the ``limit`` records with the largest drops (ties keep
    the search's order; modes whose drop is NaN come last)."""

    def key(i):
        drop = records[i].drop
        return (drop != drop, -drop if drop == drop else 0.0, i)

    return set(sorted(range(len(records)), key=key)[:limit])


def name_views(dataset, run_key, records, max_views, *, replaced=None):
    """Assigns saved-view names and new document ids to the failure modes with
    the ``max_views`` largest drops; refuses names of views the run does not own.

    Raises before anything is written when a name (or its slug) is taken by a
    saved view that is not one of the views of ``replaced``, the results of
    the run being overwritten (from :func:`replaced_run`).
    """
    owned = replaced.view_ids if replaced is not None else []

    keep = _top_by_drop(records, max_views)
    if len(records) > len(keep):
        logger.warning(
            "Saving views for the %d failure modes with the largest drops (max_views=%d); "
            "the other %d stay in the results without a view",
            len(keep),
            max_views,
            len(records) - len(keep),
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


def _store_run(samples, run_key, config, results, overwrite, replaced):
    """Registers the run and saves its results, with the ids of the views it
    is about to create, before any view is written, so an interrupted run can
    always be deleted with its views (listed or orphaned).

    When a run is replaced, the views it owns (``replaced.view_ids``) are
    deleted first; FiftyOne's :meth:`register_run` then validates the key
    again and replaces the old run's document and results (its ``cleanup``
    is not run again: the views are gone, and their errors surfaced here).

    Returns:
        the run (the kind's run class)
    """
    leases.check_held()  # a writer paused past its lease stores nothing
    if replaced is not None:
        deleted = fpv.delete_views(samples._root_dataset, replaced.view_ids)
        logger.debug("Deleted %d saved views of run '%s'", deleted, run_key)
    run = config.build()
    run.register_run(samples, run_key, overwrite=overwrite, cleanup=False)
    run.save_run_results(samples, run_key, results)
    return run


def _save_views(samples, results, sources, progress) -> list[str]:
    """Saves the views of the modes that have a view id, as the run's kind
    builds and describes them; returns the names removed again because
    another writer took them meanwhile."""
    kind = results.kind
    view_of = kind.views(samples, results, sources)
    modes = [mode for mode in results._modes if mode.view_id]
    items = [
        (mode.view_id, mode.view_name, view_of(mode), kind.describe(results, mode))
        for mode in modes
    ]
    removed = fpv.save_views(samples._root_dataset, items, progress=progress)
    if kind.check_views is not None:
        gone = set(removed)
        saved = [(i[1], i[2], m.size) for i, m in zip(items, modes) if i[1] not in gone]
        kind.check_views(results, saved)
    return removed


def _forget_views(results, names) -> None:
    """Drops the views named ``names`` from the results' modes."""
    names = set(names)
    results._set_modes(
        [
            dataclasses.replace(m, view_name=None, view_id=None) if m.view_name in names else m
            for m in results._modes
        ]
    )
