"""What keeps a run consistent when several processes use it (issue 22):

- :func:`writes_run`: a decorator that makes a function that writes a run (a
  search, an overwrite, metrics, a delete) hold the run's lease
  (:mod:`.leases`) while it runs, and turns Ctrl-C into one line saying what
  was saved and how to clean it up;
- :func:`load_fresh`: loads a run's results, reloading them when another
  process changed the run since they were cached (FiftyOne caches results on
  the dataset object, and ``dataset.reload()`` does not clear that cache),
  and re-lists the run's views that a concurrent ``save_view`` dropped;
- :func:`reconcile_run_views`: the dataset's saved-view list made to agree
  with the view documents a run owns (:func:`.view_list.reconcile`).
"""

from __future__ import annotations

import functools
import inspect
import logging

from .. import fiftyone_private as fop
from . import leases, view_list

logger = logging.getLogger(__name__)


class RunInterrupted(KeyboardInterrupt):
    """A Ctrl-C while a run was being written; its message says what was
    saved and how to clean it up."""


def writes_run(action: str):
    """Decorates ``func(samples, ..., run_key=...)`` so that it holds the lease
    of ``(samples' dataset, run_key)`` while it runs.

    Args:
        action: what the function does to the run (``"search"``,
            ``"delete"``...), shown to a writer that has to wait
    """

    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return func(*args, **kwargs)  # let the function say what is wrong
            bound.apply_defaults()
            samples = bound.arguments.get("samples", bound.arguments.get("dataset"))
            run_key = bound.arguments.get("run_key")
            root = getattr(samples, "_root_dataset", None)
            if root is None:
                raise TypeError(
                    f"`{'samples' if 'samples' in bound.arguments else 'dataset'}` must be a "
                    f"FiftyOne dataset or view; got a {type(samples).__name__}"
                    + (
                        " (make one with fo.Dataset().add_samples(...))"
                        if isinstance(samples, (list, tuple))
                        else ""
                    )
                )
            if not isinstance(run_key, str) or not run_key:
                return func(*args, **kwargs)
            with leases.run_lease(root, run_key, action) as lease:
                if lease.depth == 1:  # another process may have changed the run meanwhile
                    fop.reload_runs(root)
                    fop.forget_results(root, run_key)
                try:
                    return func(*args, **kwargs)
                except KeyboardInterrupt as interrupt:
                    if isinstance(interrupt, RunInterrupted):
                        raise
                    raise RunInterrupted(interrupted_message(root, run_key, action)) from None

        return wrapper

    return decorate


def interrupted_message(dataset, run_key: str, action: str) -> str:
    """One line: what an interrupted writer left behind, and what to do."""
    try:
        fop.reload_runs(dataset)
        stored = run_key in dataset.list_runs()
    except Exception:  # pragma: no cover - the database went away too
        stored = None
    if stored is None:
        saved = "it is unknown what was saved"
    elif not stored:
        saved = "nothing was saved"
    else:
        owned = _owned_ids(dataset, run_key)
        listed = set(view_list.listed_ids(fop.dataset_id(dataset)))
        num_listed = sum(1 for i in view_list.oids(owned) if i in listed)
        saved = f"run '{run_key}' is stored with {num_listed} of its {len(owned)} saved views"
    cleanup = (
        f"; delete it with {_delete_call(dataset, run_key)} or run again with overwrite=True"
        if stored
        else ""
    )
    return f"Interrupted during the {action} of run '{run_key}': {saved}{cleanup}"


def _delete_call(dataset, run_key: str) -> str:
    """How a user deletes the stored run, by its kind."""
    from .run_kinds import kind_of

    try:
        kind = kind_of(dataset.get_run_info(run_key).config)
    except Exception:  # pragma: no cover - an unreadable run document
        kind = None
    call = kind.delete_call if kind is not None else "dataset.delete_run('{key}')"
    return call.format(key=run_key)


def _owned_ids(dataset, run_key: str) -> list:
    try:
        results = dataset.load_run_results(run_key, cache=False, load_view=False)
    except Exception:
        return []
    return list(getattr(results, "view_ids", []) or [])


def run_stamp(dataset, run_key: str):
    """What identifies the stored version of a run: its run document's id,
    timestamp and results file, read from the database (not from the
    dataset's in-memory document)."""
    return fop.stored_run(dataset, run_key)


def load_fresh(dataset, run_key: str, load):
    """``load()`` the results of a run, first dropping cached results (and
    the in-memory run references) when another process replaced or updated
    the run since they were loaded; then re-lists the run's views that a
    concurrent ``save_view`` dropped from the dataset's list."""
    root = dataset._root_dataset
    stamp = run_stamp(root, run_key)
    cached = fop.cached_results(root, run_key)
    if cached is not None and getattr(cached, "_prime_stamp", None) != stamp:
        logger.info("Run '%s' changed in another process; reloading its results", run_key)
        fop.forget_results(root, run_key)
        fop.reload_runs(root)
        view_list.refresh(root)  # its views changed too
    elif stamp is not None and not fop.has_run_in_memory(root, run_key):
        fop.reload_runs(root)
    results = load()
    if results is not None:
        results._prime_stamp = stamp
        reconcile_run_views(root, run_key, results.view_ids)
    return results


def reconcile_run_views(dataset, run_key: str, view_ids) -> dict:
    """:func:`.view_list.reconcile` for a run's views, unless another process
    is writing the run right now (it reconciles when it finishes)."""
    lease = leases.try_lease(dataset, run_key, "reconcile")
    if lease is None:
        return {}
    try:
        return view_list.reconcile(dataset, view_ids)
    finally:
        leases.release(lease)
